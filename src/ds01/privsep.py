"""Acting *as* the caller: the one way ds01 touches a user's files or runs a user's tools.

When ds01 runs as root for a caller (sudo, or secure mode's entry point), root keeps only
Docker, the ledger, the logs and ds01's own state. Everything that touches the caller's
files or runs programs that read the caller's configuration (git reads ``~/.gitconfig``,
whose ``core.hooksPath``/``core.fsmonitor`` run programs; ssh-keygen follows the caller's
paths) runs with the caller's uid, gid and supplementary groups, their HOME and a clean
environment. Root never follows a path the caller controls: the kernel checks every path
component with the caller's rights, so a symlink to ``/etc/shadow`` or a root-only folder
fails exactly as it would for the caller at their own shell.

Three forms of the same model:

- ``run_as(owner, fn, *args)`` runs a Python function in a forked child that has dropped to
  the caller (``setgroups`` + ``setresgid`` + ``setresuid``: no way back to root) and returns
  its result or re-raises its ds01 error in the parent.
- ``tool_options(owner)`` gives the keyword arguments that make ``subprocess.run`` start a
  tool as the caller (``user=``, ``group=``, ``extra_groups=``, ``env=``).
- ``open_as(owner, path, ...)`` opens a file in such a child and hands the open descriptor
  back over a Unix socket (``SCM_RIGHTS``); root then reads or writes that descriptor only,
  so large streams (``mlc export``/``import``) need no copy through the child.

When ds01 runs as the caller already (no root, or root for root), each form acts in-process.
Results come back through a pickle that accepts only ds01's own types, paths and plain data:
a child that ran as the caller is never trusted to name arbitrary classes for root to build.
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ds01.errors import Ds01Error, OperationFailed
from ds01.records import dataclass

if TYPE_CHECKING:
    from ds01.identity import Identity

T = TypeVar("T")

# The PATH a caller's tools run with: system folders only, never root's or the caller's own.
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Environment a caller's tools keep from ds01's own (presentation only; nothing that runs code).
_KEPT_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TERM", "NO_COLOR", "COLUMNS", "LINES", "TZ")


@dataclass(frozen=True)
class Credentials:
    """Who a dropped child becomes: the caller's uid, gid, groups and home."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: Path


def needed(owner: Identity | None) -> bool:
    """True when ds01 runs as root on behalf of another user, so it must drop to act for them."""
    return owner is not None and os.geteuid() == 0 and owner.uid != 0


def credentials(owner: Identity) -> Credentials:
    """The caller's credentials, groups from the group database (just the primary gid without one)."""
    try:
        groups = tuple(sorted(set(os.getgrouplist(owner.name, owner.gid))))
    except (KeyError, OSError):
        groups = (owner.gid,)
    return Credentials(name=owner.name, uid=owner.uid, gid=owner.gid, groups=groups, home=owner.home)


