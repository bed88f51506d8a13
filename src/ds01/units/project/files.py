"""Shared plumbing of the project setup units: names, default places, results, safe file writes.

Not a unit itself: every project unit imports these helpers, and none imports another unit.
A unit never overwrites a file it did not just create unless the caller passed ``force`` or
the injected ``ask`` callback said yes; files are written atomically (temp file + rename),
so an interrupted run never leaves a truncated file behind.

Under sudo the units run in a child process dropped to the caller (``ds01.privsep``), which may
not be able to read the interpreter's own library (a Python installed under root's home): what
the units need from the standard library is imported here, at the top, before the drop.
"""

from __future__ import annotations

import os
import pwd
import re
import socket
import subprocess
import tempfile  # noqa: F401 - the ssh unit's; loaded before a unit runs as the caller (see below)
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ds01.base.names import validate_new_name
from ds01.errors import OperationFailed, UsageError
from ds01.fsutil import write_atomic
from ds01.records import dataclass, field

if TYPE_CHECKING:
    from ds01.identity import Identity

# Asked before replacing a file that differs from what the unit would write. Returns True
# to replace. None means "nobody to ask": the file is kept and the result says so.
Ask = Callable[[str], bool]


def validate_project_name(name: str) -> str:
    """Return ``name`` if it can name a project, its image and its container (the one rule in
    ``ds01.base.names``); else UsageError."""
    return validate_new_name(name, "project")


_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def server_hostname() -> str:
    """This server's name as laptops reach it (fully qualified where DNS knows it)."""
    return socket.getfqdn() or socket.gethostname()


def default_host_alias(hostname: str) -> str:
    """The short name of the server (``gpu01`` for ``gpu01.lab.example.org``)."""
    short = hostname.split(".", 1)[0]
    return short if _ALIAS.match(short or "") else "ds01"


def valid_host_alias(alias: str) -> bool:
    return bool(_ALIAS.match(alias))


def ssh_host_entry(alias: str, hostname: str, user: str) -> str:
    """The laptop's ``~/.ssh/config`` block for this server (ssh and VS Code Remote-SSH)."""
    return (
        "# ds01: this GPU server. Copy this block into ~/.ssh/config on your laptop.\n"
        f"Host {alias}\n"
        f"    HostName {hostname}\n"
        f"    User {user}\n"
        "    IdentityFile ~/.ssh/id_ed25519\n"
        "    ServerAliveInterval 60\n"
    )


def workspace_dir(home: Path) -> Path:
    """Where projects live by default: ``<home>/workspace`` (AIME's workspace mount)."""
    return home / "workspace"


def default_project_dir(project: str, home: Path) -> Path:
    return workspace_dir(home) / project


def caller_home(home: Path | None = None) -> Path:
    """The home directory a unit works in when the caller passes none: ``$HOME``, else passwd."""
    if home is not None:
        return Path(home)
    env_home = os.environ.get("HOME")
    if env_home:
        return Path(env_home)
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def home_of(identity: Identity, environ: Mapping[str, str] | None = None) -> Path:
    """The caller's home directory, as the commands pass it to the units.

    Under sudo it is the identity's passwd home (``$HOME`` may still be root's). Otherwise
    ``$HOME`` when set, as git, ssh-keygen and the shell's ``~`` use it (and tests point
    it at a temp dir), falling back to the passwd home.
    """
    env = os.environ if environ is None else environ
    if identity.via_sudo:
        return identity.home
    env_home = env.get("HOME")
    return Path(env_home) if env_home else identity.home


@dataclass
class SetupResult:
    """What a unit did. Paths are absolute; lists keep the order things happened in.

    ``created``: written now and absent before; ``updated``: an existing file that ds01
    added to without changing what was there (an ssh config entry, LFS patterns);
    ``replaced``: existed, differed, replaced with permission (``force`` or ``ask``);
    ``unchanged``: already there as wanted;
    ``kept``: existed with other content and was left alone; ``notes``: sentences for the user.
    """

    unit: str
    path: Path
    created: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    replaced: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.replaced)

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "path": str(self.path),
            "changed": self.changed,
            "created": [str(p) for p in self.created],
            "updated": [str(p) for p in self.updated],
            "replaced": [str(p) for p in self.replaced],
            "unchanged": [str(p) for p in self.unchanged],
            "kept": [str(p) for p in self.kept],
            "notes": list(self.notes),
        }


def place_file(
    result: SetupResult,
    path: Path,
    content: str,
    *,
    force: bool = False,
    ask: Ask | None = None,
    mode: int = 0o644,
) -> str:
    """Make ``path`` hold ``content`` without clobbering a user's file.

    Returns the action taken ("created", "unchanged", "replaced", "kept") and records it in
    ``result``.
    """
    if path.is_symlink() or (path.exists() and not path.is_file()):
        result.kept.append(path)
        result.notes.append(f"{path} is not a regular file; left it alone.")
        return "kept"
    if path.exists():
        try:
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current == content:
            result.unchanged.append(path)
            return "unchanged"
        if not force and not (ask is not None and ask(f"{path} already exists with other content. Replace it?")):
            result.kept.append(path)
            result.notes.append(f"Kept your {path} (it differs from the ds01 version; --force replaces it).")
            return "kept"
        write_atomic(path, content, mode=mode)
        result.replaced.append(path)
        return "replaced"
    write_atomic(path, content, mode=mode)
    result.created.append(path)
    return "created"


def ensure_dir(result: SetupResult, path: Path, *, mode: int | None = None) -> None:
    """Create a directory (recorded as created) or record it as already there."""
    if path.is_dir():
        result.unchanged.append(path)
        return
    if path.exists() or path.is_symlink():
        raise UsageError(f"{path} exists and is not a directory; move it away or choose another place.")
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise OperationFailed(f"Cannot create {path}: {exc.strerror}.") from exc
    if mode is not None:
        os.chmod(path, mode)
    result.created.append(path)


def run_tool(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    what: str,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run an external tool (git, ssh-keygen) from an argv list: never a shell string."""
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
    except FileNotFoundError as exc:
        raise OperationFailed(f"`{argv[0]}` is not installed on this server; ask an admin to install it.") from exc
    except subprocess.TimeoutExpired as exc:
        raise OperationFailed(f"{what} did not finish within 2 minutes; try again.") from exc
    if check and proc.returncode != 0:
        reason = (proc.stderr or proc.stdout).strip().splitlines()
        detail = reason[-1] if reason else f"exit status {proc.returncode}"
        raise OperationFailed(f"{what} failed: {detail}")
    return proc
