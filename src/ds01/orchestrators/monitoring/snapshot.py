"""One read-only look at the server for the dashboard and the exporter.

``containers``: every running ds01 container with its cgroup's CPU time, memory and limit,
processes and start time (one ``inspect`` per container for its cgroup; never Docker's
``stats``, which takes a second per container). ``slots``: each slot's state and holders
from the ledger (no reconcile: looking changes nothing). ``users``: per-user totals against
their limits. ``last_events``: the tail of ``events.jsonl``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ds01.records import dataclass, field

if TYPE_CHECKING:
    from ds01.base.cgroups import Reading
    from ds01.base.container_spec import ContainerInfo
    from ds01.gpu.ledger import Row, SampleRow
    from ds01.gpu.model import Inventory, SlotActivity
    from ds01.limits.config import Config


@dataclass(frozen=True)
class ContainerUsage:
    docker_name: str
    name: str
    user: str
    uid: int | None
    image: str
    cpu_ns: int | None
    memory_bytes: int | None
    memory_limit_bytes: int | None
    pids: int | None
    started_at: float | None


def container_usage(
    infos: list[ContainerInfo], readings: dict[str, Reading | None] | None = None
) -> list[ContainerUsage]:
    """Usage of each running container in ``infos`` (containers gone meanwhile are skipped).
    ``readings``: their cgroups as ``cgroups.read_many`` gave them, read here when not given."""
    from ds01.base import cgroups

    running = [i for i in infos if i.running]
    if readings is None:
        readings = cgroups.read_many([i.id for i in running])
    out = []
    for info in running:
        r = readings.get(info.id)
        if r is None:
            continue
        out.append(
            ContainerUsage(
                info.docker_name,
                info.name,
                info.user,
                info.uid,
                info.image,
                r.cpu_ns,
                r.memory_bytes,
                r.memory_limit_bytes,
                None if r.pids is None else len(r.pids),
                r.facts.started_at,
            )
        )
    return out


def managed_containers() -> list[ContainerInfo]:
    """Every ds01 container, running or not (one Docker listing)."""
    from ds01.base import engine

    return [i for i in engine.list_containers(None) if i.ds01_managed]


def active_rows(config: Config) -> list[Row]:
    """The ledger's active rows; none when no ledger exists (looking never creates one)."""
    from ds01.gpu.ledger import Ledger, peek

    return peek(Ledger.active, secure=config.security.secure) or []


@dataclass
class SlotView:
    id: str
    uuid: str
    gpu_index: int
    gpu_uuid: str
    gpu_instance_id: str  # "" for a whole GPU
    profile: str | None
    memory_bytes: int
    memory_used_percent: float
    state: str  # allocated | held | reserved | free
    holders: list[tuple[str, str, str]] = field(default_factory=list)  # (user, container, state)
    held_until: str | None = None
    reserved_for: str | None = None
    busy: bool | None = None
    activity: str = ""


def gpu_instance_id(slot_id: str) -> str:
    """The GPU-instance id in a MIG slot id (``1:3`` and ``1:3.1`` -> ``3``); "" for a whole GPU."""
    _gpu, sep, rest = slot_id.partition(":")
    return rest.split(".")[0] if sep else ""


