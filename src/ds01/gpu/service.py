"""The GPU operations the CLI and the container units call.

Each function reads the configuration it is given, the inventory and the ledger, and
returns plain results; it raises ``ds01.errors`` exceptions for refusals (``PolicyRefused``
exit 3, ``NoCapacity`` exit 4). Every state change is written to the ledger's history and to
the event logs. ``status``, ``allocate`` and ``release_stale`` reconcile with Docker first.

Container units call: ``allocate`` (then ``confirm(container, container_id=…)`` once the
container exists -- the Docker id recorded there is what reconcile trusts, never labels -- and
``release`` if creating it failed), ``mark_stopped`` on stop, ``clear_stopped`` on
start/run, ``release`` on removal, and ``release_stale(remove_container=…)`` from cron.

Rows carry their user: ``release``, ``mark_stopped`` and ``clear_stopped`` take ``user`` to act
only on that user's rows (the commands pass the caller unless an admin), and ``allocate``
refuses a container name that belongs to another user (``NAME._.UID``, SPEC §5).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ds01.errors import DockerUnavailable, NoCapacity, OperationFailed, PolicyRefused, UsageError
from ds01.gpu import events as _events
from ds01.gpu import reconcile as _reconcile
from ds01.gpu.allocator import RETRY_HINT, Decision, Holding, Policy, Request, ReservationWindow, decide
from ds01.gpu.ledger import Ledger, Row
from ds01.gpu.model import GpuProcess, Inventory, SlotActivity, slot_sort_key

if TYPE_CHECKING:
    from ds01.limits.config import Config

POLL_SECONDS = 2.0


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- configuration -> allocator inputs -------------------------------------------------------

def check_user_name(user: str) -> None:
    """Refuse (exit 2) a user name that no login could have: it would be recorded in the ledger
    and the pipe-delimited log as is."""
    from ds01.limits.schema import NAME_FORMS, USER_NAME_RE

    if not USER_NAME_RE.match(user):
        raise UsageError(f"{user!r} is not a user name; expected {NAME_FORMS}.")


@dataclass(frozen=True)
class UserQuota:
    user: str
    priority: int
    max_mig_instances: int | None
    max_gpus_per_container: int | None
    allow_full_gpu: bool
    gpu_hold_after_stop: int | None  # seconds; None = hold indefinitely


def quota(config: Config, user: str) -> UserQuota:
    from ds01.limits.resolver import resolve

    r = resolve(config, user)
    v = r.values
    return UserQuota(
        user=user,
        priority=int(r.priority),
        max_mig_instances=v.get("max_mig_instances"),
        max_gpus_per_container=v.get("max_gpus_per_container", 1),
        allow_full_gpu=bool(v.get("allow_full_gpu", True)),
        gpu_hold_after_stop=v.get("gpu_hold_after_stop"),
    )


def policy_of(config: Config) -> Policy:
    g = config.gpu_allocation
    return Policy(strategy=g.strategy, sharing=g.sharing, max_containers_per_gpu=g.max_containers_per_gpu,
                  respect_reservations=g.respect_reservations)


def reservations_of(config: Config) -> list[ReservationWindow]:
    return [ReservationWindow(r.user, r.start, r.end, tuple(r.slots), r.reason) for r in config.reservations()]


def _secure_now() -> bool:
    """Whether the configuration in force says ``security.mode: secure`` (for the calls that are
    given no config); an unreadable config counts as secure, so modes are never loosened on a guess."""
    from ds01 import paths

    path = paths.config_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return True
    return _secure_at(str(path), mtime)


@functools.lru_cache(maxsize=4)
def _secure_at(path: str, mtime: int) -> bool:
    from pathlib import Path

    from ds01.errors import Ds01Error
    from ds01.limits.config import load_config

    try:
        return load_config(Path(path)).security.secure
    except Ds01Error:
        return True


def _ledger(config: Config, ledger: Ledger | None) -> Ledger:
    return ledger or Ledger(secure=config.security.secure)


def owner_uid(user: str) -> int | None:
    """The uid of login ``user`` (None when the host has no such login)."""
    from ds01.identity import lookup

    ident = lookup(user)
    return ident.uid if ident is not None else None


def inventory(config: Config) -> Inventory:
    from ds01.gpu import inventory as _inventory

    g = config.gpu_allocation
    return _inventory.load(g.inventory, g.topology, enable_mig=g.enable_mig)


class _Holds:
    """Each holder's ``gpu_hold_after_stop``, resolved once per user per command."""

    def __init__(self, config: Config):
        self.config = config
        self._cache: dict[str, int | None] = {}

    def seconds(self, user: str) -> int | None:
        if user not in self._cache:
            try:
                self._cache[user] = quota(self.config, user).gpu_hold_after_stop
            except UsageError:
                self._cache[user] = None  # an unknown user keeps their hold until an admin acts
        return self._cache[user]

    def until(self, row: Row) -> float | None:
        if row.stopped_at is None:
            return None
        hold = self.seconds(row.user)
        return None if hold is None else row.stopped_at + hold


