"""Reconcile the ledger with Docker (SPEC §4): the pure planning half.

Docker is the truth for what exists; the ledger is the truth for who was promised what.
``plan()`` compares active ledger rows with the ds01-labelled containers Docker listed and
says what to change: release rows of vanished containers (and pending rows past their
timeout), confirm pending rows whose container now exists, adopt labelled containers that
hold a slot with no row, record stops and restarts that happened outside ds01, and report
conflicts (a container whose labels disagree with its rows) without changing them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ds01.gpu.ledger import Row

LABEL_USER = "ds01.user"
LABEL_SLOTS = "ds01.gpu.slots"
LABEL_UUIDS = "ds01.gpu.uuids"
MANAGED_FILTER = "aime.mlc.DS01_MANAGED=true"


@dataclass(frozen=True)
class ContainerView:
    name: str  # the full Docker name, "<name>._.<uid>"
    user: str
    slots: tuple[str, ...]
    uuids: tuple[str, ...]
    state: str

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused", "restarting")

    @property
    def stopped(self) -> bool:
        return self.state in ("exited", "dead")


def view_from_labels(name: str, state: str, labels: dict[str, str]) -> ContainerView:
    def split(v: str | None) -> tuple[str, ...]:
        return tuple(p.strip() for p in (v or "").split(",") if p.strip())

    return ContainerView(name, labels.get(LABEL_USER, ""), split(labels.get(LABEL_SLOTS)),
                         split(labels.get(LABEL_UUIDS)), state)


@dataclass(frozen=True)
class Adoption:
    container: str
    user: str
    slot: str
    uuid: str
    stopped: bool


@dataclass(frozen=True)
class Conflict:
    container: str
    user: str
    slot: str
    reason: str


@dataclass
class Plan:
    release: list[tuple[Row, str]] = field(default_factory=list)
    confirm: list[str] = field(default_factory=list)
    adopt: list[Adoption] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    mark_stopped: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.release or self.confirm or self.adopt or self.conflicts or self.mark_stopped
                    or self.restarted)


def plan(rows: Sequence[Row], containers: Iterable[ContainerView], *, listed_at: float,
         pending_timeout: float, exclusive: bool = True, slot_uuids: Mapping[str, str] | None = None) -> Plan:
    """What to change so the ledger agrees with Docker as listed at ``listed_at``.

    ``slot_uuids`` (slot id -> device UUID of the current inventory): a container is adopted
    only onto a slot the inventory offers, with the device the inventory has there.
    """
    result = Plan()
    present = {c.name: c for c in containers}
    by_container: dict[str, list[Row]] = {}
    for r in rows:
        by_container.setdefault(r.container, []).append(r)

    for name, own in by_container.items():
        c = present.get(name)
        if c is None:
            for r in own:
                if r.pending:
                    # A fresh pending row belongs to a container being created right now.
                    if r.allocated_at + pending_timeout <= listed_at:
                        result.release.append((r, "container never appeared (pending allocation timed out)"))
                elif r.confirmed_at is not None and r.confirmed_at <= listed_at:
                    # Only rows confirmed before the listing: a container confirmed after it is not
                    # missing, the listing is just older than it.
                    result.release.append((r, "container no longer exists"))
            continue
        if any(r.pending for r in own):
            result.confirm.append(name)
        if c.slots and set(c.slots) != {r.slot for r in own}:
            result.conflicts.append(Conflict(
                name, c.user or own[0].user, ",".join(c.slots),
                f"labels say slots {','.join(c.slots)} but the ledger promised {','.join(r.slot for r in own)}",
            ))
        elif c.uuids and len(c.uuids) == len(c.slots):
            label_uuid = dict(zip(c.slots, c.uuids, strict=True))
            for r in own:
                if label_uuid.get(r.slot, r.uuid) != r.uuid:
                    result.conflicts.append(Conflict(
                        name, c.user or r.user, r.slot,
                        f"the container holds device {label_uuid[r.slot]} but slot {r.slot} is {r.uuid}",
                    ))
        if c.stopped and any(r.stopped_at is None and not r.pending for r in own):
            result.mark_stopped.append(name)
        if c.running and any(r.stopped_at is not None for r in own):
            result.restarted.append(name)

    # A slot whose row is being released is free for adoption in the same pass.
    released_ids = {r.id for r, _ in result.release}
    # slot -> (container, user) holding it: ledger rows, then containers adopted in this pass,
    # so two unrecorded containers claiming one exclusive slot are not both adopted.
    holder_of = {r.slot: (r.container, r.user) for r in rows if r.id not in released_ids}
    for name, c in present.items():
        if name in by_container or not c.slots:
            continue
        uuids = c.uuids if len(c.uuids) == len(c.slots) else ("",) * len(c.slots)
        for slot, dev in zip(c.slots, uuids, strict=True):
            if slot_uuids is not None:
                if slot not in slot_uuids:
                    result.conflicts.append(Conflict(name, c.user, slot,
                                                     f"holds slot {slot}, which the GPU inventory does not offer"))
                    continue
                if dev and dev != slot_uuids[slot]:
                    result.conflicts.append(Conflict(
                        name, c.user, slot, f"holds device {dev}, but slot {slot} is {slot_uuids[slot]}"))
                    continue
                dev = slot_uuids[slot]
            other = holder_of.get(slot)
            if other is not None and exclusive:
                result.conflicts.append(Conflict(
                    name, c.user, slot,
                    f"holds slot {slot}, which the ledger gives to {other[0]} ({other[1]})",
                ))
                continue
            result.adopt.append(Adoption(name, c.user, slot, dev, c.stopped))
            holder_of.setdefault(slot, (name, c.user))
    return result
