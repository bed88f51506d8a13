"""Saved container definitions: what is needed to make a container again.

A stopped container's GPU cannot be taken from it (Docker device requests are fixed at
create), so releasing the GPU removes the container (SPEC §4). Its definition -- image,
mounts, labels, the GPU count it asked for -- is kept in
``DS01_STATE_DIR/containers/<uid>/<name>.json`` so that ``container run NAME`` can
recreate it with a fresh allocation. Files are written atomically; a definition is the
engine's ``definition_from_inspect`` object plus a ``ds01`` section.

Folders are keyed by the owner's uid, never by a name: logins such as ``sa.col`` and
``sa-col`` sanitise to one name, and must not share (see or delete) each other's
definitions. Older versions kept ``containers/<sanitised name>/``; the first access for a
user moves the files there that are theirs (the definition's ``uid``) into their uid
folder, and leaves any other user's file where it is for that user.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from ds01 import paths
from ds01.errors import OperationFailed
from ds01.fsutil import write_atomic
from ds01.identity import Identity, lookup, sanitize
from ds01.policy.labels import split_list

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Owner = str | Identity
_ANON = r"^uid(\d+)$"  # identity.current's name for a uid without a passwd entry (compiled at first use)


DEFINITION_VERSION = 1


def _root() -> Path:
    return paths.state_dir() / "containers"


def owner_uid(owner: Owner) -> int:
    """The uid whose folder holds ``owner``'s definitions."""
    if isinstance(owner, Identity):
        return owner.uid
    ident = lookup(owner)
    if ident is not None:
        return ident.uid
    from ds01.identity import current

    caller = current()
    if caller.name == owner:
        return caller.uid  # the caller as sudo named them (SUDO_USER/SUDO_UID)
    anon = re.match(_ANON, owner)
    if anon:
        return int(anon.group(1))
    raise OperationFailed(
        f"There is no login named {owner!r} on this host, so its container definitions cannot be located."
    )


def _name_of(owner: Owner) -> str:
    return owner.name if isinstance(owner, Identity) else owner


def _is_uid_dir(path: Path) -> bool:
    return path.name.isdigit()


def _doc_uid(path: Path) -> int | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    uid = doc.get("uid") if isinstance(doc, dict) else None
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


def _move_into_place(src: Path, uid: int) -> None:
    """Move one legacy definition into ``containers/<uid>/`` (never over a newer one)."""
    dest_dir = _root() / str(uid)
    dest_dir.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest_dir / src.name)
    except FileExistsError:
        return  # the uid folder already has one: it is newer; leave the old file alone
    except FileNotFoundError:
        return  # another process moved it meanwhile
    src.unlink(missing_ok=True)


def _drop_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _migrate_user(name: str, uid: int) -> None:
    """Move ``name``'s files of the old ``containers/<sanitised name>/`` folder into its uid folder."""
    legacy = _root() / sanitize(name)
    if _is_uid_dir(legacy) or not legacy.is_dir() or legacy.is_symlink():
        return
    for f in sorted(legacy.glob("*.json")):
        if _doc_uid(f) == uid:
            _move_into_place(f, uid)
    _drop_if_empty(legacy)


def _migrate_all() -> None:
    """Move every legacy file whose definition names its uid (admins listing everyone's)."""
    root = _root()
    if not root.is_dir():
        return
    for d in sorted(root.iterdir()):
        if _is_uid_dir(d) or not d.is_dir() or d.is_symlink():
            continue
        for f in sorted(d.glob("*.json")):
            uid = _doc_uid(f)
            if uid is not None:
                _move_into_place(f, uid)
        _drop_if_empty(d)


def user_dir(owner: Owner) -> Path:
    """``containers/<uid>/`` of ``owner`` (a login name or an Identity), after moving its files
    out of the old name-keyed folder."""
    uid = owner_uid(owner)
    try:
        _migrate_user(_name_of(owner), uid)
    except OSError as exc:
        raise OperationFailed(
            f"Cannot move the container definitions of {_name_of(owner)} into {_root() / str(uid)}: {exc.strerror}."
        ) from exc
    return _root() / str(uid)


def path_for(owner: Owner, name: str) -> Path:
    return user_dir(owner) / f"{name}.json"


def save(user: Owner, name: str, definition: dict[str, Any], *, gpu_count: int, project: str | None) -> Path:
    """Write the definition of ``name`` (replacing an older one) and return its path."""
    doc = dict(definition)
    # ``version``: the format of this file (files without one are version 1 and read the same).
    doc["ds01"] = {
        "gpu_count": int(gpu_count),
        "project": project,
        "saved_at": time.time(),
        "version": DEFINITION_VERSION,
    }
    path = path_for(user, name)
    write_atomic(path, json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n", mode=0o640)
    return path


def load(user: Owner, name: str) -> dict[str, Any] | None:
    """The saved definition, or None when there is none (a corrupt file is an error, not None)."""
    path = path_for(user, name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OperationFailed(f"Cannot read the container definition {path}: {exc.strerror}.") from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise OperationFailed(
            f"The container definition {path} is not valid JSON; remove it with `ds01 container cleanup {name}`."
        ) from exc
    if not isinstance(doc, dict):
        raise OperationFailed(f"The container definition {path} is not a JSON object.")
    return doc


def delete(user: Owner, name: str) -> bool:
    """Remove the definition; False when there was none."""
    try:
        path_for(user, name).unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise OperationFailed(f"Cannot remove the container definition of {name}: {exc.strerror}.") from exc
    return True


def list_all(user: Owner | None) -> list[dict[str, Any]]:
    """Every readable definition of ``user`` (None: of every user); unreadable files are skipped.

    Everyone's (None) includes legacy files that could not be moved (no ``uid`` in them)."""
    root = _root()
    if user:
        dirs = [user_dir(user)]
    else:
        try:
            _migrate_all()
        except OSError:
            pass  # listing still reads both layouts
        dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()) if root.is_dir() else []
    found = []
    for d in dirs:
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.json")):
            try:
                doc = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict) and doc.get("name"):
                found.append(doc)
    return found


def gpu_count(definition: dict[str, Any]) -> int:
    extra = definition.get("ds01") or {}
    if "gpu_count" in extra:
        return int(extra["gpu_count"])
    slots = (definition.get("labels") or {}).get("ds01.gpu.slots", "")
    return len(split_list(slots))
