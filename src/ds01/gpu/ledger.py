"""The allocation ledger: ``DS01_STATE_DIR/ds01.db`` (SQLite, WAL), the single record of who
was promised which slot.

``Ledger.write()`` opens a ``BEGIN IMMEDIATE`` transaction: reading the current holdings,
choosing slots and inserting rows all happen inside it, so two processes can never hand out
one exclusive slot twice. A busy database makes the caller wait (bounded by the busy
timeout) and then fail closed with ``OperationFailed``; it never proceeds without the lock.
Rows are never deleted: ``released_at`` ends them and the ``history`` table keeps every
event, for usage accounting.

A row records the Docker id of the container ds01 created for it (``container_id``, set by
``confirm``): reconcile trusts a container only through that id, never through its labels.

The ledger remembers which file it opened (device and inode) and checks, right after taking
the write lock and again before committing, that the path still names that file: a database
removed or replaced while a command runs makes the command fail closed instead of writing to
a file nobody else sees.

Modes: the database is made group-writable (0664) only where its folder is group-writable,
the group-mode layout where every user runs ds01 as themselves. A folder users cannot write
(secure mode: root-owned state) gets a file users cannot write either (0644, never wider).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ds01 import paths
from ds01.errors import OperationFailed
from ds01.fsutil import share_with_group
from ds01.records import dataclass, fields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")

DB_NAME = "ds01.db"

DEFAULT_BUSY_SECONDS = 15.0

SCHEMA_VERSION = 3
# Activity samples older than this are deleted at each write of new ones (the idle state a
# container carries is in its newest sample, so a long idle window needs no old rows).
SAMPLE_RETENTION_SECONDS = 7 * 86400

_SCHEMA = """
CREATE TABLE IF NOT EXISTS allocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slot TEXT NOT NULL,
    uuid TEXT NOT NULL,
    container TEXT NOT NULL,
    user TEXT NOT NULL,
    priority INTEGER NOT NULL,
    allocated_at REAL NOT NULL,
    confirmed_at REAL,            -- set when ds01 created the container (confirm)
    stopped_at REAL,
    released_at REAL,
    reason TEXT,                  -- why it was released
    exclusive INTEGER NOT NULL DEFAULT 1,
    container_id TEXT             -- the Docker id of the container ds01 created for the row
);
-- A second guard beside the transaction: one active exclusive row per DEVICE (its UUID; a slot id
-- is only a name, and a re-partitioned MIG device may take a vanished one's). The slot-keyed
-- indexes of earlier versions are dropped.
DROP INDEX IF EXISTS one_exclusive_holder;
DROP INDEX IF EXISTS one_row_per_container_slot;
CREATE UNIQUE INDEX IF NOT EXISTS one_exclusive_device
    ON allocations(uuid) WHERE released_at IS NULL AND exclusive = 1 AND uuid != '';
CREATE UNIQUE INDEX IF NOT EXISTS one_row_per_container_device
    ON allocations(uuid, container) WHERE released_at IS NULL AND uuid != '';
CREATE INDEX IF NOT EXISTS active_rows ON allocations(released_at);
-- Version 3: activity samples (one per running container per lifecycle pass) and keep-alives.
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    container TEXT NOT NULL,
    container_id TEXT NOT NULL,
    user TEXT NOT NULL,
    at REAL NOT NULL,
    started_at REAL,              -- when the container last started
    cpu_ns INTEGER,               -- cumulative CPU time of its cgroup
    cpu_percent REAL,             -- percent of one core since the previous sample
    gpu_busy INTEGER,             -- 1 busy, 0 idle, NULL unknown (or no GPU: 0 with detail "no GPU")
    gpu_detail TEXT,
    processes INTEGER,            -- beyond its init and interactive shells
    shells INTEGER NOT NULL DEFAULT 0,
    idle INTEGER NOT NULL DEFAULT 0,
    idle_since REAL,              -- start of the idle stretch this sample belongs to
    idle_cpu_ns INTEGER,          -- cpu_ns at idle_since
    last_shell_at REAL,
    warned_for REAL               -- the stop time the user was last warned about
);
CREATE INDEX IF NOT EXISTS samples_by_container ON samples(container, id);
CREATE INDEX IF NOT EXISTS samples_by_time ON samples(at);
CREATE TABLE IF NOT EXISTS keep_alive (
    container TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    set_at REAL NOT NULL,
    until REAL NOT NULL
);
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
    container_id: str | None = None

    @property
    def pending(self) -> bool:
        return self.confirmed_at is None


