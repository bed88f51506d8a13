"""File writing that never leaves a truncated file, and ownership for files made for a user.

Every file ds01 writes (configs, Dockerfiles, READMEs, definitions, keys' config) goes
through ``write_atomic``: a temporary file in the same directory, fsync, then a rename.
When ds01 runs as root on behalf of a user (sudo), the files it makes for that user are
chowned to them, so their home directory stays theirs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ds01.errors import OperationFailed

if TYPE_CHECKING:
    from ds01.identity import Identity


def _chown_for(path: Path, uid: int | None, gid: int | None) -> None:
    if uid is not None and os.geteuid() == 0 and uid != 0:
        os.chown(path, uid, gid if gid is not None else -1)


def write_atomic(
    path: Path,
    data: str | bytes,
    *,
    mode: int = 0o644,
    uid: int | None = None,
    gid: int | None = None,
) -> None:
    """Write ``data`` to ``path`` all at once (readers see the old or the new file, never half)."""
    import tempfile  # here, not at the top: the ledger imports this module on every gpu command

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
                fh.flush()
                os.fsync(fh.fileno())
            # Explicit mode: a restrictive umask must not make shared files unreadable.
            os.chmod(tmp, mode)
            _chown_for(Path(tmp), uid, gid)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OperationFailed(f"Cannot write {path}: {exc.strerror or exc}.") from exc


def make_dirs(path: Path, *, mode: int = 0o755, uid: int | None = None, gid: int | None = None) -> list[Path]:
    """Create ``path`` and missing parents; return the directories that were created."""
    created: list[Path] = []
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    try:
        for directory in reversed(missing):
            directory.mkdir(mode=mode)
            os.chmod(directory, mode)
            _chown_for(directory, uid, gid)
            created.append(directory)
    except OSError as exc:
        raise OperationFailed(f"Cannot create {path}: {exc.strerror or exc}.") from exc
    return created


def acting_for_other(uid: int) -> bool:
    """True when ds01 runs as root on behalf of another user (sudo): what it makes is theirs."""
    return os.geteuid() == 0 and uid != 0


def hand_over(owner: Identity, paths: Iterable[Path], *, recursive: bool = False) -> None:
    """Give files made by root on the owner's behalf to the owner (never following symlinks)."""
    if not acting_for_other(owner.uid):
        return
    try:
        for path in paths:
            if not os.path.lexists(path):
                continue
            os.lchown(path, owner.uid, owner.gid)
            if recursive and path.is_dir() and not path.is_symlink():
                for dirpath, dirnames, filenames in os.walk(path):
                    for name in [*dirnames, *filenames]:
                        os.lchown(os.path.join(dirpath, name), owner.uid, owner.gid)
    except OSError as exc:
        raise OperationFailed(f"Cannot give {exc.filename} to {owner.name}: {exc.strerror}.") from exc


def _nearest_existing(path: Path) -> Path:
    current = Path(os.path.abspath(path))
    while not os.path.lexists(current) and current != current.parent:
        current = current.parent
    return Path(os.path.realpath(current))


def caller_may_write(owner: Identity, path: Path) -> bool:
    """Could ``owner`` create ``path`` (or write in it) with their own rights?

    Judged on the nearest existing directory (symlinks resolved) by its mode bits against the
    owner's uid, gid and supplementary groups.
    """
    import stat

    target = _nearest_existing(path)
    try:
        st = target.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        target = target.parent
        st = target.stat()
    if st.st_uid == owner.uid:
        return bool(st.st_mode & stat.S_IWUSR)
    try:
        groups = set(os.getgrouplist(owner.name, owner.gid))
    except (KeyError, OSError):
        groups = {owner.gid}
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


def require_writable_for(owner: Identity, path: Path, what: str = "that folder") -> None:
    """Under sudo, ds01 writes for the caller only where they could write themselves."""
    from ds01.errors import PolicyRefused

    if acting_for_other(owner.uid) and not caller_may_write(owner, path):
        raise PolicyRefused(
            f"You cannot write to {_nearest_existing(path)}, so ds01 will not create {what} there for you; "
            "choose a folder of your own (for example under your home)."
        )


SHARED_FILE_MODE = 0o664


def share_with_group(fd_or_path: int | Path, mode: int = SHARED_FILE_MODE) -> None:
    """Give a file every ds01 user appends to (ledger, logs) an explicit group-writable mode.

    In group mode each user runs ds01 as themselves, so the ledger and logs must stay writable
    by the group whatever the umask of the process that created them. Only the file's owner may
    change its mode; for anyone else this is a no-op.
    """
    try:
        st = os.fstat(fd_or_path) if isinstance(fd_or_path, int) else os.stat(fd_or_path)
        if st.st_uid != os.geteuid() or (st.st_mode & 0o777) == mode:
            return
        if isinstance(fd_or_path, int):
            os.fchmod(fd_or_path, mode)
        else:
            os.chmod(fd_or_path, mode)
    except OSError:
        pass


@contextmanager
def locked_dir(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on directory ``path`` (created if missing) for the block.

    The lock is ``flock`` on the directory itself: no lock file to leave behind, and the kernel
    drops it when the process ends, however it ends (a SIGKILL included).
    """
    import fcntl

    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise OperationFailed(f"Cannot lock {path}: {exc.strerror or exc}.") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
