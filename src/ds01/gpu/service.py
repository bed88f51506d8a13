"""The GPU operations the CLI and the container units call.

Each function reads the configuration it is given, the inventory and the ledger, and
returns plain results; it raises ``ds01.errors`` exceptions for refusals (``PolicyRefused``
exit 3, ``NoCapacity`` exit 4). Every state change is written to the ledger's history and to
the event logs. ``status`` and ``allocate`` reconcile with Docker first.

Container units call: ``allocate`` (then ``confirm(container, container_id=…)`` once the
container exists -- the Docker id recorded there is what reconcile trusts, never labels -- and
``release`` if creating it failed), ``mark_stopped`` on stop, ``clear_stopped`` on
start/run, ``release`` on removal, and ``ds01.gpu.housekeeping.release_stale(remove_container=…)``
from cron.

Beside it: ``ds01.gpu.inputs`` (configuration, quotas, holds and inventory as the allocator's
inputs), ``ds01.gpu.sync`` (reconcile applied to the ledger), ``ds01.gpu.housekeeping``
(releasing expired holds) and ``ds01.gpu.facts`` (activity, processes, compute capability).

Rows carry their user: ``release``, ``mark_stopped`` and ``clear_stopped`` take ``user`` to act
only on that user's rows (the commands pass the caller unless an admin), and ``allocate``
refuses a container name that belongs to another user (``NAME._.UID``, SPEC §5).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ds01.errors import NoCapacity, PolicyRefused, UsageError
from ds01.gpu import events as _events
from ds01.gpu.allocator import RETRY_HINT, Decision, Holding, Policy, Request, decide
from ds01.gpu.inputs import (
    Holds,
    check_user_name,
    holdings,
    inventory,
    ledger_for,
    owner_uid,
    policy_of,
    quota,
    reservations_of,
    secure_now,
)
from ds01.gpu.ledger import Ledger, Row
from ds01.gpu.model import Inventory, slot_sort_key
from ds01.gpu.sync import reconcile, vanished_sentence
from ds01.records import dataclass
from ds01.timefmt import iso

if TYPE_CHECKING:
    from ds01.limits.config import Config

POLL_SECONDS = 2.0


# -- status -----------------------------------------------------------------------------------


@dataclass
class StatusReport:
    backend: str
    slots: list[dict[str, Any]]
    warnings: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "slots": self.slots, "warnings": self.warnings}


def status(
    config: Config,
    *,
    ledger: Ledger | None = None,
    now: Callable[[], float] = time.time,
    reconcile_first: bool = True,
    inv: Inventory | None = None,
    rows: list[Row] | None = None,
) -> StatusReport:
    """Each slot's state and holders. ``inv`` and ``rows`` (the ledger's active rows): what the
    caller has already read this moment, read here when not given; ``rows`` only without
    ``reconcile_first``, which changes them."""
    if rows is not None and reconcile_first:
        raise ValueError("status: rows read before a reconcile would be stale")
    warnings: list[str] = []
    inv = inventory(config) if inv is None else inv
    warnings.extend(inv.warnings)
    if rows is None:
        led = ledger_for(config, ledger)
        if reconcile_first:
            warnings.extend(reconcile(config, strict=False, ledger=led, now=now, inv=inv).warnings)
        rows = led.active()
    holds = Holds(config)
    t = now()
    now_dt = datetime.fromtimestamp(t, UTC)
    active_res = (
        [r for r in reservations_of(config) if r.active(now_dt)] if config.gpu_allocation.respect_reservations else []
    )
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
        out.append(
            {
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
            }
        )
    present = {s.uuid for s in inv.slots}
    for r in sorted(rows, key=lambda r: (slot_sort_key(r.slot), r.container)):
        if r.uuid and r.uuid not in present:
            warnings.append(vanished_sentence(r))
        elif not r.uuid and r.slot not in uuid_of_id:
            warnings.append(
                f"The ledger holds slot {r.slot}, which the inventory no longer offers (container {r.container})."
            )
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
        return {
            "user": self.user,
            "container": self.container,
            "slots": self.slots,
            "uuids": self.uuids,
            "existing": self.existing,
            "warnings": self.warnings,
        }


def _refusal(decision: Decision, waited: float | None = None) -> Exception:
    cls = {"policy": PolicyRefused, "capacity": NoCapacity}.get(decision.refused or "", UsageError)
    reason = decision.reason
    if waited is not None and decision.refused == "capacity":
        from ds01.limits.units import format_duration

        reason = reason.removesuffix(RETRY_HINT) + f" None freed within {format_duration(int(waited))}."
    return cls(reason, details=list(decision.details))


def _waiting_helps(
    decision: Decision, slots: Any, held: list[Holding], request: Request, pol: Policy, t: float
) -> bool:
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


def allocate(
    config: Config,
    user: str,
    container: str,
    count: int,
    priority: int | None = None,
    *,
    wait: float | None = None,
    ledger: Ledger | None = None,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    reconcile_first: bool = True,
    on_wait: Callable[[str], None] | None = None,
    uid: int | None = None,
) -> AllocationResult:
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
    led = ledger_for(config, ledger)
    warnings: list[str] = []
    # Inventory warnings (MIG without instances, pending modes) belong to `gpu status`, not every allocation;
    # a GPU NVML cannot read is named, since the choice is made without it.
    inv = inventory(config)
    warnings.extend(
        f"GPU {g.index} is unreadable ({g.problem or 'lost'}); its slots are not offered." for g in inv.gpus if g.lost
    )
    if reconcile_first:
        warnings.extend(reconcile(config, strict=False, ledger=led, now=now, inv=inv).warnings)
    q = quota(config, user)
    prio = q.priority if priority is None else priority
    request = Request(
        user=user,
        container=container,
        count=count,
        priority=prio,
        max_mig_instances=q.max_mig_instances,
        max_gpus_per_container=q.max_gpus_per_container,
        allow_full_gpu=q.allow_full_gpu,
    )
    pol = policy_of(config)
    reservations = reservations_of(config)
    holds = Holds(config)
    deadline = None if wait is None else now() + wait
    while True:
        with led.write() as conn:
            rows = led.active(conn)
            t = now()
            decision = decide(
                inv.slots,
                holdings(rows, holds),
                request,
                policy=pol,
                reservations=reservations,
                now=datetime.fromtimestamp(t, UTC),
                last_slot=led.last_allocated_slot(conn),
            )
            if decision.ok and not decision.existing:
                for sid in decision.slots:
                    slot = inv.slot(sid)
                    assert slot is not None
                    led.insert(
                        conn,
                        slot=sid,
                        uuid=slot.uuid,
                        container=container,
                        user=user,
                        priority=prio,
                        at=t,
                        exclusive=pol.sharing == "exclusive",
                    )
                    led.record(conn, at=t, event="allocate", user=user, container=container, slot=sid)
        if decision.ok:
            if not decision.existing:
                warnings.extend(
                    _events.write(
                        [
                            _events.Event("allocate", user, container, sid, f"priority {prio}", t)
                            for sid in decision.slots
                        ]
                    )
                )
            uuids = [slot.uuid if (slot := inv.slot(s)) else "" for s in decision.slots]
            granted = (
                t
                if not decision.existing
                else min((r.allocated_at for r in rows if r.container == container and r.user == user), default=t)
            )
            return AllocationResult(
                user,
                container,
                list(decision.slots),
                uuids,
                decision.existing,
                warnings,
                seal=led.seal(container, user, granted),
            )
        if (
            deadline is not None
            and now() < deadline
            and _waiting_helps(decision, inv.slots, holdings(rows, holds), request, pol, t)
        ):
            if on_wait is not None:
                on_wait(decision.reason.removesuffix(RETRY_HINT))
                on_wait = None
            sleep(min(POLL_SECONDS, max(0.0, deadline - now())))
            if reconcile_first:
                reconcile(config, strict=False, ledger=led, now=now, inv=inv)
            continue
        _events.write(
            [_events.Event("refuse", user, container, "", decision.reason, now(), extra={"refused": decision.refused})]
        )
        raise _refusal(decision, wait)


# -- release, stop, restart, confirm ----------------------------------------------------------


@contextmanager
def _opened(ledger: Ledger | None) -> Iterator[Ledger]:
    """``ledger`` as given (the caller closes it), or the ledger opened for this call alone, with
    the modes the configuration in force asks for, and closed after it."""
    if ledger is not None:
        yield ledger
        return
    with Ledger(secure=secure_now()) as led:
        yield led


def _change(
    container: str,
    event: str,
    reason: str,
    op: Callable[[Any, Ledger, float], list[Row]],
    ledger: Ledger | None,
    now: Callable[[], float],
) -> list[Row]:
    with _opened(ledger) as led, led.write() as conn:
        t = now()
        rows = op(conn, led, t)
        for r in rows:
            led.record(conn, at=t, event=event, user=r.user, container=r.container, slot=r.slot, reason=reason)
    _events.write([_events.Event(event, r.user, r.container, r.slot, reason, t) for r in rows])
    return rows


def release(
    container: str,
    *,
    reason: str = "released",
    ledger: Ledger | None = None,
    now: Callable[[], float] = time.time,
    user: str | None = None,
) -> list[Row]:
    """Release every slot ``container`` holds -- only ``user``'s rows when given (idempotent:
    nothing held -> empty list)."""

    def op(conn: Any, led: Ledger, t: float) -> list[Row]:
        rows = led.rows_for(container, conn, user=user)
        for r in rows:
            led.release_row(conn, r.id, at=t, reason=reason)
        return rows

    return _change(container, "release", reason, op, ledger, now)


def mark_stopped(
    container: str, *, ledger: Ledger | None = None, now: Callable[[], float] = time.time, user: str | None = None
) -> list[Row]:
    """Start the hold-after-stop clock (idempotent: an earlier stop time is kept)."""

    def op(conn: Any, led: Ledger, t: float) -> list[Row]:
        rows = [r for r in led.rows_for(container, conn, user=user) if r.stopped_at is None]
        led.set_stopped(conn, container, t, user=user)
        return rows

    return _change(container, "mark-stopped", "container stopped", op, ledger, now)


def clear_stopped(
    container: str, *, ledger: Ledger | None = None, now: Callable[[], float] = time.time, user: str | None = None
) -> list[Row]:
    """The container runs again inside its hold: keep the slot, stop the clock."""

    def op(conn: Any, led: Ledger, t: float) -> list[Row]:
        rows = [r for r in led.rows_for(container, conn, user=user) if r.stopped_at is not None]
        led.set_stopped(conn, container, None, user=user)
        return rows

    return _change(container, "restart", "container started again", op, ledger, now)


def confirm(
    container: str,
    *,
    container_id: str | None = None,
    user: str | None = None,
    ledger: Ledger | None = None,
    now: Callable[[], float] = time.time,
) -> int:
    """Mark the container's pending rows as having their container (call right after create)
    and record ``container_id``, the Docker id of the container just created, on its rows:
    reconcile counts a container as holding its slots only through that id. Returns how many
    pending rows were confirmed."""
    with _opened(ledger) as led, led.write() as conn:
        return led.set_confirmed(conn, container, now(), container_id=container_id, user=user)


def holder_of(container: str, *, ledger: Ledger | None = None) -> str | None:
    """The user the ledger promised ``container``'s slots to (None: nothing held)."""
    with _opened(ledger) as led:
        rows = led.rows_for(container)
    return rows[0].user if rows else None