def slots(
    config: Config,
    *,
    rows: list[Row] | None = None,
    activity: bool = False,
    now: Callable[[], float] = time.time,
    inv: Inventory | None = None,
    gpu_activity: dict[str, SlotActivity] | None = None,
) -> tuple[list[SlotView], list[str]]:
    """Every slot with its state and holders (``activity``: and whether its device is busy now).
    ``rows`` (the ledger's active rows), ``inv`` and ``gpu_activity``: what the caller has
    already read, read here when not given."""
    from ds01.gpu import facts, inputs, service

    rows = active_rows(config) if rows is None else rows
    inv = inputs.inventory(config) if inv is None else inv
    st = service.status(config, now=now, reconcile_first=False, inv=inv, rows=rows)
    gpu_uuid = {g.index: g.uuid for g in inv.gpus}
    act: dict[str, SlotActivity] = {}
    if activity:
        act = facts.slot_activity(config, inv) if gpu_activity is None else gpu_activity
    by_uuid: dict[str, list[Row]] = {}
    for r in rows:
        by_uuid.setdefault(r.uuid, []).append(r)
    out = []
    for s in st.slots:
        holders = [
            (r.user, r.container, "held" if r.stopped_at is not None else "allocated")
            for r in sorted(by_uuid.get(s["uuid"], []), key=lambda r: (r.user, r.container))
        ]
        a = act.get(s["uuid"])
        out.append(
            SlotView(
                s["id"],
                s["uuid"],
                s["gpu_index"],
                gpu_uuid.get(s["gpu_index"], ""),
                gpu_instance_id(s["id"]),
                s["profile"],
                s["memory_bytes"],
                next((sl.memory_used_percent for sl in inv.slots if sl.uuid == s["uuid"]), 0.0),
                s["state"],
                holders,
                s["held_until"],
                s["reserved_for"],
                a.busy if a else None,
                (a.detail or a.evidence) if a else "",
            )
        )
    return out, list(st.warnings)


@dataclass(frozen=True)
class UserTotals:
    user: str
    group: str
    slots: int
    max_slots: int | None
    containers: int
    running: int
    max_containers: int | None


def user_totals(
    config: Config, rows: list[Row], infos: list[ContainerInfo], users: set[str] | None = None
) -> list[UserTotals]:
    """Per user (everyone holding a slot or owning a container, plus ``users``): slots and
    containers against ``max_mig_instances`` and ``max_containers_per_user``."""
    from ds01.errors import Ds01Error
    from ds01.limits.resolver import resolve

    names = {r.user for r in rows} | {i.user for i in infos if i.user} | (users or set())
    out = []
    for user in sorted(names):
        try:
            r = resolve(config, user)
            group, max_slots, max_c = (
                r.group or "-",
                r.values.get("max_mig_instances"),
                r.values.get("max_containers_per_user"),
            )
        except Ds01Error:
            group, max_slots, max_c = "-", None, None
        mine = [i for i in infos if i.user == user]
        out.append(
            UserTotals(
                user,
                group,
                sum(1 for r in rows if r.user == user),
                max_slots,
                len(mine),
                sum(1 for i in mine if i.running),
                max_c,
            )
        )
    return out


def last_events(limit: int = 8, *, user: str | None = None, tail_bytes: int = 256 * 1024) -> list[dict[str, Any]]:
    """The newest ``limit`` events of ``events.jsonl`` (only ``user``'s when given), oldest first."""
    from ds01 import paths
    from ds01.gpu.events import JSONL_NAME

    path = paths.log_dir() / JSONL_NAME
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - tail_bytes))
            data = fh.read()
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    if size > tail_bytes and lines:
        lines = lines[1:]  # the first line may be cut
    out: list[dict[str, Any]] = []
    for line in reversed(lines):
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if user is not None and ev.get("user") != user:
            continue
        out.append(ev)
        if len(out) >= limit:
            break
    return list(reversed(out))


# -- one dashboard frame ---------------------------------------------------------------------------