_COLUMNS = (
    "id, slot, uuid, container, user, priority, allocated_at, confirmed_at, stopped_at, released_at, reason, "
    "exclusive, container_id"
)


def _row(t: tuple) -> Row:
    return Row(
        id=t[0],
        slot=t[1],
        uuid=t[2],
        container=t[3],
        user=t[4],
        priority=t[5],
        allocated_at=t[6],
        confirmed_at=t[7],
        stopped_at=t[8],
        released_at=t[9],
        reason=t[10],
        exclusive=bool(t[11]),
        container_id=t[12],
    )


def _to_2(conn: sqlite3.Connection) -> None:
    """2: the Docker id of the container ds01 created for a row (NULL for older rows; reconcile
    records a confirmed old row's id the first time it sees its container)."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(allocations)")}
    if "container_id" not in cols:
        conn.execute("ALTER TABLE allocations ADD COLUMN container_id TEXT")


def _to_3(conn: sqlite3.Connection) -> None:
    """3: one active exclusive row per device UUID instead of per slot id (the slot-keyed
    indexes go; the schema script makes the device-keyed ones), activity ``samples`` and
    ``keep_alive`` (new tables, made by the schema script; nothing in older tables changes)."""
    conn.execute("DROP INDEX IF EXISTS one_exclusive_holder")
    conn.execute("DROP INDEX IF EXISTS one_row_per_container_slot")


# Numbered steps: MIGRATIONS[n] brings a database at version n-1 to version n. The last one's
# number is SCHEMA_VERSION. A database made before versions were recorded (user_version 0 with
# an allocations table) is version 1. Add a step (and raise SCHEMA_VERSION) for every change.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {2: _to_2, 3: _to_3}


def _statements(script: str) -> list[str]:
    """The SQL statements of ``script`` one by one (``executescript`` would commit first)."""
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                out.append(pending.strip())
            pending = ""
    return out


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _migrate(conn: sqlite3.Connection) -> None:
    """Create the schema, or bring an older database up to ``SCHEMA_VERSION``, keeping every row.

    Every pending step, the schema script (``CREATE … IF NOT EXISTS``) and the new version
    number are applied in ONE transaction: a failure leaves the database as it was, and two
    processes opening an old database migrate it once (the second finds it current under the
    write lock). A database from a newer ds01 is refused rather than written to.
    """
    if schema_version(conn) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise OperationFailed(
                f"The allocation database has schema version {version}, newer than this ds01 knows "
                f"({SCHEMA_VERSION}); upgrade ds01 instead of running an older one against it."
            )
        if version < SCHEMA_VERSION:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'allocations'"
            ).fetchone()
            if exists:
                for step in range(max(version, 1) + 1, SCHEMA_VERSION + 1):
                    MIGRATIONS[step](conn)
            for statement in _statements(_SCHEMA):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _group_writable(folder: Path) -> bool:
    import stat

    try:
        return bool(os.stat(folder).st_mode & stat.S_IWGRP)
    except OSError:
        return False


def protect(path: Path, *, shared: bool) -> None:
    """The mode of a ledger or log file ds01 owns: 0664 when ``shared`` (group mode), else
    0644 -- never wider than that, whatever it was."""
    from ds01.fsutil import SHARED_FILE_MODE

    mode = SHARED_FILE_MODE if shared else 0o644
    if shared:
        share_with_group(path, mode)
        return
    try:
        st = os.stat(path)
        if st.st_uid == os.geteuid() and st.st_mode & 0o7777 != mode:
            os.chmod(path, mode)
    except OSError:
        pass


def _wal(conn: sqlite3.Connection, busy: float) -> str:
    """Put the database in WAL mode (kept in the file: a database already in it is only read);
    the journal mode it is in afterwards.

    Switching needs the file to itself for a moment, and SQLite answers "locked" at once, without
    waiting for the busy timeout, when another connection holds it: as when several commands
    open a ledger that does not exist yet. So the switch is tried again until ``busy`` seconds
    have passed."""
    import time

    mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    if mode.lower() == "wal":
        return mode
    deadline = time.monotonic() + busy
    pause = 0.005
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def busy_seconds() -> float:
    """How long a command waits for a busy ledger before failing (``DS01_LEDGER_TIMEOUT``)."""
    try:
        return max(0.1, float(os.environ.get("DS01_LEDGER_TIMEOUT", DEFAULT_BUSY_SECONDS)))
    except ValueError:
        return DEFAULT_BUSY_SECONDS


def peek(read: Callable[[Ledger], T], *, secure: bool = False, path: Path | None = None) -> T | None:
    """``read(ledger)`` when the ledger exists, else None: what a view that only looks uses,
    since opening the ledger creates it (a listing, a report or a dry run never does)."""
    led = Ledger(path, secure=secure)
    if not led.path.exists():
        return None
    try:
        return read(led)
    finally:
        led.close()


class Ledger:
    def __init__(self, path: Path | None = None, *, busy: float | None = None, secure: bool = False):
        self.path = path or (paths.state_dir() / DB_NAME)
        self.busy = busy_seconds() if busy is None else busy
        # secure: never make the file group-writable, whatever its folder allows.
        self.secure = secure
        self._conn: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None  # (st_dev, st_ino) of the database opened
        self._key: bytes | None = None

    # -- allocation seals ---------------------------------------------------------------
    KEY_NAME = "allocation.key"

    def _seal_key(self) -> bytes | None:
        """The server's secret for allocation seals (made on first use beside the database).

        Root-only (0600) in secure mode; in group mode readable by the group, since every
        user runs ds01 as themselves there (and the docker group is root-equivalent anyway).
        None when it cannot be read: nothing is then vouched for by a seal (fail closed).
        """
        if self._key is not None:
            return self._key
        import secrets

        path = self.path.parent / self.KEY_NAME
        shared = not self.secure and _group_writable(self.path.parent)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            except FileExistsError:
                pass
            else:
                try:
                    os.fchmod(fd, 0o640 if shared else 0o600)
                    os.write(fd, secrets.token_hex(32).encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                st = os.fstat(fd)
                key = os.read(fd, 4096).strip()
            finally:
                os.close(fd)
        except OSError:
            return None
        if len(key) < 32 or (st.st_uid != os.geteuid() and st.st_uid != 0):
            return None  # a short key, or one planted by someone other than root or this user
        self._key = key
        return key

    def seal(self, container: str, user: str, allocated_at: float) -> str | None:
        """The label value that vouches for a container ds01 created for this allocation.

        ds01 writes it (``ds01.allocation``) on the container it creates for the rows of
        ``container``; reconcile confirms a pending row whose container carries the right seal,
        so a create interrupted between Docker's create and the confirmation loses nothing. A
        user cannot compute it without the key, and ds01 overwrites the label on every
        container it creates, so an image or an archive cannot carry one in.
        """
        import hashlib
        import hmac

        key = self._seal_key()
        if key is None:
            return None
        message = f"{container}\n{user}\n{allocated_at!r}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    # -- connection -------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy, isolation_level=None)
            # SQLite opens (or creates) the file lazily: make it exist, then remember which file it is.
            conn.execute("PRAGMA schema_version").fetchone()
            st = os.stat(self.path)
            self._file = (st.st_dev, st.st_ino)
            # SQLite gives the -wal/-shm files the database file's mode: one explicit mode for all.
            protect(self.path, shared=not self.secure and _group_writable(self.path.parent))
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy * 1000)}")
            mode = _wal(conn, self.busy)
            if str(mode).lower() != "wal":
                raise OperationFailed(f"The allocation database {self.path} could not switch to WAL mode.")
            conn.execute("PRAGMA synchronous = NORMAL")
            # One PRAGMA read when the schema is current; otherwise the numbered steps, in one transaction.
            _migrate(conn)
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

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _still_ours(self) -> None:
        """Fail closed when the path no longer names the database this ledger opened."""
        if self._file is None:
            return
        try:
            st = os.stat(self.path)
            same = (st.st_dev, st.st_ino) == self._file
        except OSError:
            same = False
        if not same:
            self.close()
            self._file = None
            raise OperationFailed(
                f"The allocation database {self.path} was removed or replaced while this command ran; "
                "nothing was changed. Run the command again."
            )

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any error.

        Before and after taking the lock, and again before committing, the path must still
        name the file this ledger opened; otherwise nothing is written (``OperationFailed``).
        """
        conn = self._connect()
        self._still_ours()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._busy_or_broken(exc) from exc
        try:
            self._still_ours()
            yield conn
            self._still_ours()
        except BaseException:
            # A replaced file: _still_ours closed the connection, which rolled the transaction back.
            if self._conn is not None:
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

    def rows_for(self, container: str, conn: sqlite3.Connection | None = None, *, user: str | None = None) -> list[Row]:
        """Active rows of ``container`` (only ``user``'s when given)."""
        c = conn or self._connect()
        cur = c.execute(
            f"SELECT {_COLUMNS} FROM allocations WHERE released_at IS NULL AND container = ? ORDER BY id",
            (container,),
        )
        return [r for r in (_row(t) for t in cur.fetchall()) if user is None or r.user == user]

    def last_allocated_slot(self, conn: sqlite3.Connection | None = None) -> str | None:
        c = conn or self._connect()
        t = c.execute("SELECT slot FROM allocations ORDER BY id DESC LIMIT 1").fetchone()
        return t[0] if t else None

    def history(self, conn: sqlite3.Connection | None = None) -> list[tuple]:
        c = conn or self._connect()
        return c.execute("SELECT at, event, user, container, slot, reason FROM history ORDER BY id").fetchall()

    def last_activity(self, conn: sqlite3.Connection | None = None) -> dict[str, float]:
        """user -> the time of their newest ledger event or activity sample."""
        c = conn or self._connect()
        found: dict[str, float] = {}
        for table in ("history", "samples"):
            for user, at in c.execute(f"SELECT user, max(at) FROM {table} GROUP BY user"):
                found[user] = max(found.get(user, 0.0), float(at))
        return found

    # -- writes (inside ``write()``) ---------------------------------------------------
    @staticmethod
    def insert(
        conn: sqlite3.Connection,
        *,
        slot: str,
        uuid: str,
        container: str,
        user: str,
        priority: int,
        at: float,
        confirmed: bool = False,
        stopped_at: float | None = None,
        exclusive: bool = True,
        reason: str | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO allocations (slot, uuid, container, user, priority, allocated_at, confirmed_at, "
            "stopped_at, reason, exclusive) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                slot,
                uuid,
                container,
                user,
                priority,
                at,
                at if confirmed else None,
                stopped_at,
                reason,
                1 if exclusive else 0,
            ),
        )

    @staticmethod
    def release_row(conn: sqlite3.Connection, row_id: int, *, at: float, reason: str) -> None:
        conn.execute(
            "UPDATE allocations SET released_at = ?, reason = ? WHERE id = ? AND released_at IS NULL",
            (at, reason, row_id),
        )

    @staticmethod
    def set_stopped(
        conn: sqlite3.Connection, container: str, stopped_at: float | None, *, user: str | None = None
    ) -> int:
        if stopped_at is None:
            return _update_active(conn, "stopped_at = NULL", (), container, user, where=" AND stopped_at IS NOT NULL")
        return _update_active(conn, "stopped_at = ?", (stopped_at,), container, user, where=" AND stopped_at IS NULL")

    @staticmethod
    def set_confirmed(
        conn: sqlite3.Connection, container: str, at: float, *, container_id: str | None = None, user: str | None = None
    ) -> int:
        """Confirm ``container``'s pending rows; with ``container_id``, record it on every active row
        of the container (a container recreated under the same name replaces the old id)."""
        if container_id is None:
            return _update_active(conn, "confirmed_at = ?", (at,), container, user, where=" AND confirmed_at IS NULL")
        where, params = _active_of(container, user, where=" AND confirmed_at IS NULL")
        pending = conn.execute(f"SELECT COUNT(*) FROM allocations WHERE {where}", params).fetchone()[0]
        _update_active(
            conn, "confirmed_at = COALESCE(confirmed_at, ?), container_id = ?", (at, container_id), container, user
        )
        return int(pending)

    @staticmethod
    def set_container_id(conn: sqlite3.Connection, row_id: int, container_id: str) -> None:
        conn.execute(
            "UPDATE allocations SET container_id = ? WHERE id = ? AND released_at IS NULL", (container_id, row_id)
        )

    @staticmethod
    def record(
        conn: sqlite3.Connection, *, at: float, event: str, user: str, container: str, slot: str, reason: str = ""
    ) -> None:
        conn.execute(
            "INSERT INTO history (at, event, user, container, slot, reason) VALUES (?, ?, ?, ?, ?, ?)",
            (at, event, user, container, slot, reason),
        )


