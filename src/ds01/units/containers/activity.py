"""What running containers are doing (the lifecycle's samples), keep-alives, and notices.

``observe`` measures each running ds01 container once: CPU time from its cgroup, the activity
of the GPU slots the ledger gave it, its processes, the shells open in it (Docker exec sessions)
and the terminals of those shells. ``keep_alive_file`` reads ``.keep-alive`` in the owner's
workspace AS the owner (the workspace is theirs: root never follows a path in it).
``notify`` writes a line to the container's shells' terminals and adds a notice to the
owner's notices file (``DS01_STATE_DIR/notices/<uid>.json``, shown by ``ds01 status`` and at
the next ``container run``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ds01.records import dataclass, field
from ds01.timefmt import iso

if TYPE_CHECKING:
    from ds01.base.cgroups import Reading
    from ds01.base.container_spec import ContainerInfo
    from ds01.gpu.idle import Observation
    from ds01.gpu.ledger import Row
    from ds01.gpu.model import Inventory, SlotActivity
    from ds01.identity import Identity
    from ds01.limits.config import Config

KEEP_ALIVE_FILE = ".keep-alive"
NOTICES_KEPT = 20
NOTICE_DAYS = 7


@dataclass
class Observed:
    info: ContainerInfo
    obs: Observation
    pids: list[int] = field(default_factory=list)
    slots: list[str] = field(default_factory=list)
    workspace: str | None = None


def running_containers(user: str | None = None) -> list[ContainerInfo]:
    from ds01.base import engine

    return [i for i in engine.list_containers(user, running_only=True) if i.ds01_managed]


def stopped_containers() -> list[ContainerInfo]:
    from ds01.base import engine

    return [i for i in engine.list_containers(None) if i.ds01_managed and not i.alive]


def observe(
    config: Config,
    infos: list[ContainerInfo],
    *,
    now: float,
    rows: list[Row] | None = None,
    gpu_activity: dict[str, SlotActivity] | None = None,
    readings: dict[str, Reading | None] | None = None,
    inv: Inventory | None = None,
) -> list[Observed]:
    """One observation per container still running (containers gone meanwhile are skipped).

    What the caller has already read this moment is used instead of reading it again: ``rows``
    (the ledger's active rows), ``gpu_activity`` (``gpu.facts.slot_activity``) and ``readings``
    (``cgroups.read_many`` by container id; a container missing there is read here) and ``inv``
    (the inventory, when ``gpu_activity`` is not given)."""
    from ds01.base import cgroups
    from ds01.gpu import inputs
    from ds01.gpu.facts import slot_activity
    from ds01.gpu.idle import Observation
    from ds01.gpu.ledger import Ledger, peek

    if not infos:
        return []
    read = dict(readings or {})
    missing = [i.id for i in infos if i.id not in read]
    if missing:
        read.update(cgroups.read_many(missing))
    if gpu_activity is None:
        gpu_activity = slot_activity(config, inv or inputs.inventory(config))
    if rows is None:
        rows = peek(Ledger.active, secure=config.security.secure) or []
    by_container: dict[str, list] = {}
    for r in rows:
        by_container.setdefault(r.container, []).append(r)
    out = []
    for info in infos:
        reading = read.get(info.id)
        if reading is None:
            continue
        facts = reading.facts
        pids = reading.pids or []
        ptys = {p for p in pids if cgroups.pty_of(p) is not None}
        processes = len([p for p in pids if p != facts.pid and p not in ptys]) if pids else None
        shells = cgroups.open_shells(info.id)
        mine = by_container.get(info.docker_name, [])
        busy, detail = _gpu(mine, gpu_activity)
        obs = Observation(
            info.docker_name,
            facts.id,
            info.user,
            now,
            facts.started_at,
            reading.cpu_ns,
            busy,
            detail,
            processes,
            shells,
        )
        out.append(Observed(info, obs, pids, [r.slot for r in mine], info.to_json().get("workspace")))
    return out


def _gpu(rows: list, activity: dict) -> tuple[bool | None, str]:
    if not rows:
        return False, "no GPU"
    states: list[bool | None] = []
    words: list[str] = []
    for r in rows:
        a = activity.get(r.uuid)
        if a is None:
            states.append(None)
            words.append(f"GPU slot {r.slot} not measured")
            continue
        states.append(a.busy)
        state = {True: "busy", False: "idle", None: "unknown"}[a.busy]
        words.append(f"GPU slot {r.slot} {a.detail or state} ({a.evidence})")
    busy: bool | None = True if any(s is True for s in states) else (False if all(s is False for s in states) else None)
    return busy, ", ".join(words)


# -- keep-alive file -------------------------------------------------------------------------------


def _read_keep_alive(path: str) -> tuple[float, str] | None:
    """(mtime, first line) of ``path`` if it is a regular file; runs as the owner."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        text = os.read(fd, 128).decode("utf-8", "replace")
    finally:
        os.close(fd)
    return st.st_mtime, (text.strip().splitlines() or [""])[0].strip()


def keep_alive_file(owner: Identity, workspace: str | None, max_keep_alive: int) -> tuple[float, float] | None:
    """(set_at, until) from ``.keep-alive`` in the workspace: from the file's time, for the
    duration written in it (default and most: ``max_keep_alive``)."""
    from ds01 import privsep
    from ds01.errors import Ds01Error
    from ds01.limits.units import LimitsValueError, parse_duration

    if not workspace:
        return None
    try:
        found = privsep.run_as(owner, _read_keep_alive, str(Path(workspace) / KEEP_ALIVE_FILE))
    except Ds01Error:
        return None
    if found is None:
        return None
    mtime, text = found
    seconds = max_keep_alive
    if text:
        try:
            seconds = min(int(parse_duration(text, key=KEEP_ALIVE_FILE)), max_keep_alive)
        except (LimitsValueError, ValueError, TypeError):
            seconds = max_keep_alive
    return mtime, mtime + seconds


# -- notices ---------------------------------------------------------------------------------------


def notices_path(uid: int) -> Path:
    from ds01 import paths

    return paths.state_dir() / "notices" / f"{int(uid)}.json"


def read_notices(
    uid: int, *, now: float | None = None, container: str | None = None, newer_than: float | None = None
) -> list[dict[str, Any]]:
    path = notices_path(uid)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return []
    with os.fdopen(fd, "rb") as fh:
        try:
            items = json.loads(fh.read(1 << 20) or b"[]")
        except ValueError:
            return []
    t = time.time() if now is None else now
    cutoff = t - NOTICE_DAYS * 86400 if newer_than is None else newer_than
    return [
        n
        for n in items
        if isinstance(n, dict)
        and float(n.get("at", 0)) >= cutoff
        and (container is None or n.get("container") == container)
    ]


def add_notice(uid: int, notice: dict[str, Any], *, secure: bool) -> None:
    from ds01.fsutil import make_dirs, write_atomic

    path = notices_path(uid)
    make_dirs(path.parent, mode=0o755)
    st = os.lstat(path.parent)
    import stat

    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        return  # not ds01's own folder (a planted link or a writable folder): write nothing there
    items = read_notices(uid, now=float(notice["at"]))
    items.append(notice)
    # Root-owned, in a root folder: users read their notices through ds01 (secure mode: as root).
    write_atomic(path, json.dumps(items[-NOTICES_KEPT:], indent=1) + "\n", mode=0o600 if secure else 0o644)


def notify(observed_pids: list[int], uid: int | None, notice: dict[str, Any], *, secure: bool) -> int:
    """Tell the owner: a line on every terminal of a shell in the container, and a notice.
    Returns how many terminals were written to."""
    from ds01.base import cgroups

    line = f"\r\n\a[ds01] {notice['message']}\r\n"
    written = cgroups.write_to_terminals(observed_pids, line) if observed_pids else 0
    if uid is not None:
        add_notice(uid, notice, secure=secure)
    return written


def stopped_since(info: ContainerInfo, *, secure: bool) -> float | None:
    """When a stopped container stopped: the ledger's stop time when it holds a GPU, else Docker's."""
    from ds01.base import cgroups
    from ds01.gpu.ledger import peek

    rows = peek(lambda led: led.rows_for(info.docker_name), secure=secure) or []
    stops = [r.stopped_at for r in rows if r.stopped_at is not None]
    if stops:
        return min(stops)
    return cgroups.finished_at(info.id)


# -- keep-alive command ------------------------------------------------------------------------------


@dataclass
class KeepAlive:
    name: str
    docker_name: str
    until: float | None  # None: cancelled
    capped: bool  # the duration asked for was longer than policies.max_keep_alive
    max_seconds: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "docker_name": self.docker_name,
            "keep_alive_until": iso(self.until),
            "capped": self.capped,
            "max_keep_alive_seconds": self.max_seconds,
        }


def keep_alive(
    config: Config, docker_name: str, name: str, user: str, seconds: int | None, *, now: float | None = None
) -> KeepAlive:
    """Postpone the idle stop of a container by ``seconds`` (default and most:
    ``policies.max_keep_alive``); ``seconds == 0`` cancels. Never extends ``max_runtime``."""
    from ds01.gpu import events
    from ds01.gpu.ledger import Ledger, set_keep_alive

    t = time.time() if now is None else now
    most = int(config.policies.max_keep_alive)
    want = most if seconds is None else seconds
    until = None if want == 0 else t + min(want, most)
    led = Ledger(secure=config.security.secure)
    try:
        with led.write() as conn:
            set_keep_alive(conn, docker_name, user, t, until)
    finally:
        led.close()
    reason = "cancelled" if until is None else f"until {iso(until)}"
    events.write([events.Event("keep-alive", user, docker_name, "", reason, t)])
    return KeepAlive(name, docker_name, until, want > most, most)