def holdings(rows: list[Row], holds: _Holds) -> list[Holding]:
    return [
        Holding(slot=r.slot, container=r.container, user=r.user, priority=r.priority,
                allocated_at=datetime.fromtimestamp(r.allocated_at, UTC), stopped_at=_dt(r.stopped_at),
                hold_until=_dt(holds.until(r)), uuid=r.uuid or "", pending=r.pending)
        for r in rows
    ]


# -- reconcile --------------------------------------------------------------------------------

@dataclass
class ReconcileReport:
    released: list[dict[str, Any]] = field(default_factory=list)
    recorded: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    marked_stopped: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    # rows holding a device the inventory no longer has (MIG re-partitioned, GPU gone or unreadable)
    vanished: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "released": self.released,
            "recorded": self.recorded,
            "conflicts": self.conflicts,
            "marked_stopped": self.marked_stopped,
            "restarted": self.restarted,
            "vanished": self.vanished,
            "warnings": self.warnings,
        }

    def changed(self) -> bool:
        return bool(self.released or self.recorded or self.marked_stopped or self.restarted)


def _docker_views() -> list[_reconcile.ContainerView]:
    from ds01.base.docker_client import list_containers

    # Every container (one sparse call), with its Docker id: a row counts a container as its own
    # only by the id recorded at create. Labels are read only from ds01-managed containers, and
    # only to report what they claim.
    views = []
    for c in list_containers(None):
        labels = c.labels
        managed = labels.get("aime.mlc.DS01_MANAGED") == "true"
        view = _reconcile.view_from_labels(c.name, c.state, labels if managed else {}, id=c.id,
                                           created=float(c.created))
        if managed:
            view = replace(view, seal=labels.get(_reconcile.LABEL_SEAL, ""))
        views.append(view)
    return views


