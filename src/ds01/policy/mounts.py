"""Which host folders a caller may bind-mount into a container, checked at create AND at every start.

Docker resolves a bind mount's source path when the container *starts*, as root, following
symlinks. A folder that was the caller's own at create can since have been replaced by a
symlink to another user's home (or ``/etc``); checking only at create would mount that at the
next start. So:

- ``resolve_for_create(path, uid, ...)``: the caller's path is resolved once (``realpath``)
  and the resulting real path is checked as below; that real path is what the container
  records and what Docker is given. A real path with a ``,`` is refused (exit 2): it becomes
  an ``aime.mlc.*_MOUNT`` label, and AIME's ``mlc list`` cannot read a comma in a label.
- ``check_bind_source(path, uid, ...)``: before every start, run and recreate, the recorded
  path is checked without following anything: every component, from ``/`` down, is examined
  with ``lstat`` (never ``stat``), none may be a symlink, and the last must be a directory
  owned by the caller with the rights the mount needs. Root follows no link the caller
  controls while checking.

What remains: a window of milliseconds between this check and Docker's own resolution at
start, in which a caller who owns a parent folder could swap the folder for a link again.
Docker offers no "do not follow" for bind sources; closing it fully needs the workspace to sit
in a folder the caller cannot rename entries of. The check makes the swap a race the caller
must win each time, instead of a standing way in.
"""

from __future__ import annotations

import os
import stat as _stat

from ds01.errors import PolicyRefused, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def _need(writable: bool) -> int:
    return _stat.S_IRUSR | _stat.S_IXUSR | (_stat.S_IWUSR if writable else 0)


def check_bind_source(path: Path | str, uid: int, what: str, *, writable: bool = False) -> Path:
    """``path`` as it is now: absolute, no component a symlink, a directory ``uid`` owns; else refuse.

    Raises PolicyRefused (exit 3) for a symlink or a folder that is not the caller's, and
    UsageError (exit 2) for a path that is missing, not a directory or lacks the owner's rights.
    """
    from pathlib import Path

    check_bind(os.fspath(path), uid, what, writable=writable)
    return Path(path)


def _components(path: str) -> tuple[str, list[str]]:
    """``path`` as ``pathlib`` shows it, and its components after the root (``pathlib``'s
    parsing: empty and ``.`` components dropped, ``..`` kept; ``//`` a root of its own)."""
    root = "//" if path.startswith("//") and not path.startswith("///") else "/"
    parts = [c for c in path.split("/") if c and c != "."]
    return root + "/".join(parts), parts


def check_bind(path: str, uid: int, what: str, *, writable: bool = False) -> None:
    """``check_bind_source`` on the path's text, without ``pathlib`` (a start checks every mount)."""
    if not path.startswith("/"):
        raise UsageError(f"The {what} path {_components(path)[0].lstrip('/') or '.'} is not absolute.")
    p, parts = _components(path)
    current = "/"
    st = os.lstat(current)
    for part in parts:
        if part == "..":
            raise PolicyRefused(f"The {what} path {p} is not a plain path (it contains {part!r}).")
        current = current.rstrip("/") + "/" + part
        try:
            st = os.lstat(current)
        except OSError as exc:
            raise UsageError(f"The {what} directory {p} cannot be used: {exc.strerror or exc}.") from exc
        if _stat.S_ISLNK(st.st_mode):
            raise PolicyRefused(
                f"The {what} directory {p} cannot be mounted: {current} is a symbolic link now; ds01 mounts "
                "only real folders you own, so put the folder itself back (or create the container anew)."
            )
    if not _stat.S_ISDIR(st.st_mode):
        raise UsageError(f"The {what} path {p} is not a directory.")
    if st.st_uid != uid:
        raise PolicyRefused(
            f"The {what} directory {p} is not yours (it belongs to uid {st.st_uid}); mount only directories you own."
        )
    need = _need(writable)
    if st.st_mode & need != need:
        raise UsageError(
            f"The {what} directory {p} is not {'writable' if writable else 'readable'} by you "
            f"(mode {_stat.filemode(st.st_mode)}); fix it with chmod u+rwx {p}."
        )


def resolve_for_create(path: Path, uid: int, what: str, *, writable: bool = False) -> Path:
    """The real path of the caller's ``path`` (symlinks resolved once), checked by ``check_bind_source``."""
    from pathlib import Path

    try:
        real = Path(os.path.realpath(Path(path).expanduser(), strict=True))
    except OSError as exc:
        raise UsageError(f"The {what} directory {path} cannot be used: {exc.strerror or exc}.") from exc
    if "," in str(real):
        # The real path is the container's aime.mlc.*_MOUNT label, which AIME's `mlc list` splits on
        # commas (and shows as it is, so an encoded path would mislead): refused, not rewritten.
        raise UsageError(
            f"The {what} directory {real} has a ',' in its path, which AIME's `mlc list` cannot read in "
            "a container label; use a folder whose path has no ','."
        )
    return check_bind_source(real, uid, what, writable=writable)