@dataclass(frozen=True)
class Observation:
    """What one lifecycle pass measured for one running container."""

    container: str
    container_id: str
    user: str
    at: float
    started_at: float | None
    cpu_ns: int | None
    gpu_busy: bool | None  # None: unknown; False also for a container without GPU
    gpu_detail: str
    processes: int | None
    shells: int


@dataclass(frozen=True, kw_only=True)
class SampleRow(Observation):
    """An observation as the ledger keeps it, with what the idle verdict carries from one sample
    to the next (``gpu.idle.next_sample``); those are given by name."""

    cpu_percent: float | None
    idle: bool
    idle_since: float | None
    idle_cpu_ns: int | None
    last_shell_at: float | None
    warned_for: float | None = None


_SAMPLE_FIELDS = tuple(f.name for f in fields(SampleRow))
_SAMPLE_COLUMNS = ", ".join(_SAMPLE_FIELDS)


def _sample(t: tuple) -> SampleRow:
    row = dict(zip(_SAMPLE_FIELDS, t, strict=True))
    busy = row["gpu_busy"]
    row.update(
        gpu_busy=None if busy is None else bool(busy), gpu_detail=row["gpu_detail"] or "", idle=bool(row["idle"])
    )
    return SampleRow(**row)


def _active_of(container: str, user: str | None, *, where: str = "") -> tuple[str, tuple]:
    """The condition (and its parameters) for ``container``'s active rows that also match
    ``where``; only ``user``'s rows when given."""
    sql = "container = ? AND released_at IS NULL" + where
    return (sql, (container,)) if user is None else (sql + " AND user = ?", (container, user))


