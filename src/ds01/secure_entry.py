"""Secure mode's way in: a non-root ``ds01`` runs itself again as root through sudo (SPEC §9).

On a server whose config says ``security.mode: secure`` users are not in the docker group,
so ds01 has to run as root for them. A non-root ``ds01`` (or any of its symlinks, such as
``container-create``) therefore runs, and waits for, ::

    sudo -n ENTRY PROG ARGS...

where ``ENTRY`` is one root-owned script (``ds01 admin sudoers`` writes it and the sudoers rule
that lets every user run it, and nothing else, as root) and ``PROG`` the name ds01 was
started as, so ``container-create x`` stays ``container-create x``. sudo resets the
environment and tells ds01 who the caller is (``SUDO_USER``/``SUDO_UID``/``SUDO_GID``); the
entry script runs the installed Python isolated (``python -I -m ds01.secure_entry``: no
``PYTHON*`` variable, no user site-packages) with ds01's paths fixed inside it.

It ends as that command ends (its exit code, or the signal that ended it). sudo runs once
per command: only when it fails with exit 1 -- sudo's refusal, or the command's own failure
-- is sudo asked (``sudo -n -l``) whether a rule lets this user run the entry point, so that a
missing rule is named in one sentence (exit 3).

Deciding costs almost nothing for everyone else: root never re-executes, and the mode is read
from the config file with a line scan, not a YAML parser (``yaml`` alone costs several
times a bare interpreter start). Only a config the scan cannot read falls back to YAML.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # every command passes through here: no typing, no collections at run time
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

DEFAULT_ENTRY = "/usr/local/libexec/ds01/ds01-secure"
ENTRY_ENV = "DS01_SECURE_ENTRY"
_UNSURE = object()


def entry_path(environ: Mapping[str, str] | None = None) -> str:
    """Where the root entry point is: ``DS01_SECURE_ENTRY`` or the default install path.

    The variable only tells a non-root ds01 which script to ask sudo for; sudo itself runs
    nothing but what the installed rule names.
    """
    env = os.environ if environ is None else environ
    return env.get(ENTRY_ENV) or DEFAULT_ENTRY


def _scalar(text: str) -> object:
    value = text.strip()
    if not value:
        return _UNSURE
    if value[0] in "\"'":
        quote = value[0]
        end = value.find(quote, 1)
        return value[1:end] if end > 0 else _UNSURE
    value = value.split(" #", 1)[0].strip()
    if value[0] in "&*!{[|>%@`":
        return _UNSURE
    return value


def scan_mode(text: str) -> object:
    """``security.mode`` from block-style YAML text: the value, "group" when absent, or _UNSURE."""
    in_security = False
    indent: int | None = None
    for raw in text.splitlines():
        body = raw.rstrip()
        stripped = body.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("\t"):
            return _UNSURE
        depth = len(body) - len(stripped)
        if depth == 0:
            if in_security:
                break
            key, sep, rest = stripped.partition(":")
            if sep and key.strip().strip("\"'") == "security":
                rest = rest.strip()
                if rest and not rest.startswith("#"):
                    return _UNSURE  # flow style, an alias, a null: leave it to the parser
                in_security = True
            continue
        if not in_security:
            continue
        if indent is None:
            indent = depth
        if depth != indent:
            continue
        key, sep, rest = stripped.partition(":")
        if sep and key.strip().strip("\"'") == "mode":
            return _scalar(rest)
    return "group"


def security_mode(config: str) -> str | None:
    """The ``security.mode`` of the config file at ``config``; None when it cannot be read."""
    try:
        with open(config, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        return None
    mode = scan_mode(text)
    if mode is not _UNSURE:
        return str(mode)
    try:
        from ds01 import yaml12

        data = yaml12.load(text)
    except Exception:  # noqa: BLE001 - an unreadable config is reported by the command itself
        return None
    section = data.get("security") if isinstance(data, dict) else None
    if not isinstance(section, dict):
        return "group"
    value = section.get("mode", "group")
    return value if isinstance(value, str) else None


def reexec_argv(entry: str, prog: str, args: Sequence[str]) -> list[str]:
    """The command line that asks sudo for the entry point, with ds01's own argv unchanged."""
    return ["sudo", "-n", "--", entry, prog, *args]


