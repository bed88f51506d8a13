"""Helpers of the wizard tests: what a home directory holds, and who owns it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` with its type, owner, mode, mtime and content hash."""
    found: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            found[str(path.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, digest)
    return found


def not_owned_by(root: Path, uid: int) -> list[str]:
    return [k for k, v in snapshot(root).items() if v[1] != uid]