def reconcile(config: Config, *, dry_run: bool = False, strict: bool = True,
              ledger: Ledger | None = None, now: Callable[[], float] = time.time,
              inv: Inventory | None = None) -> ReconcileReport:
    """Make the ledger agree with Docker. ``strict=False`` (implicit runs) turns an unreachable
    Docker engine into a warning instead of an error, and reports conflicts as warnings
    rather than logging them again on every command."""
    report = ReconcileReport(dry_run=dry_run)
    led = _ledger(config, ledger)
    listed_at = now()
    try:
        views = _docker_views()
    except DockerUnavailable as exc:
        if strict:
            raise
        report.warnings.append(f"Not reconciled with Docker ({exc.message})")
        return report
    exclusive = config.gpu_allocation.sharing == "exclusive"
    timeout = config.policies.pending_allocation_timeout
    inv = inv or inventory(config)
    inv_uuid = {sl.id: sl.uuid for sl in inv.slots}
    evs: list[_events.Event] = []

    def apply(conn: Any | None) -> None:
        rows = led.active(conn)
        p = _reconcile.plan(rows, views, listed_at=listed_at, pending_timeout=timeout, exclusive=exclusive,
                            slot_uuids=inv_uuid,
                            seal=lambda r: led.seal(r.container, r.user, r.allocated_at))
        at = now()
        for row, why in p.release:
            report.released.append({"container": row.container, "user": row.user, "slot": row.slot, "reason": why})
            evs.append(_events.Event("release", row.user, row.container, row.slot, why, at))
            if conn is not None:
                led.release_row(conn, row.id, at=at, reason=why)
                led.record(conn, at=at, event="release", user=row.user, container=row.container, slot=row.slot,
                           reason=why)
        for row, cid in p.record:
            report.recorded.append({"container": row.container, "user": row.user, "slot": row.slot,
                                    "container_id": cid[:12]})
            if conn is not None:
                led.set_container_id(conn, row.id, cid)
        for row, cid in p.confirm:
            # ds01 created this container for the row (its seal says so) but was interrupted
            # before confirming: confirm it now, with the container's id.
            report.recorded.append({"container": row.container, "user": row.user, "slot": row.slot,
                                    "container_id": cid[:12], "confirmed": True})
            if conn is not None:
                led.set_confirmed(conn, row.container, at, container_id=cid, user=row.user)
        for c in p.conflicts:
            report.conflicts.append({"container": c.container, "user": c.user, "slot": c.slot, "reason": c.reason,
                                     "kind": c.kind})
            if strict:
                evs.append(_events.Event("conflict", c.user, c.container, c.slot, c.reason, at))
            else:
                report.warnings.append(f"conflict: {c.container} ({c.user}) {c.reason}; run `ds01 gpu reconcile`.")
        for name in p.mark_stopped:
            report.marked_stopped.append(name)
            if conn is not None:
                led.set_stopped(conn, name, at)
            for r in rows:
                if r.container == name:
                    evs.append(_events.Event("mark-stopped", r.user, name, r.slot, "found stopped", at))
        for name in p.restarted:
            report.restarted.append(name)
            if conn is not None:
                led.set_stopped(conn, name, None)
            for r in rows:
                if r.container == name:
                    evs.append(_events.Event("restart", r.user, name, r.slot, "found running", at))

    if dry_run:
        apply(None)
    else:
        with led.write() as conn:
            apply(conn)
        report.warnings.extend(_events.write(evs))
    for row in vanished_rows(inv, led.active()):
        report.vanished.append({"container": row.container, "user": row.user, "slot": row.slot, "uuid": row.uuid})
        if strict:
            report.warnings.append(vanished_sentence(row))
    return report


def vanished_rows(inv: Inventory, rows: list[Row]) -> list[Row]:
    """Active rows whose device (by UUID) is not in the inventory: its MIG instance was destroyed or
    recreated, or its GPU is gone or unreadable. They keep holding nothing usable until released."""
    present = {s.uuid for s in inv.slots}
    return [r for r in rows if r.uuid and r.uuid not in present]


def vanished_sentence(row: Row) -> str:
    return (f"{row.container} ({row.user}) holds slot {row.slot}, device {row.uuid}, which this server no "
            f"longer offers (MIG re-partitioned, or the GPU is gone or unreadable); release it with "
            f"`ds01 gpu release {row.container}` and allocate again.")


# -- status -----------------------------------------------------------------------------------

@dataclass
class StatusReport:
    backend: str
    slots: list[dict[str, Any]]
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "slots": self.slots, "warnings": self.warnings}


def status(config: Config, *, ledger: Ledger | None = None, now: Callable[[], float] = time.time,
           reconcile_first: bool = True) -> StatusReport:
    led = _ledger(config, ledger)
    warnings: list[str] = []
    inv = inventory(config)
    warnings.extend(inv.warnings)
    if reconcile_first:
        warnings.extend(reconcile(config, strict=False, ledger=led, now=now, inv=inv).warnings)
    rows = led.active()
    holds = _Holds(config)
    t = now()
    now_dt = datetime.fromtimestamp(t, UTC)
    active_res = [r for r in reservations_of(config) if r.active(now_dt)] \
        if config.gpu_allocation.respect_reservations else []
    reserved_for = {sid: r for r in active_res for sid in r.slots}
    # Rows belong to the device they hold (UUID), shown under its current slot id.
    uuid_of_id = {s.id: s.uuid for s in inv.slots}
    by_device: dict[str, list[Row]] = {}
    for r in rows:
        by_device.setdefault(r.uuid or uuid_of_id.get(r.slot, f"slot:{r.slot}"), []).append(r)
    out = []
    for s in inv.slots:
        own = by_device.get(s.uuid, [])
        held_until = None
        if not own:
            state = "reserved" if s.id in reserved_for else "free"
        elif all(r.stopped_at is not None for r in own):
            state = "held"
            untils = [holds.until(r) for r in own]
            held_until = None if any(u is None for u in untils) else iso(max(u for u in untils if u is not None))
        else:
            state = "allocated"
        res = reserved_for.get(s.id)
        out.append({
            "id": s.id,
            "uuid": s.uuid,
            "gpu_index": s.gpu_index,
            "profile": s.profile,
            "memory_bytes": s.memory_bytes,
            "shared_memory_with": list(s.shared_memory_with),
            "state": state,
            "containers": [r.container for r in own],
            "users": sorted({r.user for r in own}),
            "held_until": held_until,
            "reserved_for": res.user if res else None,
        })
    present = {s.uuid for s in inv.slots}
    for r in sorted(rows, key=lambda r: (slot_sort_key(r.slot), r.container)):
        if r.uuid and r.uuid not in present:
            warnings.append(vanished_sentence(r))
        elif not r.uuid and r.slot not in uuid_of_id:
            warnings.append(f"The ledger holds slot {r.slot}, which the inventory no longer offers "
                            f"(container {r.container}).")
    return StatusReport(inv.backend, out, warnings)