def _update_active(
    conn: sqlite3.Connection, assign: str, values: tuple, container: str, user: str | None, *, where: str = ""
) -> int:
    """``UPDATE allocations SET <assign>`` on the rows ``_active_of`` selects; how many changed."""
    condition, params = _active_of(container, user, where=where)
    return conn.execute(f"UPDATE allocations SET {assign} WHERE {condition}", (*values, *params)).rowcount


def latest_samples(led: Ledger, conn: sqlite3.Connection | None = None) -> dict[str, SampleRow]:
    """The newest sample of every container sampled within the retention time."""
    c = conn or led._connect()
    cur = c.execute(
        f"SELECT {_SAMPLE_COLUMNS} FROM samples WHERE id IN (SELECT MAX(id) FROM samples GROUP BY container)"
    )
    return {r.container: r for r in (_sample(t) for t in cur.fetchall())}


def samples_of(led: Ledger, container: str) -> list[SampleRow]:
    cur = led._connect().execute(f"SELECT {_SAMPLE_COLUMNS} FROM samples WHERE container = ? ORDER BY id", (container,))
    return [_sample(t) for t in cur.fetchall()]


def add_sample(conn: sqlite3.Connection, s: SampleRow, *, retention: float = SAMPLE_RETENTION_SECONDS) -> None:
    values = {**vars(s), "gpu_busy": None if s.gpu_busy is None else int(s.gpu_busy), "idle": int(s.idle)}
    conn.execute(
        f"INSERT INTO samples ({_SAMPLE_COLUMNS}) VALUES ({', '.join('?' for _ in _SAMPLE_FIELDS)})",
        tuple(values[f] for f in _SAMPLE_FIELDS),
    )
    conn.execute("DELETE FROM samples WHERE at < ?", (s.at - retention,))


def keep_alives(led: Ledger, conn: sqlite3.Connection | None = None) -> dict[str, tuple[str, float, float]]:
    """container -> (user, set_at, until)."""
    c = conn or led._connect()
    return {t[0]: (t[1], t[2], t[3]) for t in c.execute("SELECT container, user, set_at, until FROM keep_alive")}


def set_keep_alive(conn: sqlite3.Connection, container: str, user: str, set_at: float, until: float | None) -> None:
    """Record (``until`` None: cancel) the keep-alive of a container."""
    conn.execute("DELETE FROM keep_alive WHERE container = ?", (container,))
    if until is not None:
        conn.execute(
            "INSERT INTO keep_alive (container, user, set_at, until) VALUES (?, ?, ?, ?)",
            (container, user, set_at, until),
        )
