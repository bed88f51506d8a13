"""Upgrades keep the data: a ledger written by an earlier release opens, migrates once, in one
transaction, and every row is still there."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from ds01.gpu import ledger

ROOT = Path(__file__).resolve().parents[2]
# The release whose ledger had no schema version, no container ids and slot-keyed indexes.
OLD_RELEASE = "4e948f7"


def _old_schema() -> str:
    try:
        text = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{OLD_RELEASE}:src/ds01/gpu/ledger.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"needs the git history of ds01 (release {OLD_RELEASE})")
    namespace: dict = {}
    start = text.index('_SCHEMA = """')
    exec(text[start : text.index('"""', start + 13) + 3], namespace)
    return namespace["_SCHEMA"]


def _old_database(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(_old_schema())
    rows = [
        ("0", "GPU-0", "alice-proj", "alice", 50, 100.0, 101.0, None, None, None, 1),
        ("1:0", "MIG-1a", "bob-train", "bob", 10, 200.0, 201.0, 300.0, None, None, 1),
        ("2", "GPU-2", "carol-old", "carol", 50, 50.0, 51.0, 60.0, 70.0, "stale", 1),
        ("3", "GPU-3", "dave-shared", "dave", 50, 80.0, None, None, None, None, 0),
    ]
    conn.executemany(
        "INSERT INTO allocations (slot, uuid, container, user, priority, allocated_at, confirmed_at, "
        "stopped_at, released_at, reason, exclusive) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.executemany(
        "INSERT INTO history (at, event, user, container, slot, reason) VALUES (?,?,?,?,?,?)",
        [
            (100.0, "allocated", "alice", "alice-proj", "0", None),
            (70.0, "released", "carol", "carol-old", "2", "stale"),
        ],
    )
    conn.close()


def test_a_ledger_of_the_previous_release_migrates_once_and_keeps_every_row(tmp_path):
    db = tmp_path / "ds01.db"
    _old_database(db)
    led = ledger.Ledger(db)
    assert ledger.schema_version(led._connect()) == ledger.SCHEMA_VERSION
    rows = sorted(_all_rows(led), key=lambda r: r.id)
    assert [
        (r.slot, r.uuid, r.container, r.user, r.priority, r.stopped_at, r.released_at, r.reason, r.exclusive)
        for r in rows
    ] == [
        ("0", "GPU-0", "alice-proj", "alice", 50, None, None, None, True),
        ("1:0", "MIG-1a", "bob-train", "bob", 10, 300.0, None, None, True),
        ("2", "GPU-2", "carol-old", "carol", 50, 60.0, 70.0, "stale", True),
        ("3", "GPU-3", "dave-shared", "dave", 50, None, None, None, False),
    ]
    assert all(r.container_id is None for r in rows)
    assert [(h[1], h[2]) for h in led.history()] == [("allocated", "alice"), ("released", "carol")]
    indexes = {r[0] for r in led._connect().execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "one_exclusive_device" in indexes and "one_exclusive_holder" not in indexes
    led.close()
    # Migrated once: a second open finds the current version and changes nothing.
    again = ledger.Ledger(db)
    conn = again._connect()
    assert conn.total_changes == 0 and len(_all_rows(again)) == 4
    again.close()


def _all_rows(led: ledger.Ledger) -> list[ledger.Row]:
    conn = led._connect()
    return [ledger._row(t) for t in conn.execute(f"SELECT {ledger._COLUMNS} FROM allocations")]


def test_a_failing_step_leaves_the_old_database_as_it_was(tmp_path, monkeypatch):
    db = tmp_path / "ds01.db"
    _old_database(db)

    def broken(conn):
        raise sqlite3.OperationalError("simulated failure in step 3")

    monkeypatch.setitem(ledger.MIGRATIONS, 3, broken)
    with pytest.raises(Exception, match="simulated failure"):
        ledger.Ledger(db)._connect()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert "container_id" not in {r[1] for r in conn.execute("PRAGMA table_info(allocations)")}
    assert conn.execute("SELECT count(*) FROM allocations").fetchone()[0] == 4


def test_a_database_from_a_newer_release_is_refused(tmp_path):
    db = tmp_path / "ds01.db"
    sqlite3.connect(db).execute(f"PRAGMA user_version = {ledger.SCHEMA_VERSION + 1}")
    with pytest.raises(Exception, match="newer than this ds01"):
        ledger.Ledger(db)._connect()


def test_every_version_has_a_numbered_step():
    assert sorted(ledger.MIGRATIONS) == list(range(2, ledger.SCHEMA_VERSION + 1))