def holders_of(container: str, *, ledger: Ledger | None = None) -> list[str]:
    """Every user with an active row for ``container`` (normally one)."""
    with _opened(ledger) as led:
        return sorted({r.user for r in led.rows_for(container)})


# -- user status ------------------------------------------------------------------------------


def user_status(
    config: Config, user: str, *, ledger: Ledger | None = None, now: Callable[[], float] = time.time
) -> dict[str, Any]:
    check_user_name(user)
    led = ledger_for(config, ledger)
    q = quota(config, user)
    holds = Holds(config)
    rows = [r for r in led.active() if r.user == user]
    allocations = []
    for r in sorted(rows, key=lambda r: (r.container, slot_sort_key(r.slot))):
        state = "held" if r.stopped_at is not None else ("pending" if r.pending else "allocated")
        allocations.append(
            {
                "slot": r.slot,
                "uuid": r.uuid,
                "container": r.container,
                "priority": r.priority,
                "state": state,
                "allocated_at": iso(r.allocated_at),
                "stopped_at": iso(r.stopped_at),
                "held_until": iso(holds.until(r)),
            }
        )
    return {
        "user": user,
        "priority": q.priority,
        "count": len(rows),
        "max_mig_instances": q.max_mig_instances,
        "max_gpus_per_container": q.max_gpus_per_container,
        "allocations": allocations,
    }


def preview_allocation(
    config: Config, user: str, container: str, count: int, priority: int | None = None
) -> tuple[Decision, Inventory]:
    """What ``allocate`` would decide now, recording nothing (dry runs). A missing ledger is
    read as empty and is not created."""
    from ds01.gpu.ledger import peek

    inv = inventory(config)
    q = quota(config, user)
    rows, last = peek(lambda led: (led.active(), led.last_allocated_slot())) or ([], None)
    request = Request(
        user=user,
        container=container,
        count=count,
        priority=q.priority if priority is None else priority,
        max_mig_instances=q.max_mig_instances,
        max_gpus_per_container=q.max_gpus_per_container,
        allow_full_gpu=q.allow_full_gpu,
    )
    decision = decide(
        inv.slots,
        holdings(rows, Holds(config)),
        request,
        policy=policy_of(config),
        reservations=reservations_of(config),
        now=datetime.now(UTC),
        last_slot=last,
    )
    return decision, inv
