"""The allocation ledger: ``DS01_STATE_DIR/ds01.db`` (SQLite, WAL), the single record of who
was promised which slot.

``Ledger.write()`` opens a ``BEGIN IMMEDIATE`` transaction: reading the current holdings,
choosing slots and inserting rows all happen inside it, so two processes can never hand out
one exclusive slot twice. A busy database makes the caller wait (bounded by the busy
timeout) and then fail closed with ``OperationFailed``; it never proceeds without the lock.
Rows are never deleted: ``released_at`` ends them and the ``history`` table keeps every
event, for usage accounting.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ds01 import paths
from ds01.errors import OperationFailed
from ds01.fsutil import share_with_group

DB_NAME = "ds01.db"
DEFAULT_BUSY_SECONDS = 15.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS allocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slot TEXT NOT NULL,
    uuid TEXT NOT NULL,
    container TEXT NOT NULL,
    user TEXT NOT NULL,
    priority INTEGER NOT NULL,
    allocated_at REAL NOT NULL,
    confirmed_at REAL,            -- set when the container exists (create confirmed, or adopted)
    stopped_at REAL,
    released_at REAL,
    reason TEXT,                  -- why it was released (or "adopted")
    exclusive INTEGER NOT NULL DEFAULT 1
);
-- A second guard beside the transaction: one active exclusive row per slot.
CREATE UNIQUE INDEX IF NOT EXISTS one_exclusive_holder
    ON allocations(slot) WHERE released_at IS NULL AND exclusive = 1;
CREATE UNIQUE INDEX IF NOT EXISTS one_row_per_container_slot
    ON allocations(slot, container) WHERE released_at IS NULL;
CREATE INDEX IF NOT EXISTS active_rows ON allocations(released_at);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    event TEXT NOT NULL,
    user TEXT NOT NULL,
    container TEXT NOT NULL,
    slot TEXT NOT NULL,
    reason TEXT
);
"""


@dataclass(frozen=True)
class Row:
    id: int
    slot: str
    uuid: str
    container: str
    user: str
    priority: int
    allocated_at: float
    confirmed_at: float | None
    stopped_at: float | None
    released_at: float | None
    reason: str | None
    exclusive: bool

    @property
    def pending(self) -> bool:
        return self.confirmed_at is None


_COLUMNS = (
    "id, slot, uuid, container, user, priority, allocated_at, confirmed_at, stopped_at, released_at, reason, exclusive"
)


def _row(t: tuple) -> Row:
    return Row(id=t[0], slot=t[1], uuid=t[2], container=t[3], user=t[4], priority=t[5], allocated_at=t[6],
               confirmed_at=t[7], stopped_at=t[8], released_at=t[9], reason=t[10], exclusive=bool(t[11]))


def busy_seconds() -> float:
    """How long a command waits for a busy ledger before failing (``DS01_LEDGER_TIMEOUT``)."""
    try:
        return max(0.1, float(os.environ.get("DS01_LEDGER_TIMEOUT", DEFAULT_BUSY_SECONDS)))
    except ValueError:
        return DEFAULT_BUSY_SECONDS


