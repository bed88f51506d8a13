"""Helpers for the GPU tests: a simulated-inventory config written to a temp dir."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support import configs

SEVEN_SLOTS = configs.topology(configs.SEVEN)


def write_config(folder: Path, *, topology: str = SEVEN_SLOTS, max_mig: str = "null", extra: str = "") -> Path:
    # a name of its own: simulated UUIDs derive from it
    return configs.write(
        folder,
        topology,
        topology_name="gpu-tests-seven-slots.yaml",
        extra=extra,
        base=False,
        defaults={
            "max_mig_instances": None if max_mig == "null" else max_mig,
            "max_gpus_per_container": 2,
            "gpu_hold_after_stop": "1h",
            "priority": 10,
        },
        user_overrides={"forever": {"gpu_hold_after_stop": None}},
        admins=["root"],
        policies={"pending_allocation_timeout": "10m"},
    )


def active_rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT slot, container, user, confirmed_at IS NOT NULL FROM allocations WHERE released_at IS NULL"
        ).fetchall()
    finally:
        conn.close()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