# -- allocate ---------------------------------------------------------------------------------

@dataclass
class AllocationResult:
    user: str
    container: str
    slots: list[str]
    uuids: list[str]
    existing: bool
    warnings: list[str]
    # The value of the ds01.allocation label the container must carry (Ledger.seal): reconcile
    # confirms a pending allocation whose container carries it. None when no key is readable.
    seal: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"user": self.user, "container": self.container, "slots": self.slots, "uuids": self.uuids,
                "existing": self.existing, "warnings": self.warnings}


def _refusal(decision: Decision, waited: float | None = None) -> Exception:
    cls = {"policy": PolicyRefused, "capacity": NoCapacity}.get(decision.refused or "", UsageError)
    reason = decision.reason
    if waited is not None and decision.refused == "capacity":
        from ds01.limits.units import format_duration

        reason = reason.removesuffix(RETRY_HINT) + f" None freed within {format_duration(int(waited))}."
    return cls(reason, details=list(decision.details))


def _waiting_helps(decision: Decision, slots: Any, held: list[Holding], request: Request, pol: Policy,
                   t: float) -> bool:
    """Whether a refusal is one that waiting can cure: no free slot (capacity), or free slots the
    user may not take now (whole GPUs for a MIG-only user, reserved slots) while the request
    would fit once other users' containers, or the reservations, are gone. A refusal over the
    user's own quota or a wrong request is not."""
    if decision.refused == "capacity":
        return True
    if decision.refused != "policy":
        return False
    own = [h for h in held if h.user == request.user or h.container == request.container]
    relaxed = decide(slots, own, request, policy=pol, reservations=(), now=datetime.fromtimestamp(t, UTC))
    return relaxed.ok