class Ledger:
    def __init__(self, path: Path | None = None, *, busy: float | None = None):
        self.path = path or (paths.state_dir() / DB_NAME)
        self.busy = busy_seconds() if busy is None else busy
        self._conn: sqlite3.Connection | None = None

    # -- connection -------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy, isolation_level=None)
            # SQLite gives the -wal/-shm files the database file's mode: one explicit mode for all.
            share_with_group(self.path)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OperationFailed(f"The allocation database {self.path} could not switch to WAL mode.")
            conn.execute("PRAGMA synchronous = NORMAL")
            # CREATE … IF NOT EXISTS writes nothing once the schema exists, so this is cheap and safe
            # to run from every process.
            conn.executescript(_SCHEMA)
        except sqlite3.OperationalError as exc:
            raise self._busy_or_broken(exc) from exc
        except OSError as exc:
            raise OperationFailed(
                f"Cannot create the allocation database in {self.path.parent}: {exc.strerror}; "
                "check DS01_STATE_DIR and its permissions."
            ) from exc
        self._conn = conn
        return conn

    def _busy_or_broken(self, exc: sqlite3.Error) -> OperationFailed:
        if "locked" in str(exc) or "busy" in str(exc):
            return OperationFailed(
                f"The allocation database {self.path} stayed busy for {self.busy:g}s; nothing was changed. "
                "Try again in a moment."
            )
        return OperationFailed(f"Cannot use the allocation database {self.path}: {exc}.")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any error."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._busy_or_broken(exc) from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            raise self._busy_or_broken(exc) from exc

    # -- reads (inside or outside a transaction) ----------------------------------------
    def active(self, conn: sqlite3.Connection | None = None) -> list[Row]:
        c = conn or self._connect()
        try:
            cur = c.execute(f"SELECT {_COLUMNS} FROM allocations WHERE released_at IS NULL ORDER BY id")
        except sqlite3.OperationalError as exc:
            raise self._busy_or_broken(exc) from exc
        return [_row(t) for t in cur.fetchall()]

    def rows_for(self, container: str, conn: sqlite3.Connection | None = None) -> list[Row]:
        c = conn or self._connect()
        cur = c.execute(
            f"SELECT {_COLUMNS} FROM allocations WHERE released_at IS NULL AND container = ? ORDER BY id",
            (container,),
        )
        return [_row(t) for t in cur.fetchall()]

    def last_allocated_slot(self, conn: sqlite3.Connection | None = None) -> str | None:
        c = conn or self._connect()
        t = c.execute("SELECT slot FROM allocations ORDER BY id DESC LIMIT 1").fetchone()
        return t[0] if t else None

    def history(self, conn: sqlite3.Connection | None = None) -> list[tuple]:
        c = conn or self._connect()
        return c.execute("SELECT at, event, user, container, slot, reason FROM history ORDER BY id").fetchall()

    # -- writes (inside ``write()``) ---------------------------------------------------
    @staticmethod
    def insert(conn: sqlite3.Connection, *, slot: str, uuid: str, container: str, user: str, priority: int,
               at: float, confirmed: bool = False, stopped_at: float | None = None, exclusive: bool = True,
               reason: str | None = None) -> None:
        conn.execute(
            "INSERT INTO allocations (slot, uuid, container, user, priority, allocated_at, confirmed_at, "
            "stopped_at, reason, exclusive) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (slot, uuid, container, user, priority, at, at if confirmed else None, stopped_at, reason,
             1 if exclusive else 0),
        )

    @staticmethod
    def release_row(conn: sqlite3.Connection, row_id: int, *, at: float, reason: str) -> None:
        conn.execute(
            "UPDATE allocations SET released_at = ?, reason = ? WHERE id = ? AND released_at IS NULL",
            (at, reason, row_id),
        )

    @staticmethod
    def set_stopped(conn: sqlite3.Connection, container: str, stopped_at: float | None) -> int:
        if stopped_at is None:
            cur = conn.execute(
                "UPDATE allocations SET stopped_at = NULL WHERE container = ? AND released_at IS NULL "
                "AND stopped_at IS NOT NULL",
                (container,),
            )
        else:
            cur = conn.execute(
                "UPDATE allocations SET stopped_at = ? WHERE container = ? AND released_at IS NULL "
                "AND stopped_at IS NULL",
                (stopped_at, container),
            )
        return cur.rowcount

    @staticmethod
    def set_confirmed(conn: sqlite3.Connection, container: str, at: float) -> int:
        cur = conn.execute(
            "UPDATE allocations SET confirmed_at = ? WHERE container = ? AND released_at IS NULL "
            "AND confirmed_at IS NULL",
            (at, container),
        )
        return cur.rowcount

    @staticmethod
    def record(conn: sqlite3.Connection, *, at: float, event: str, user: str, container: str, slot: str,
               reason: str = "") -> None:
        conn.execute(
            "INSERT INTO history (at, event, user, container, slot, reason) VALUES (?, ?, ?, ?, ?, ?)",
            (at, event, user, container, slot, reason),
        )
