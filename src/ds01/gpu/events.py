"""The allocation event log: ``gpu-allocations.log`` (pipe-delimited, for people and grep) and
``events.jsonl`` (one JSON object per line, for machines), both under ``DS01_LOG_DIR``.

Each event is appended with one ``write`` on a file opened ``O_APPEND``, so lines from
concurrent processes never interleave.

Like the ledger, a log is made group-writable (0664) only in a group-writable folder (the
group-mode layout) and never in secure mode; otherwise it is 0644, never wider.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ds01 import paths
from ds01.fsutil import SHARED_FILE_MODE, share_with_group
from ds01.records import dataclass
from ds01.timefmt import iso

EVENTS = (
    "allocate",
    "release",
    "release-stale",
    "mark-stopped",
    "restart",
    "adopt",
    "conflict",
    "refuse",
    "idle-warning",
    "stop-idle",
    "stop-runtime",
    "remove-stopped",
    "keep-alive",
)
LOG_NAME = "gpu-allocations.log"
JSONL_NAME = "events.jsonl"


@dataclass(frozen=True)
class Event:
    event: str
    user: str
    container: str
    gpu_id: str
    reason: str = ""
    at: float = 0.0
    extra: dict[str, Any] | None = None

    def timestamp(self) -> str:
        return iso(self.at)

    def line(self) -> str:
        def clean(v: str) -> str:
            # The pipe and newlines are the format's separators.
            return v.replace("|", "/").replace("\n", " ")

        fields = [self.timestamp(), self.event, self.user, self.container, self.gpu_id, self.reason]
        return "|".join(clean(str(f)) for f in fields)

    def as_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "timestamp": self.timestamp(),
            "event": self.event,
            "user": self.user,
            "container": self.container,
            "gpu_id": self.gpu_id,
            "reason": self.reason,
        }
        if self.extra:
            obj.update(self.extra)
        return obj


def _append(path: os.PathLike[str] | str, text: str, *, shared: bool) -> None:
    fd = os.open(
        path,
        os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
        SHARED_FILE_MODE if shared else 0o644,
    )
    try:
        if shared:
            share_with_group(fd)
        else:
            st = os.fstat(fd)
            if st.st_uid == os.geteuid() and st.st_mode & 0o7777 != 0o644:
                os.fchmod(fd, 0o644)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def write(events: list[Event]) -> list[str]:
    """Append events to both logs; returns warnings (a log that cannot be written never undoes
    an allocation that is already committed)."""
    if not events:
        return []
    folder = paths.log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        from ds01.gpu.inputs import secure_now

        shared = bool(os.stat(folder).st_mode & 0o020) and not secure_now()
        _append(folder / LOG_NAME, "".join(e.line() + "\n" for e in events), shared=shared)
        _append(
            folder / JSONL_NAME, "".join(json.dumps(e.as_json(), sort_keys=True) + "\n" for e in events), shared=shared
        )
    except OSError as exc:
        return [f"Could not write the allocation log in {folder}: {exc.strerror}."]
    return []
