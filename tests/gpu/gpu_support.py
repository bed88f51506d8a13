"""Helpers for the GPU tests: a simulated-inventory config written to a temp dir."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SEVEN_SLOTS = """\
gpus:
  - name: NVIDIA A100-SXM4-80GB
    memory: 80g
    mig: [1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb]
"""

CONFIG = """\
defaults:
  max_mig_instances: {max_mig}
  max_gpus_per_container: 2
  gpu_hold_after_stop: 1h
  priority: 10
user_overrides:
  forever:
    gpu_hold_after_stop: null
admins: [root]
gpu_allocation:
  inventory: simulated
  topology: {topology}
policies:
  pending_allocation_timeout: 10m
"""


def write_config(folder: Path, *, topology: str = SEVEN_SLOTS, max_mig: str = "null", extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    # a name of its own: simulated UUIDs derive from it
    topo = folder / "gpu-tests-seven-slots.yaml"
    topo.write_text(topology)
    cfg = folder / "resource-limits.yaml"
    cfg.write_text(CONFIG.format(max_mig=max_mig, topology=topo) + extra)
    return cfg


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