def _wanted(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether this non-root process must go through the entry point."""
    from ds01 import paths

    config = str(paths.config_path(environ))
    mode = security_mode(config)
    if mode == "secure":
        return True
    if mode is None and not os.access(config, os.R_OK) and os.path.exists(config):
        # A config users may not read: only the root entry point can run ds01 here.
        return os.path.exists(entry_path(environ))
    return False


def _help_only(prog: str, args: list[str]) -> bool:
    from ds01.cli.fasthelp import try_fast_path
    from ds01.cli.tree import translate_argv0

    return try_fast_path(translate_argv0(prog, list(args))) is not None


def _sudo_allows(entry: str) -> bool:
    """Ask sudo, without a password and without output, whether this user may run ``entry``."""
    try:
        pid = os.fork()
    except OSError:
        return True  # cannot ask: let the real call speak for itself
    if pid == 0:  # pragma: no cover - child
        try:
            fd = os.open(os.devnull, os.O_RDWR)
            for target in (0, 1, 2):
                os.dup2(fd, target)
            os.execvp("sudo", ["sudo", "-n", "-l", "--", entry])
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _run_sudo(argv: list[str]) -> int:
    """Run ``argv`` (sudo) on this terminal and wait for it: its exit code, or minus the signal
    that ended it. The terminal's interrupt and quit keys reach sudo and the command directly,
    so this process ignores them while it waits; a termination or hangup sent to it alone is
    passed on to sudo, which relays it to the command."""
    import signal

    quiet = (signal.SIGINT, signal.SIGQUIT)
    passed = (signal.SIGTERM, signal.SIGHUP)
    child: list[int] = []

    def pass_on(signum: int, _frame: object) -> None:
        for pid in child:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    before = {sig: signal.signal(sig, signal.SIG_IGN) for sig in quiet}
    before.update({sig: signal.signal(sig, pass_on) for sig in passed})
    try:
        child.append(os.posix_spawnp("sudo", argv, os.environ, setsigdef=quiet + passed))
        _, status = os.waitpid(child[0], 0)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    return os.waitstatus_to_exitcode(status)


def _exit_like(code: int) -> None:
    """End this process as the command ended: with its exit code, or by the same signal."""
    if code < 0:
        import signal

        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        code = 128 - code
    sys.exit(code)


def reexec_if_secure(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> None:
    """Run the command as ``sudo -n ENTRY PROG ARGS`` when a non-root user runs ds01 in secure
    mode, and end with its exit code.

    Returns when nothing is to be done (root, group mode, help and version). sudo is run once:
    only when it fails (exit 1: it refused, or the command itself failed) is it asked whether
    this user may run the entry point at all; when not, this exits with code 3 and one sentence.
    """
    if os.geteuid() == 0:
        return
    argv = list(sys.argv if argv is None else argv)
    env = os.environ if environ is None else environ
    if not _wanted(argv, env):
        return
    prog = os.path.basename(argv[0]) if argv else "ds01"
    args = argv[1:]
    if _help_only(prog, args):
        return
    entry = entry_path(env)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        code = _run_sudo(reexec_argv(entry, prog, args))
    except OSError as exc:
        sys.stderr.write(f"error: cannot start sudo ({exc.strerror}); ask an admin to install it.\n")
        sys.exit(3)
    if code == 1 and not _sudo_allows(entry):
        sys.stderr.write(
            "error: this server runs ds01 in secure mode and sudo does not let you run its entry point "
            f"{entry}; ask an admin to run `ds01 admin sudoers` (see docs/security.md).\n"
        )
        sys.stderr.flush()
        sys.exit(3)
    _exit_like(code)


# -- the root side ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -I -m ds01.secure_entry PROG ARGS...``: what the entry script runs as root."""
    args = list(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        sys.stderr.write("error: ds01's secure entry point runs only as root, through sudo.\n")
        return 3
    prog = os.path.basename(args[0]) if args else "ds01"
    from ds01.cli import run

    return run(args[1:], prog=prog)


if __name__ == "__main__":
    sys.exit(main())