def allocate(config: Config, user: str, container: str, count: int, priority: int | None = None, *,
             wait: float | None = None, ledger: Ledger | None = None, now: Callable[[], float] = time.time,
             sleep: Callable[[float], None] = time.sleep, reconcile_first: bool = True,
             on_wait: Callable[[str], None] | None = None, uid: int | None = None) -> AllocationResult:
    """Give ``container`` ``count`` slots for ``user`` or raise the refusal (exit 3 or 4).

    The choice and its recording happen in one ``BEGIN IMMEDIATE`` transaction. ``wait``:
    seconds to keep polling while the refusal is "no capacity"; ``on_wait(reason)`` is called
    once when the waiting starts (the caller tells the user why nothing happens yet).
    ``priority`` overrides the configured one (the command allows that to admins only).
    ``uid``: the user's uid (default: their login's); the container must be named for it.
    """
    from ds01.policy import ownership

    check_user_name(user)
    if not container or "|" in container or "," in container:
        raise UsageError(f"{container!r} is not a container name ds01 can record.")
    if priority is not None and not 1 <= priority <= 100:
        raise UsageError(f"Priority must be between 1 and 100 (got {priority}).")
    refusal = ownership.row_refusal(user, uid if uid is not None else owner_uid(user), container)
    if refusal:
        raise PolicyRefused(refusal)
    led = _ledger(config, ledger)
    warnings: list[str] = []
    # Inventory warnings (MIG without instances, pending modes) belong to `gpu status`, not every allocation;
    # a GPU NVML cannot read is named, since the choice is made without it.
    inv = inventory(config)
    warnings.extend(f"GPU {g.index} is unreadable ({g.problem or 'lost'}); its slots are not offered."
                    for g in inv.gpus if g.lost)
    if reconcile_first:
        warnings.extend(reconcile(config, strict=False, ledger=led, now=now, inv=inv).warnings)
    q = quota(config, user)
    prio = q.priority if priority is None else priority
    request = Request(user=user, container=container, count=count, priority=prio,
                      max_mig_instances=q.max_mig_instances, max_gpus_per_container=q.max_gpus_per_container,
                      allow_full_gpu=q.allow_full_gpu)
    pol = policy_of(config)
    reservations = reservations_of(config)
    holds = _Holds(config)
    deadline = None if wait is None else now() + wait
    while True:
        with led.write() as conn:
            rows = led.active(conn)
            t = now()
            decision = decide(inv.slots, holdings(rows, holds), request, policy=pol, reservations=reservations,
                              now=datetime.fromtimestamp(t, UTC), last_slot=led.last_allocated_slot(conn))
            if decision.ok and not decision.existing:
                for sid in decision.slots:
                    slot = inv.slot(sid)
                    assert slot is not None
                    led.insert(conn, slot=sid, uuid=slot.uuid, container=container, user=user, priority=prio,
                               at=t, exclusive=pol.sharing == "exclusive")
                    led.record(conn, at=t, event="allocate", user=user, container=container, slot=sid)
        if decision.ok:
            if not decision.existing:
                warnings.extend(_events.write([
                    _events.Event("allocate", user, container, sid, f"priority {prio}", t) for sid in decision.slots
                ]))
            uuids = [slot.uuid if (slot := inv.slot(s)) else "" for s in decision.slots]
            granted = t if not decision.existing else min(
                (r.allocated_at for r in rows if r.container == container and r.user == user), default=t)
            return AllocationResult(user, container, list(decision.slots), uuids, decision.existing, warnings,
                                    seal=led.seal(container, user, granted))
        if deadline is not None and now() < deadline and _waiting_helps(
                decision, inv.slots, holdings(rows, holds), request, pol, t):
            if on_wait is not None:
                on_wait(decision.reason.removesuffix(RETRY_HINT))
                on_wait = None
            sleep(min(POLL_SECONDS, max(0.0, deadline - now())))
            if reconcile_first:
                reconcile(config, strict=False, ledger=led, now=now, inv=inv)
            continue
        _events.write([_events.Event("refuse", user, container, "", decision.reason, now(),
                                     extra={"refused": decision.refused})])
        raise _refusal(decision, wait)


# -- release, stop, restart, confirm ----------------------------------------------------------

def _change(container: str, event: str, reason: str, op: Callable[[Any, Ledger, float], list[Row]],
            ledger: Ledger | None, now: Callable[[], float]) -> list[Row]:
    led = ledger or Ledger(secure=_secure_now())
    with led.write() as conn:
        t = now()
        rows = op(conn, led, t)
        for r in rows:
            led.record(conn, at=t, event=event, user=r.user, container=r.container, slot=r.slot, reason=reason)
    _events.write([_events.Event(event, r.user, r.container, r.slot, reason, t) for r in rows])
    return rows


def release(container: str, *, reason: str = "released", ledger: Ledger | None = None,
            now: Callable[[], float] = time.time, user: str | None = None) -> list[Row]:
    """Release every slot ``container`` holds -- only ``user``'s rows when given (idempotent:
    nothing held -> empty list)."""
    def op(conn: Any, led: Ledger, t: float) -> list[Row]:
        rows = led.rows_for(container, conn, user=user)
        for r in rows:
            led.release_row(conn, r.id, at=t, reason=reason)
        return rows

    return _change(container, "release", reason, op, ledger, now)


