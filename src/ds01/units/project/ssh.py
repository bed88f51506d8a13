"""ssh-setup: an SSH key pair and a host entry for this server, run ON the server.

Two directions matter and they need different keys:

* server -> GitHub/GitLab (clone and push from the server): the key pair made here, in the
  user's ``~/.ssh`` on the server; its public key is pasted into GitHub's SSH keys page.
* laptop -> server (ssh, VS Code Remote-SSH): the laptop's own key; its public key goes
  into the server's ``~/.ssh/authorized_keys`` (``authorize`` below, or ``ssh-copy-id``).

An existing key is never replaced. ``~/.ssh`` is made 0700 and the files ds01 writes 0600
(the public key 0644: it is public, and ssh tools expect it readable). The ``~/.ssh/config``
entry describes this server (alias, host name, user); it is added once and is the block to
copy into the laptop's ``~/.ssh/config``.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import tempfile
from pathlib import Path

from ds01.errors import OperationFailed, UsageError
from ds01.fsutil import write_atomic
from ds01.records import dataclass
from ds01.units.project.files import (
    SetupResult,
    caller_home,
    default_host_alias,
    run_tool,
    server_hostname,
    ssh_host_entry,
    valid_host_alias,
)

# Default key files looked for, in order of preference; any of them counts as "a key exists".
KEY_NAMES: tuple[str, ...] = ("id_ed25519", "id_ecdsa", "id_rsa")
KEY_TYPES: frozenset[str] = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
_HOSTNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]*$")
_SSH_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._@-]*$")


@dataclass
class SshResult(SetupResult):
    key_path: Path | None = None
    public_key: str = ""
    key_created: bool = False
    host_alias: str = ""
    hostname: str = ""
    user: str = ""
    config_entry: str = ""  # the Host block (also what goes into the laptop's ~/.ssh/config)
    authorized: bool | None = None  # None: nothing to authorize; True: added now; False: already there

    def to_json(self) -> dict:
        data = super().to_json()
        data.update(
            key_path=str(self.key_path) if self.key_path else None,
            public_key=self.public_key,
            key_created=self.key_created,
            host_alias=self.host_alias,
            hostname=self.hostname,
            user=self.user,
            config_entry=self.config_entry,
            authorized=self.authorized,
        )
        return data


def _config_has_host(text: str, alias: str) -> bool:
    for line in text.splitlines():
        parts = line.strip().split()
        if len(parts) >= 2 and parts[0].lower() == "host" and alias in parts[1:]:
            return True
    return False


def _secure_dir(result: SetupResult, ssh_dir: Path) -> None:
    if ssh_dir.is_symlink() or (ssh_dir.exists() and not ssh_dir.is_dir()):
        raise UsageError(f"{ssh_dir} exists and is not a directory; move it away and run ssh-setup again.")
    if not ssh_dir.exists():
        ssh_dir.mkdir(mode=0o700, parents=True)
        os.chmod(ssh_dir, 0o700)
        result.created.append(ssh_dir)
        return
    mode = stat.S_IMODE(ssh_dir.stat().st_mode)
    if mode != 0o700:
        # ssh refuses keys in a directory others can write; make it private.
        os.chmod(ssh_dir, 0o700)
        result.notes.append(f"Made {ssh_dir} private (mode 0700; it was {mode:04o}).")
    else:
        result.unchanged.append(ssh_dir)


def _chmod_if(path: Path, mode: int, result: SetupResult) -> None:
    if path.exists() and stat.S_IMODE(path.stat().st_mode) != mode:
        os.chmod(path, mode)
        result.notes.append(f"Set {path} to mode {mode:04o}.")


def parse_public_key(text: str) -> tuple[str, str, str]:
    """(type, base64 body, comment) of one OpenSSH public key line; UsageError otherwise."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not ln.startswith("#")]
    if len(lines) != 1:
        raise UsageError("Give exactly one public key line (the contents of a .pub file).")
    parts = lines[0].split(None, 2)
    if len(parts) < 2 or parts[0] not in KEY_TYPES or not re.fullmatch(r"[A-Za-z0-9+/]+={0,3}", parts[1]):
        raise UsageError(
            "That is not an SSH public key; paste the one line of your laptop's ~/.ssh/id_ed25519.pub "
            "(it starts with ssh-ed25519)."
        )
    return parts[0], parts[1], parts[2] if len(parts) > 2 else ""


def _check_key_with_ssh_keygen(line: str) -> None:
    # The syntax check above cannot tell a truncated paste from a key; ssh-keygen can.
    with tempfile.NamedTemporaryFile("w", suffix=".pub", delete=False) as fh:
        fh.write(line + "\n")
        tmp = fh.name
    try:
        proc = run_tool(["ssh-keygen", "-l", "-f", tmp], what="ssh-keygen -l", check=False)
    finally:
        os.unlink(tmp)
    if proc.returncode != 0:
        raise UsageError("That public key is damaged (ssh-keygen cannot read it); copy the whole line again.")