def caller_environ(owner: Identity, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for the caller's tools: their HOME and names, a system PATH."""
    env = {key: os.environ[key] for key in _KEPT_ENV if key in os.environ}
    env.update(HOME=str(owner.home), USER=owner.name, LOGNAME=owner.name, PATH=SAFE_PATH)
    env.update(extra or {})
    return env


def tool_options(owner: Identity | None, extra_env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``subprocess`` keyword arguments that run a tool as ``owner`` when ds01 acts for them."""
    if owner is None or not needed(owner):
        if not extra_env:
            return {}
        return {"env": {**os.environ, **extra_env}}
    creds = credentials(owner)
    return {
        "user": creds.uid,
        "group": creds.gid,
        "extra_groups": list(creds.groups),
        "env": caller_environ(owner, extra_env),
        "umask": 0o022,
    }


def drop_to(creds: Credentials) -> None:
    """Become ``creds`` for good (this process can never regain root afterwards)."""
    os.setgroups(list(creds.groups))
    os.setresgid(creds.gid, creds.gid, creds.gid)
    os.setresuid(creds.uid, creds.uid, creds.uid)
    if os.geteuid() != creds.uid or os.getuid() != creds.uid:  # pragma: no cover - kernel guarantee
        raise OperationFailed("Could not drop to the caller's rights; refusing to go on as root.")


# --- results across the boundary -----------------------------------------------------------

_SAFE_BUILTINS = frozenset(
    {
        "set",
        "frozenset",
        "list",
        "dict",
        "tuple",
        "str",
        "bytes",
        "bytearray",
        "int",
        "float",
        "bool",
        "complex",
        "slice",
        "range",
        "NoneType",
    }
)
_SAFE_GLOBALS = frozenset(
    {
        ("copyreg", "_reconstructor"),
        ("copyreg", "__newobj__"),
        ("collections", "OrderedDict"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
    }
)


class _Unpickler(pickle.Unpickler):
    """Builds only ds01's own types, paths and plain data: nothing a child could turn into code."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module == "pathlib" and name in {"Path", "PosixPath", "PurePath", "PurePosixPath"}:
            return super().find_class(module, name)
        if module.startswith("ds01.") and not name.startswith("_"):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} may not cross from a caller's process")


def _loads(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


def _portable_error(exc: BaseException) -> Ds01Error:
    if isinstance(exc, Ds01Error):
        return exc
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return OperationFailed(f"Cannot access{where}: {exc.strerror or exc}.")
    return OperationFailed(f"Acting as the caller failed: {type(exc).__name__}: {exc}.")


def _child(
    creds: Credentials,
    env: dict[str, str],
    fn: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    write_fd: int,
    cwd: str | None,
) -> None:
    """The forked child's whole life: drop, run ``fn``, send back (ok, value) or (err, error).

    It works in the folder the caller ran ds01 from (so a relative path means what it means at
    their shell), entered with their rights; their home, or ``/``, when they cannot enter it."""
    status = 0
    try:
        try:
            drop_to(creds)
            os.environ.clear()
            os.environ.update(env)
            os.umask(0o022)
            for folder in (cwd, creds.home, "/"):
                try:
                    if folder:
                        os.chdir(folder)
                        break
                except OSError:
                    continue
            payload: tuple[str, Any] = ("ok", fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            payload = ("err", _portable_error(exc))
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001
            data = pickle.dumps(("err", OperationFailed(f"A result could not be sent back: {exc}.")))
        view = memoryview(data)
        while view:
            written = os.write(write_fd, view)
            view = view[written:]
    except BaseException:  # noqa: BLE001 - never fall back into the parent's code
        status = 70
    finally:
        os._exit(status)


def run_as(owner: Identity | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` with ``owner``'s rights and return its result.

    In-process when no drop is needed. Otherwise in a forked child that drops to the caller
    for good; a ds01 error raised there is raised here, any other failure becomes
    ``OperationFailed``. The child inherits the terminal, so prompts still work.
    """
    if owner is None or not needed(owner):
        return fn(*args, **kwargs)
    import sys

    creds = credentials(owner)
    env = caller_environ(owner)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        cwd: str | None = os.getcwd()
    except OSError:
        cwd = None
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read_fd)
        _child(creds, env, fn, args, kwargs, write_fd, cwd)
    os.close(write_fd)
    chunks = []
    try:
        while True:
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    except BaseException:
        _kill(pid)
        raise
    finally:
        os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    if not data:
        raise OperationFailed(
            f"The step run as {owner.name} ended without a result (status {os.waitstatus_to_exitcode(status)})."
        )
    try:
        kind, value = _loads(data)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise OperationFailed(f"The step run as {owner.name} sent back something unexpected: {exc}.") from exc
    if kind == "err":
        raise value
    return value


def _kill(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


# --- descriptors opened as the caller ------------------------------------------------------


def _open_and_send(path: str, flags: int, mode: int, sock_fd: int) -> bool:
    import socket

    fd = os.open(path, flags, mode)
    try:
        with socket.socket(fileno=os.dup(sock_fd)) as sock:
            socket.send_fds(sock, [b"fd"], [fd])
    finally:
        os.close(fd)
    return True


def open_fd(owner: Identity | None, path: Path, flags: int, mode: int = 0o644) -> int:
    """``os.open(path, flags, mode)`` performed with ``owner``'s rights; returns the descriptor.

    Every path component is resolved by the kernel as the caller, so root ends up holding only
    a descriptor the caller could have opened themselves.
    """
    flags |= os.O_CLOEXEC
    if owner is None or not needed(owner):
        return os.open(path, flags, mode)
    import socket

    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        child.set_inheritable(False)
        run_as(owner, _open_and_send, str(path), flags, mode, child.fileno())
        _, fds, _, _ = socket.recv_fds(parent, 16, 1)
    finally:
        parent.close()
        child.close()
    if len(fds) != 1:
        raise OperationFailed(f"Could not open {path} as {owner.name}.")
    return fds[0]