def mark_stopped(container: str, *, ledger: Ledger | None = None, now: Callable[[], float] = time.time,
                 user: str | None = None) -> list[Row]:
    """Start the hold-after-stop clock (idempotent: an earlier stop time is kept)."""
    def op(conn: Any, led: Ledger, t: float) -> list[Row]:
        rows = [r for r in led.rows_for(container, conn, user=user) if r.stopped_at is None]
        led.set_stopped(conn, container, t, user=user)
        return rows

    return _change(container, "mark-stopped", "container stopped", op, ledger, now)


def clear_stopped(container: str, *, ledger: Ledger | None = None, now: Callable[[], float] = time.time,
                  user: str | None = None) -> list[Row]:
    """The container runs again inside its hold: keep the slot, stop the clock."""
    def op(conn: Any, led: Ledger, t: float) -> list[Row]:
        rows = [r for r in led.rows_for(container, conn, user=user) if r.stopped_at is not None]
        led.set_stopped(conn, container, None, user=user)
        return rows

    return _change(container, "restart", "container started again", op, ledger, now)


def confirm(container: str, *, container_id: str | None = None, user: str | None = None,
            ledger: Ledger | None = None, now: Callable[[], float] = time.time) -> int:
    """Mark the container's pending rows as having their container (call right after create)
    and record ``container_id``, the Docker id of the container just created, on its rows:
    reconcile counts a container as holding its slots only through that id. Returns how many
    pending rows were confirmed."""
    led = ledger or Ledger(secure=_secure_now())
    with led.write() as conn:
        return led.set_confirmed(conn, container, now(), container_id=container_id, user=user)


def holder_of(container: str, *, ledger: Ledger | None = None) -> str | None:
    """The user the ledger promised ``container``'s slots to (None: nothing held)."""
    rows = (ledger or Ledger()).rows_for(container)
    return rows[0].user if rows else None


def holders_of(container: str, *, ledger: Ledger | None = None) -> list[str]:
    """Every user with an active row for ``container`` (normally one)."""
    return sorted({r.user for r in (ledger or Ledger()).rows_for(container)})


# -- user status ------------------------------------------------------------------------------

def user_status(config: Config, user: str, *, ledger: Ledger | None = None,
                now: Callable[[], float] = time.time) -> dict[str, Any]:
    check_user_name(user)
    led = _ledger(config, ledger)
    q = quota(config, user)
    holds = _Holds(config)
    rows = [r for r in led.active() if r.user == user]
    allocations = []
    for r in sorted(rows, key=lambda r: (r.container, slot_sort_key(r.slot))):
        state = "held" if r.stopped_at is not None else ("pending" if r.pending else "allocated")
        allocations.append({
            "slot": r.slot, "uuid": r.uuid, "container": r.container, "priority": r.priority, "state": state,
            "allocated_at": iso(r.allocated_at), "stopped_at": iso(r.stopped_at),
            "held_until": iso(holds.until(r)),
        })
    return {"user": user, "priority": q.priority, "count": len(rows), "max_mig_instances": q.max_mig_instances,
            "max_gpus_per_container": q.max_gpus_per_container, "allocations": allocations}


# -- release-stale ----------------------------------------------------------------------------

@dataclass
class StaleReport:
    dry_run: bool
    released: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    reconcile: ReconcileReport

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "released": self.released, "failed": self.failed,
                "reconcile": self.reconcile.to_json()}


def release_stale(config: Config, *, dry_run: bool = False,
                  remove_container: Callable[[str, str], None] | None = None,
                  ledger: Ledger | None = None, now: Callable[[], float] = time.time) -> StaleReport:
    """Release holds of stopped containers past their user's ``gpu_hold_after_stop``.

    ``remove_container(container, user)`` is called for each expired hold BEFORE its slot
    is released (a stopped container keeps its device request, so it must be gone — its
    definition saved by the container unit — before the slot goes to someone else). If it
    raises a ds01 error, that hold is kept and reported under ``failed``. Idempotent.
    """
    led = _ledger(config, ledger)
    rec = reconcile(config, dry_run=dry_run, strict=False, ledger=led, now=now)
    holds = _Holds(config)
    t = now()
    expired: dict[str, list[Row]] = {}
    for r in led.active():
        until = holds.until(r)
        if until is not None and until <= t:
            expired.setdefault(r.container, []).append(r)
    released: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for container, rows in sorted(expired.items()):
        entry = {"container": container, "user": rows[0].user, "slots": [r.slot for r in rows],
                 "stopped_at": iso(min(r.stopped_at or t for r in rows)), "reason": "hold after stop expired"}
        if dry_run:
            released.append(entry)
            continue
        if remove_container is not None:
            try:
                remove_container(container, rows[0].user)
            except (OperationFailed, UsageError, DockerUnavailable) as exc:
                failed.append({**entry, "reason": exc.message})
                continue
        with led.write() as conn:
            at = now()
            for r in led.rows_for(container, conn):
                if r.stopped_at is None:
                    continue  # restarted meanwhile: keep it
                led.release_row(conn, r.id, at=at, reason="hold after stop expired")
                led.record(conn, at=at, event="release-stale", user=r.user, container=container, slot=r.slot,
                           reason="hold after stop expired")
        _events.write([_events.Event("release-stale", r.user, container, r.slot, "hold after stop expired", at)
                       for r in rows])
        released.append(entry)
    return StaleReport(dry_run, released, failed, rec)


