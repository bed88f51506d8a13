"""Proof that a process waits for a lock, read from the kernel rather than guessed from a sleep."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _waiters(path: Path) -> set[int]:
    """PIDs the kernel lists (``/proc/locks``, lines with ``->``) as blocked on a lock of ``path``."""
    st = os.stat(path)
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pids: set[int] = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "->" and fields[6] == key:
            pids.add(int(fields[5]))
    return pids


def wait_until_blocked(path: Path, timeout: float = 60.0) -> set[int]:
    """Wait until some process is blocked on a lock of ``path`` (flock or POSIX); return their PIDs.

    A blocked request is an event the kernel records, so this returns as soon as the waiter is
    really waiting, and fails (AssertionError) when none ever does.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = _waiters(path)
        if pids:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"no process waited for the lock on {path} within {timeout:.0f}s")
