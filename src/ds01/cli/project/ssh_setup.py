"""``ds01 ssh-setup``: an SSH key pair on this server and a host entry for it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option
from ds01.cli.project._common import as_caller, report

if TYPE_CHECKING:
    from ds01.units.project.ssh import SshResult


def _is_key_line(value: str) -> bool:
    words = value.split(None, 1)
    return bool(words) and words[0].startswith(("ssh-", "ecdsa-", "sk-"))


def _read_key(value: str) -> str:
    """``--authorize`` takes the key line itself or the path of a .pub file."""
    from ds01.errors import UsageError

    if _is_key_line(value):
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise UsageError(f"{value!r} is neither a public key line nor a readable .pub file.")
    return path.read_text(encoding="utf-8", errors="replace")


def _setup(
    user: str, home: Path, host_alias: str | None, hostname: str | None, ssh_user: str | None, authorize: str | None
) -> SshResult:
    """ssh-setup with the --authorize file read: the whole step, run as the caller."""
    from ds01.units.project.ssh import setup_ssh

    return setup_ssh(
        user=user,
        home=home,
        host_alias=host_alias,
        hostname=hostname,
        ssh_user=ssh_user,
        authorize=_read_key(authorize) if authorize else None,
    )


@click.command("ssh-setup")
@click.option("--host-alias", help="Short name for this server in ~/.ssh/config (default: its host name).")
@click.option("--hostname", help="This server's address as your laptop reaches it (default: its FQDN).")
@click.option("--user", "ssh_user", help="Your login on this server (default: you).")
@click.option(
    "--authorize",
    metavar="KEY|FILE",
    help="A laptop's public key (the line, or a .pub file) to allow logging in to this server.",
)
@json_option
@guided_option
@pass_app
def command(
    app: App, host_alias: str | None, hostname: str | None, ssh_user: str | None, authorize: str | None, as_json: bool
) -> None:
    """Create an ed25519 key pair (only if you have none) and a ~/.ssh/config entry.

    Prints the public key: paste it into GitHub/GitLab (Settings → SSH keys) to clone
    and push from this server. An existing key is never replaced.
    """
    from ds01.units.project.files import home_of, server_hostname

    term = app.terminal
    ident = app.identity
    term.guide(
        "SSH keys replace passwords: a private key (stays where it was made, never share it) and a "
        "public key (safe to give out). This command runs on the GPU server."
    )
    if authorize and not _is_key_line(authorize) and not authorize.startswith("~"):
        authorize = str(Path(authorize).absolute())  # the step runs in the caller's home
    # Everything in ~/.ssh (and the --authorize file) is read, written and run as the caller.
    result = as_caller(
        ident, _setup, ident.name, home_of(ident), host_alias, hostname or server_hostname(), ssh_user, authorize
    )
    if as_json:
        term.json(result.to_json())
        return
    report(term, result)
    if result.key_created:
        term.success(f"New key pair: {result.key_path} (private) and {result.key_path}.pub (public)")
    else:
        term.success(f"Using your existing key {result.key_path} (not replaced)")
    if result.authorized:
        term.success("Your laptop's key may now log in to this server.")
    term.info("Public key of this server account (paste it into GitHub → Settings → SSH and GPG keys):")
    term.out(result.public_key)
    term.guide("With that key on GitHub you can `git clone git@github.com:...` and push from this server.")
    term.guide(
        "To log in from your laptop, the laptop needs its own key: on the laptop run "
        "`ssh-keygen -t ed25519` (if ~/.ssh/id_ed25519 does not exist), then "
        f"`ssh-copy-id {result.user}@{result.hostname}`, or run `ds01 ssh-setup --authorize '<laptop key>'` here "
        "with the contents of the laptop's ~/.ssh/id_ed25519.pub."
    )
    term.info("On your laptop, add this to ~/.ssh/config, then `ssh " + result.host_alias + "` logs you in:")
    term.out(result.config_entry.rstrip())
    term.next_step(f"ds01 vscode-setup PROJECT --host-alias {result.host_alias}", "connect VS Code")
