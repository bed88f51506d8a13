"""Saved container definitions: what is needed to make a container again.

A stopped container's GPU cannot be taken from it (Docker device requests are fixed at
create), so releasing the GPU removes the container (SPEC §4). Its definition -- image,
mounts, labels, the GPU count it asked for -- is kept in
``DS01_STATE_DIR/containers/<user>/<name>.json`` so that ``container run NAME`` can
recreate it with a fresh allocation. Files are written atomically; a definition is the
engine's ``definition_from_inspect`` object plus a ``ds01`` section.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ds01 import paths
from ds01.errors import OperationFailed
from ds01.fsutil import write_atomic
from ds01.identity import sanitize


def user_dir(user: str) -> Path:
    return paths.state_dir() / "containers" / sanitize(user)


def path_for(user: str, name: str) -> Path:
    return user_dir(user) / f"{name}.json"


def save(user: str, name: str, definition: dict[str, Any], *, gpu_count: int, project: str | None) -> Path:
    """Write the definition of ``name`` (replacing an older one) and return its path."""
    doc = dict(definition)
    doc["ds01"] = {"gpu_count": int(gpu_count), "project": project, "saved_at": time.time()}
    path = path_for(user, name)
    write_atomic(path, json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n", mode=0o640)
    return path


def load(user: str, name: str) -> dict[str, Any] | None:
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


def delete(user: str, name: str) -> bool:
    """Remove the definition; False when there was none."""
    try:
        path_for(user, name).unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise OperationFailed(f"Cannot remove the container definition of {name}: {exc.strerror}.") from exc
    return True


def list_all(user: str | None) -> list[dict[str, Any]]:
    """Every readable definition of ``user`` (None: of every user); unreadable files are skipped."""
    root = paths.state_dir() / "containers"
    dirs = [user_dir(user)] if user else (sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else [])
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
    return len([s for s in slots.split(",") if s])