# -- facts for other services -----------------------------------------------------------------

def compute_capability(config: Config) -> tuple[int, int] | None:
    """The compute capability of the first GPU that reports one (the image catalog picks the
    framework build's architecture from it); None when no GPU says."""
    for gpu in inventory(config).gpus:
        if gpu.compute_capability is not None and not gpu.lost:
            return gpu.compute_capability
    return None


def gpu_processes(config: Config) -> list[GpuProcess]:
    """Compute processes on every GPU and MIG device (host PIDs); none on a simulated inventory."""
    if config.gpu_allocation.inventory != "nvml":
        return []
    from ds01.gpu import inventory as _inventory

    return _inventory.nvml_processes()


def uses_device_requests(config: Config) -> bool:
    """Whether containers get Docker device requests (``gpu_allocation.device_requests``;
    ``auto``: only with the NVML inventory, so simulated slots run on hosts without GPUs)."""
    mode = config.gpu_allocation.device_requests
    if mode == "auto":
        return config.gpu_allocation.inventory == "nvml"
    return mode == "always"


def preview_allocation(config: Config, user: str, container: str, count: int,
                       priority: int | None = None) -> tuple[Decision, Inventory]:
    """What ``allocate`` would decide now, recording nothing (dry runs). A missing ledger is
    read as empty and is not created."""
    from ds01 import paths
    from ds01.gpu.ledger import DB_NAME

    inv = inventory(config)
    q = quota(config, user)
    db = paths.state_dir() / DB_NAME
    rows: list[Row] = []
    last = None
    if db.exists():
        led = Ledger(db)
        try:
            rows, last = led.active(), led.last_allocated_slot()
        finally:
            led.close()
    request = Request(user=user, container=container, count=count,
                      priority=q.priority if priority is None else priority,
                      max_mig_instances=q.max_mig_instances, max_gpus_per_container=q.max_gpus_per_container,
                      allow_full_gpu=q.allow_full_gpu)
    decision = decide(inv.slots, holdings(rows, _Holds(config)), request, policy=policy_of(config),
                      reservations=reservations_of(config), now=datetime.now(UTC), last_slot=last)
    return decision, inv


# -- activity (lifecycle) ---------------------------------------------------------------------

def slot_activity(config: Config, inv: Inventory) -> dict[str, SlotActivity]:
    """Whether each slot's device is busy now, keyed by device UUID (``SlotActivity``).

    Simulated inventories read the topology's ``busy`` list and the activity file in the state
    folder; NVML inventories ask the driver (utilisation for whole GPUs, GPM or the instance's
    processes for MIG). A backend that cannot say gives ``busy=None``: callers never read that
    as idle.
    """
    from ds01 import paths
    from ds01.gpu import inventory as _inventory

    if config.gpu_allocation.inventory == "simulated":
        topology = config.gpu_allocation.topology
        if topology is None:
            return {s.uuid: SlotActivity(s.uuid, None, "unavailable", "no topology") for s in inv.slots}
        return _inventory.simulated_activity(inv, topology, paths.state_dir())
    nvml_activity = getattr(_inventory, "nvml_activity", None)
    if nvml_activity is None:
        return {s.uuid: SlotActivity(s.uuid, None, "unavailable", "no activity reader") for s in inv.slots}
    return nvml_activity(inv)