def authorize_key(result: SshResult, ssh_dir: Path, key_text: str) -> None:
    """Add one public key to ``authorized_keys`` unless the same key is already there."""
    ktype, body, comment = parse_public_key(key_text)
    line = " ".join(p for p in (ktype, body, comment) if p)
    _check_key_with_ssh_keygen(line)
    path = ssh_dir / "authorized_keys"
    current = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    for existing in current.splitlines():
        fields = existing.split()
        # Options may precede the key type: look for the body anywhere on the line.
        if body in fields:
            result.authorized = False
            result.unchanged.append(path)
            _chmod_if(path, 0o600, result)
            return
    prefix = current if not current or current.endswith("\n") else current + "\n"
    write_atomic(path, prefix + line + "\n", mode=0o600)
    (result.updated if current else result.created).append(path)
    result.authorized = True


def setup_ssh(
    *,
    user: str,
    home: Path | None = None,
    host_alias: str | None = None,
    hostname: str | None = None,
    ssh_user: str | None = None,
    authorize: str | None = None,
) -> SshResult:
    """Make sure the user has a key pair and a config entry for this server.

    ``user`` is the caller's login (key comment ``user@host`` and default ``User``);
    ``hostname`` defaults to ``socket.getfqdn()``; ``host_alias`` to its first label.
    ``authorize`` is a laptop's public key line to add to ``authorized_keys``.
    """
    fqdn = hostname or server_hostname()
    if not _HOSTNAME.match(fqdn):
        raise UsageError(f"{fqdn!r} is not a host name; pass --hostname with the server's name.")
    alias = host_alias or default_host_alias(fqdn)
    if not valid_host_alias(alias):
        raise UsageError(f"{alias!r} cannot be an SSH host alias; use letters, digits, `.`, `_` and `-`.")
    login = ssh_user or user
    if not _SSH_USER.match(login):
        raise UsageError(f"{login!r} is not a login name; pass --user with your login on this server.")
    # Checked before anything is written: a bad paste changes nothing.
    if authorize is not None:
        parse_public_key(authorize)

    ssh_dir = caller_home(home) / ".ssh"
    result = SshResult(unit="ssh-setup", path=ssh_dir, host_alias=alias, hostname=fqdn, user=login)
    _secure_dir(result, ssh_dir)

    existing = next((ssh_dir / n for n in KEY_NAMES if (ssh_dir / n).exists()), None)
    if existing is not None:
        key = existing
        result.unchanged.append(key)
        pub = key.with_name(key.name + ".pub")
        if not pub.exists():
            # The private key is there but its .pub was lost: derive it (never a new key).
            proc = run_tool(["ssh-keygen", "-y", "-f", str(key)], what="ssh-keygen -y", check=False)
            if proc.returncode != 0:
                raise OperationFailed(
                    f"{pub} is missing and cannot be derived from {key} (it may have a passphrase); "
                    f"run `ssh-keygen -y -f {key} > {pub}` yourself."
                )
            write_atomic(pub, proc.stdout.strip() + "\n", mode=0o644)
            result.created.append(pub)
        _chmod_if(key, 0o600, result)
    else:
        key = ssh_dir / "id_ed25519"
        pub = key.with_name("id_ed25519.pub")
        if pub.exists():
            raise UsageError(f"{pub} exists without its private key; move it away, then run ssh-setup again.")
        comment = f"{user}@{socket.gethostname() or fqdn}"
        run_tool(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key), "-C", comment],
            what="ssh-keygen",
        )
        os.chmod(key, 0o600)
        os.chmod(pub, 0o644)
        result.created.extend([key, pub])
        result.key_created = True
    result.key_path = key
    result.public_key = pub.read_text(encoding="utf-8").strip()

    # The laptop's entry names the laptop's own key; this server's key is for GitHub.
    entry = ssh_host_entry(alias, fqdn, login)
    result.config_entry = entry
    config = ssh_dir / "config"
    text = config.read_text(encoding="utf-8", errors="replace") if config.exists() else ""
    if _config_has_host(text, alias):
        result.unchanged.append(config)
        if entry not in text:
            result.notes.append(f"{config} already has a `Host {alias}` entry; left it as it is.")
    else:
        sep = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
        write_atomic(config, text + sep + entry, mode=0o600)
        (result.updated if text else result.created).append(config)
    _chmod_if(config, 0o600, result)

    if authorize is not None:
        authorize_key(result, ssh_dir, authorize)
    return result