def frame(
    config: Config,
    caller: Any,
    *,
    everyone: bool,
    prev_cpu: dict[str, tuple[float, int]] | None = None,
    now: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Everything one dashboard frame shows, as JSON-able data (``monitor dashboard --json``).

    ``everyone`` (admins): every container, user and event; otherwise the slot map (who holds
    each slot, as ``gpu status`` shows) and the caller's own containers, totals and events.
    ``prev_cpu`` (docker name -> (time, cpu_ns) of the previous frame) gives CPU % over the
    refresh interval; without it, the last lifecycle sample's CPU % is shown. The frame's own
    readings are returned under ``_cpu`` for the next one.
    """
    from ds01.base import cgroups
    from ds01.errors import Ds01Error
    from ds01.gpu import facts, inputs
    from ds01.gpu.ledger import latest_samples, peek
    from ds01.orchestrators import lifecycle
    from ds01.timefmt import iso

    t = now()
    warnings: list[str] = []
    # Each source is read once here and handed to what shows it.
    rows = active_rows(config)
    inv = inputs.inventory(config)
    gpu_activity = facts.slot_activity(config, inv)
    views, slot_warnings = slots(config, rows=rows, activity=True, now=now, inv=inv, gpu_activity=gpu_activity)
    warnings.extend(slot_warnings)
    infos = managed_containers()
    mine = [i for i in infos if everyone or (i.uid == caller.uid and i.user == caller.name)]
    readings = cgroups.read_many([i.id for i in mine if i.running])
    usage = container_usage(mine, readings)
    samples: dict[str, SampleRow] | None = None  # None: not read (the idle verdicts try again)
    if rows or infos:
        try:
            samples = peek(latest_samples, secure=config.security.secure) or {}
        except Ds01Error:
            samples = None
    try:
        verdicts = {
            r["container"]: r
            for r in lifecycle.monitor(
                config,
                caller,
                all_users=everyone,
                now=now,
                infos=[i for i in infos if i.running],
                rows=rows,
                gpu_activity=gpu_activity,
                readings=readings,
                samples=samples,
            )
        }
    except Ds01Error as exc:
        warnings.append(f"Idle verdicts not shown ({exc.message})")
        verdicts = {}
    cpu_now: dict[str, tuple[float, int]] = {}
    containers = []
    for c in usage:
        pct = None
        if c.cpu_ns is not None:
            cpu_now[c.docker_name] = (t, c.cpu_ns)
            before = (prev_cpu or {}).get(c.docker_name)
            if before is not None and t > before[0] and c.cpu_ns >= before[1]:
                pct = (c.cpu_ns - before[1]) / 1e9 / (t - before[0]) * 100.0
        if pct is None and samples and c.docker_name in samples:
            pct = samples[c.docker_name].cpu_percent
        v = verdicts.get(c.docker_name, {})
        containers.append(
            {
                "name": c.name,
                "container": c.docker_name,
                "user": c.user,
                "image": c.image,
                "cpu_percent": None if pct is None else round(pct, 1),
                "memory_bytes": c.memory_bytes,
                "memory_limit_bytes": c.memory_limit_bytes,
                "pids": c.pids,
                "uptime_seconds": None if c.started_at is None else max(0, int(t - c.started_at)),
                "gpu_slots": v.get("gpu_slots", []),
                "idle": v.get("idle"),
                "idle_since": v.get("idle_since"),
                "keep_alive_until": v.get("keep_alive_until"),
                "stop_in_seconds": v.get("stop_in_seconds"),
                "action": v.get("action"),
            }
        )
    own_rows = rows if everyone else [r for r in rows if r.user == caller.name]
    totals = user_totals(config, own_rows, mine, None if everyone else {caller.name})
    slot_list = []
    for slot in views:
        holders = [
            {"user": u, "container": c if everyone or u == caller.name else None, "state": s}
            for u, c, s in slot.holders
        ]
        slot_list.append(
            {
                "id": slot.id,
                "uuid": slot.uuid,
                "gpu_index": slot.gpu_index,
                "profile": slot.profile,
                "memory_bytes": slot.memory_bytes,
                "memory_used_percent": round(slot.memory_used_percent, 1),
                "state": slot.state,
                "holders": holders,
                "held_until": slot.held_until,
                "reserved_for": slot.reserved_for,
                "busy": slot.busy,
                "activity": slot.activity,
            }
        )
    return {
        "generated_at": iso(t),
        "everyone": everyone,
        "slots": slot_list,
        "containers": containers,
        "users": [
            {
                "user": u.user,
                "group": u.group,
                "slots": u.slots,
                "max_slots": u.max_slots,
                "containers": u.containers,
                "running": u.running,
                "max_containers": u.max_containers,
            }
            for u in totals
        ],
        "events": last_events(8, user=None if everyone else caller.name),
        "warnings": warnings,
        "_cpu": cpu_now,
    }
