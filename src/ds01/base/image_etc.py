"""What the user setup needs from an image, kept by image id: ``/etc/passwd``, ``/etc/group`` and
whether ``/etc/sudoers.d`` exists.

An image id names its content, so what was read from one container of an image holds for every
later container of it. With these at hand the user setup of a new container is one write (the
passwd/group entries, the home and the sudo rule in one ``put_archive``) instead of reading
the image's files out of each new container first; each read makes the engine mount the
container's filesystem, which costs more than creating the container.

Kept in ``DS01_STATE_DIR/image-etc/<digest>.<uid>.json``, one file per image and writer. A file
counts only when the user it is named for owns it, and only root's or the reading process's
own user's are read: in group mode each user runs ds01 as themselves (the folder is then sticky
and world-writable, as ds01's image records are), and no user can put passwd lines into
another user's containers. In secure mode only root writes the folder: it is used only when it
is root's and nobody else may write it. A folder left shared by group mode (the switch keeps
it, and ``chown -R root:root`` makes every file in it root's, entries users planted included)
is taken back (mode 0755) and emptied before its first use. A file that is missing,
unreadable or not ds01's is no entry: the files are read from the container again.

An image's entries go when ds01 deletes the image (``forget``, from ``base.images`` and
``base.engine``), and the lifecycle pass drops those of images deleted otherwise (``prune``).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from ds01.records import dataclass

MAX_BYTES = 1 << 20  # /etc/passwd and /etc/group of real images are a few KiB


@dataclass(frozen=True)
class EtcFacts:
    passwd: str
    group: str
    sudoers_d: bool  # the image has /etc/sudoers.d (group mode writes a sudo rule there)


def _folder() -> Path:
    from ds01 import paths

    return paths.state_dir() / "image-etc"


def _digest(image_id: str) -> str | None:
    digest = image_id.split(":", 1)[-1]
    if len(digest) < 12 or any(c not in "0123456789abcdef" for c in digest):
        return None
    return digest


def _path(digest: str, uid: int) -> Path:
    return _folder() / f"{digest}.{uid}.json"


def _private(folder: Path) -> bool:
    """Secure mode: whether ``folder`` is (now) this process's user's alone. A folder of ours that
    others could write is taken back: made 0755, then emptied (anything in it may be planted).
    Missing is fine (``save`` makes it); a link or someone else's folder is not used."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if st.st_uid != os.geteuid():
            return False
        if st.st_mode & 0o1022:
            os.fchmod(fd, 0o755)  # first: nothing new can be put in while it is emptied
            for name in os.listdir(fd):
                try:
                    os.unlink(name, dir_fd=fd)
                except OSError:
                    pass  # a folder someone made in it: no entry is read from it
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def load(image_id: str, *, shared: bool) -> EtcFacts | None:
    """What is kept for ``image_id`` (by this process's user, else by root), or None.
    ``shared``: group mode (see the module)."""
    digest = _digest(image_id)
    if digest is None or (not shared and not _private(_folder())):
        return None
    for uid in dict.fromkeys((os.geteuid(), 0)):
        found = _read(_path(digest, uid), uid, image_id)
        if found is not None:
            return found
    return None


def _read(path: Path, uid: int, image_id: str) -> EtcFacts | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None  # missing, a symlink (ELOOP), unreadable: no entry
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != uid or st.st_size > 3 * MAX_BYTES:
            return None
        try:
            doc = json.loads(fh.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None
    if (
        not isinstance(doc, dict)
        or doc.get("image_id") != image_id
        or not isinstance(doc.get("passwd"), str)
        or not isinstance(doc.get("group"), str)
        or not isinstance(doc.get("sudoers_d"), bool)
    ):
        return None
    return EtcFacts(doc["passwd"], doc["group"], doc["sudoers_d"])


def save(image_id: str, facts: EtcFacts, *, shared: bool) -> None:
    """Keep ``facts`` for ``image_id``; best effort (a state folder that cannot be written only
    means the next create reads the files again). ``shared``: group mode (see the module)."""
    from ds01.errors import OperationFailed
    from ds01.fsutil import make_dirs, write_atomic

    digest = _digest(image_id)
    if digest is None or len(facts.passwd) > MAX_BYTES or len(facts.group) > MAX_BYTES:
        return
    doc = {"image_id": image_id, "passwd": facts.passwd, "group": facts.group, "sudoers_d": facts.sudoers_d}
    folder = _folder()
    if not shared and not _private(folder):
        return
    try:
        make_dirs(folder.parent)  # the state folder itself is never made world-writable
        make_dirs(folder, mode=0o1777 if shared else 0o755)
        write_atomic(_path(digest, os.geteuid()), json.dumps(doc) + "\n", mode=0o644)
    except OperationFailed:
        pass


def forget(image_id: str) -> None:
    """Drop what is kept for ``image_id`` (every writer's file this process may remove); best effort."""
    digest = _digest(image_id)
    if digest is not None:
        _drop(lambda name: name.startswith(f"{digest}."))


def forget_deleted(reply: object) -> None:
    """Drop the entries of every image an Engine API image delete says it deleted (its reply:
    ``[{"Untagged": ref}, {"Deleted": "sha256:..."}]``)."""
    for item in reply if isinstance(reply, list) else []:
        if isinstance(item, dict) and isinstance(item.get("Deleted"), str):
            forget(item["Deleted"])


def prune(existing_ids: set[str]) -> int:
    """Drop the entries of images not among ``existing_ids`` (the engine's images now); how many
    files went. A file whose name is not an entry's is left alone."""
    keep = {d for i in existing_ids if (d := _digest(i)) is not None}

    def stale(name: str) -> bool:
        digest, _, rest = name.partition(".")
        return rest.endswith(".json") and _digest(digest) == digest and digest not in keep

    return _drop(stale)


def _drop(match: Callable[[str], bool]) -> int:
    try:
        names = os.listdir(_folder())
    except OSError:
        return 0
    dropped = 0
    for name in names:
        if match(name):
            try:
                os.unlink(_folder() / name)
                dropped += 1
            except OSError:
                pass  # another user's file in the shared folder, or gone meanwhile
    return dropped
