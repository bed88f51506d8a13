"""File writing that never leaves a truncated file, and directory locks.

Every file ds01 writes (configs, Dockerfiles, READMEs, definitions, keys' config) goes
through ``write_atomic``: a temporary file in the same directory, fsync, then a rename.
Nothing here changes ownership: when ds01 runs as root on behalf of a user, what it writes
for that user is written *by* that user, in a process dropped to their rights
(``ds01.privsep.run_as``), so it is theirs from the start and root never follows their paths.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ds01.errors import OperationFailed


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new, empty file beside ``path`` (``.NAME.<random>.tmp``, mode 0600) and its descriptor.

    What ``tempfile.mkstemp`` does (an unguessable name, ``O_EXCL``, never through a link),
    without importing ``tempfile`` (and its ``random`` and ``shutil``) into every command that
    writes a state file."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        name = os.path.join(path.parent, f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` all at once (readers see the old or the new file, never half)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temp_beside(path)
        try:
            with os.fdopen(fd, "wb") as fh:
                # Explicit mode: a restrictive umask must not make shared files unreadable. Set on
                # the descriptor, never by name: in a folder someone else may rename entries of
                # (its owner, even when sticky), the name can meanwhile be a link to any file.
                os.fchmod(fh.fileno(), mode)
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OperationFailed(f"Cannot write {path}: {exc.strerror or exc}.") from exc


def make_dirs(path: Path, *, mode: int = 0o755) -> list[Path]:
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
            created.append(directory)
    except OSError as exc:
        raise OperationFailed(f"Cannot create {path}: {exc.strerror or exc}.") from exc
    return created


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


def _open_made_dir(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


@contextmanager
def locked_dir(path: Path, *, opener: Callable[[Path], int] = _open_made_dir) -> Iterator[None]:
    """Hold an exclusive lock on directory ``path`` for the block.

    The lock is ``flock`` on the directory itself: no lock file to leave behind, and the kernel
    drops it when the process ends, however it ends (a SIGKILL included). ``opener`` gives the
    folder's descriptor: by default the folder is made if missing and opened by this process;
    a folder of a caller's is opened with their rights (``privsep.open_fd``).
    """
    import fcntl

    try:
        fd = opener(path)
    except OSError as exc:
        raise OperationFailed(f"Cannot lock {path}: {exc.strerror or exc}.") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
