"""The allocation decision (SPEC §4 steps 1-4) as one pure function over plain data.

``decide()`` takes the slots, the current holdings, the request (with the user's quota
fields), the reservations and the policy, and returns the slots to give or a refusal with
its class (``policy`` -> exit 3, ``capacity`` -> exit 4) and a reason a user understands.
It reads no file, no clock and no database: the service layer supplies all of that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from ds01.gpu.model import Slot, slot_sort_key
from ds01.limits.reservation import Reservation
from ds01.records import dataclass, field

STRATEGIES = ("least_allocated", "priority_aware", "round_robin")
RETRY_HINT = " Try again later, or use --wait."


@dataclass(frozen=True)
class Holding:
    """One active ledger row: a container promised a slot."""

    slot: str
    container: str
    user: str
    priority: int
    allocated_at: datetime
    stopped_at: datetime | None = None
    hold_until: datetime | None = None  # when a stopped container's hold ends (None: running or forever)
    uuid: str = ""  # the device the row holds: exclusivity is keyed on it (slot ids are only names)
    pending: bool = False  # allocated, but its container has not been created yet


@dataclass(frozen=True)
class Policy:
    strategy: str = "least_allocated"
    sharing: str = "exclusive"  # or "shared"
    max_containers_per_gpu: int = 1
    respect_reservations: bool = True


@dataclass(frozen=True)
class Request:
    user: str
    container: str
    count: int
    priority: int
    max_mig_instances: int | None = None  # None: unlimited
    max_gpus_per_container: int | None = 1  # None: unlimited
    allow_full_gpu: bool = True


@dataclass(frozen=True)
class Decision:
    slots: tuple[str, ...] = ()
    refused: str | None = None  # None | "usage" | "policy" | "capacity"
    reason: str = ""
    details: tuple[str, ...] = field(default_factory=tuple)
    existing: bool = False  # the container already held these slots (idempotent repeat)

    @property
    def ok(self) -> bool:
        return self.refused is None


def _fmt(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def holders_summary(holdings: Iterable[Holding], now: datetime) -> tuple[list[str], str | None]:
    """Lines "slot 0:1: alice (c1, running)" and the sentence on when the next hold expires."""
    lines = []
    expiring: list[tuple[datetime, Holding]] = []
    for h in sorted(holdings, key=lambda h: (slot_sort_key(h.slot), h.container)):
        if h.stopped_at is None and h.pending:
            state = "allocated, container not created yet"
        elif h.stopped_at is None:
            state = "running"
        elif h.hold_until is None:
            state = f"stopped since {_fmt(h.stopped_at)}, held indefinitely"
        else:
            state = f"stopped, held until {_fmt(h.hold_until)}"
            expiring.append((h.hold_until, h))
        lines.append(f"slot {h.slot}: {h.user} ({h.container}, {state})")
    nxt = None
    if expiring:
        when, h = min(expiring, key=lambda e: e[0])
        minutes = max(0, int((when - now).total_seconds() // 60))
        nxt = f"The next hold expires at {_fmt(when)} (slot {h.slot}, in about {minutes} min)."
    return lines, nxt


DEFAULT_POLICY = Policy()


def decide(
    slots: Sequence[Slot],
    holdings: Sequence[Holding],
    request: Request,
    *,
    policy: Policy = DEFAULT_POLICY,
    reservations: Sequence[Reservation] = (),
    now: datetime,
    last_slot: str | None = None,
    memory_used: Mapping[str, float] | None = None,
) -> Decision:
    """Choose ``request.count`` slots for ``request.container`` or explain why not."""
    if request.count < 1:
        return Decision(refused="usage", reason=f"Ask for at least one GPU slot (got {request.count}).")
    if policy.strategy not in STRATEGIES:
        return Decision(refused="usage", reason=f"Unknown allocation strategy {policy.strategy!r}.")

    # A row belongs to its user: another user's row for this name is never handed over.
    others_here = sorted({h.user for h in holdings if h.container == request.container and h.user != request.user})
    if others_here:
        return Decision(
            refused="policy",
            reason=f"The ledger holds GPU slot(s) for {request.container} for {', '.join(others_here)}, not for "
            f"{request.user}; an admin must release them first (`ds01 gpu release {request.container}`).",
        )
    # Holdings count against the DEVICE they hold (its UUID), whatever slot id it has now: a MIG
    # device recreated under another id stays taken, and a new device that took a vanished
    # device's id is free. Rows without a UUID (older ledgers) count by their slot id.
    id_of_uuid = {s.uuid: s.id for s in slots}
    uuid_of_id = {s.id: s.uuid for s in slots}

    def device(h: Holding) -> str:
        return h.uuid or uuid_of_id.get(h.slot, f"slot:{h.slot}")

    def current_id(h: Holding) -> str:
        return id_of_uuid.get(h.uuid, h.slot) if h.uuid else h.slot

    # An allocate repeated for the same container (a retry) gets what it already holds.
    mine_here = sorted({current_id(h) for h in holdings if h.container == request.container}, key=slot_sort_key)
    if mine_here:
        return Decision(slots=tuple(mine_here), existing=True, reason="already allocated")

    # Step 1: quotas.
    if request.max_gpus_per_container is not None and request.count > request.max_gpus_per_container:
        return Decision(
            refused="policy",
            reason=f"{request.user} may use at most {request.max_gpus_per_container} GPU slot(s) per container "
            f"(asked for {request.count}); ask for fewer.",
        )
    user_held = [h for h in holdings if h.user == request.user]
    if request.max_mig_instances == 0:
        return Decision(
            refused="policy",
            reason=f"GPU use is not allowed for {request.user} (max_mig_instances: 0); ask an admin if you "
            "need a GPU, or create the container without one.",
        )
    if request.max_mig_instances is not None and len(user_held) + request.count > request.max_mig_instances:
        if request.count > request.max_mig_instances:
            # Releasing would not help: the request alone is over the quota.
            return Decision(
                refused="policy",
                reason=f"{request.user} may hold at most {request.max_mig_instances} GPU slot(s) at once "
                f"(asked for {request.count}); ask for fewer.",
            )
        lines, _ = holders_summary(user_held, now)
        need = len(user_held) + request.count - request.max_mig_instances
        return Decision(
            refused="policy",
            reason=f"{request.user} already holds {len(user_held)} of {request.max_mig_instances} allowed GPU "
            f"slot(s); release {'one' if need == 1 else need} (`container retire NAME` or `gpu release "
            "CONTAINER`) first.",
            details=tuple(lines),
        )

    # Step 3 (capacity): which slots could take one more container at all.
    by_device: dict[str, list[Holding]] = {}
    for h in holdings:
        by_device.setdefault(device(h), []).append(h)
    limit = 1 if policy.sharing == "exclusive" else max(1, policy.max_containers_per_gpu)
    open_slots = [s for s in slots if len(by_device.get(s.uuid, [])) < limit]

    # allow_full_gpu: whole GPUs are not for this user.
    usable = open_slots if request.allow_full_gpu else [s for s in open_slots if not s.whole_gpu]

    # Step 2: reservations active now.
    active = [r for r in reservations if r.active(now)] if policy.respect_reservations else []
    reserved_for: dict[str, Reservation] = {}
    for r in active:
        for sid in r.slots:
            reserved_for.setdefault(sid, r)
    blocked = [s for s in usable if s.id in reserved_for and reserved_for[s.id].user != request.user]
    candidates = [s for s in usable if s not in blocked]

    if len(candidates) < request.count:
        if len(usable) >= request.count and blocked:
            r = reserved_for[blocked[0].id]
            ids = ", ".join(s.id for s in blocked)
            why = f" ({r.reason})" if r.reason else ""
            return Decision(
                refused="policy",
                reason=f"The free slot(s) {ids} are reserved for {r.user} until {_fmt(r.end)}{why}; "
                "try again after the reservation ends.",
            )
        if not request.allow_full_gpu and len(open_slots) >= request.count:
            return Decision(
                refused="policy",
                reason=f"Only whole GPUs are free and {request.user} may not use a whole GPU (allow_full_gpu: "
                "false); wait for a MIG slice to free up.",
            )
        lines, nxt = holders_summary(holdings, now)
        total = len(slots)
        if total == 0:
            return Decision(
                refused="capacity",
                reason="This server offers no GPU slot at all; `ds01 gpu status` "
                "says why (no GPU found, or MIG enabled without instances).",
            )
        if candidates:
            reason = f"Not enough free GPU slots for {request.user}: asked for {request.count}, {len(candidates)} free."
        elif policy.sharing == "exclusive":
            reason = f"No free GPU slot for {request.user}: all {total} slot(s) are taken."
        else:
            reason = (
                f"No free GPU slot for {request.user}: all {total} slot(s) already have "
                f"{limit} container(s) (max_containers_per_gpu)."
            )
        if nxt:
            reason += " " + nxt
        else:
            reason += RETRY_HINT
        return Decision(refused="capacity", reason=reason, details=tuple(lines))

    # Step 3 (choice): score each candidate, lowest wins.
    order = sorted(slots, key=lambda s: slot_sort_key(s.id))
    position = {s.id: i for i, s in enumerate(order)}
    start = 0
    if policy.strategy == "round_robin" and last_slot in position:
        start = position[last_slot] + 1
    mem = memory_used or {}

    def score(s: Slot) -> tuple:
        on_slot = by_device.get(s.uuid, [])
        diff = (max(h.priority for h in on_slot) - request.priority) if on_slot else 0
        if policy.strategy != "priority_aware":
            # Only priority_aware prefers sharing with lower-priority users over an emptier slot.
            diff = max(0, diff)
        own_reserved = 0 if (s.id in reserved_for and reserved_for[s.id].user == request.user) else 1
        rotated = (position[s.id] - start) % len(order)
        mem_pct = mem.get(s.id, s.memory_used_percent)
        if policy.strategy == "round_robin":
            return (own_reserved, diff, len(on_slot), rotated)
        return (own_reserved, diff, len(on_slot), mem_pct, position[s.id])

    chosen = sorted(candidates, key=score)[: request.count]
    return Decision(slots=tuple(s.id for s in chosen), reason="allocated")
