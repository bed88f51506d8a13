"""Reconcile the ledger with Docker (SPEC §4): the pure planning half.

Docker is the truth for what exists; the ledger is the truth for who was promised what, and
for WHICH container: when ds01 creates a container for a row it records the container's
Docker id in the row. ``plan()`` compares active ledger rows with the containers Docker
listed and says what to change: release rows whose recorded container no longer exists (and
pending rows past their timeout), record stops and restarts that happened outside ds01, and
report conflicts without changing them.

A label never grants a slot. A container carrying ``ds01.gpu.*`` labels whose id no active
row records -- made with the Docker API directly, inherited from a Dockerfile ``LABEL``, or
re-imported from an export -- is reported as unrecorded and never adopted. The only id
reconcile itself records is that of a confirmed row written before rows kept ids, and only
for a container that already existed when the row was confirmed.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Sequence

from ds01.gpu.ledger import Row
from ds01.policy.labels import split_list
from ds01.records import dataclass, field

LABEL_USER = "ds01.user"
LABEL_SLOTS = "ds01.gpu.slots"
LABEL_UUIDS = "ds01.gpu.uuids"
LABEL_SEAL = "ds01.allocation"
MANAGED_FILTER = "aime.mlc.DS01_MANAGED=true"


@dataclass(frozen=True)
class ContainerView:
    name: str  # the full Docker name, "<name>._.<uid>"
    user: str
    slots: tuple[str, ...]
    uuids: tuple[str, ...]
    state: str
    id: str = ""  # the Docker container id
    created: float = 0.0  # when Docker created it (unix time)
    seal: str = ""  # its ds01.allocation label (Ledger.seal of the rows it was created for)

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused", "restarting")

    @property
    def stopped(self) -> bool:
        return self.state in ("exited", "dead")


def view_from_labels(
    name: str, state: str, labels: dict[str, str], *, id: str = "", created: float = 0.0
) -> ContainerView:
    return ContainerView(
        name,
        labels.get(LABEL_USER, ""),
        split_list(labels.get(LABEL_SLOTS)),
        split_list(labels.get(LABEL_UUIDS)),
        state,
        id,
        created,
    )


@dataclass(frozen=True)
class Conflict:
    container: str
    user: str
    slot: str
    reason: str
    kind: str = "mismatch"  # "mismatch": disagrees with its rows; "unrecorded": ds01 never created it


UNRECORDED = (
    "carries ds01 GPU labels (slot {slots}) but ds01 has no record of creating this container; "
    "its labels grant nothing (not adopted)"
)


@dataclass
class Plan:
    release: list[tuple[Row, str]] = field(default_factory=list)
    record: list[tuple[Row, str]] = field(default_factory=list)  # (row from before ids were kept, container id)
    confirm: list[tuple[Row, str]] = field(default_factory=list)  # (pending row, id of its sealed container)
    conflicts: list[Conflict] = field(default_factory=list)
    mark_stopped: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (
            self.release or self.record or self.confirm or self.conflicts or self.mark_stopped or self.restarted
        )


def _recorded_here(r: Row, c: ContainerView) -> bool:
    """Is ``c`` the container ds01 created for row ``r``?"""
    if r.container_id:
        return bool(c.id) and c.id == r.container_id
    # A row confirmed before rows kept ids: its container is the one that already existed when
    # it was confirmed (Docker's creation time is in whole seconds).
    return r.confirmed_at is not None and bool(c.id) and c.created <= r.confirmed_at + 1


def plan(
    rows: Sequence[Row],
    containers: Iterable[ContainerView],
    *,
    listed_at: float,
    pending_timeout: float,
    seal: Callable[[Row], str | None] | None = None,
) -> Plan:
    """What to change so the ledger agrees with Docker as listed at ``listed_at``.

    Nothing is adopted, so no slot is ever given to a container here. ``seal(row)`` gives the
    ``ds01.allocation`` label ds01 wrote on the container it created for a row: a pending row
    whose container carries it is confirmed (ds01 was interrupted between Docker's create and
    its own confirmation); a label without the right seal confirms nothing.
    """
    result = Plan()
    present = {c.name: c for c in containers}
    by_container: dict[str, list[Row]] = {}
    for r in rows:
        by_container.setdefault(r.container, []).append(r)
    recorded: set[str] = set()  # names of containers some active row records
    in_flight: set[str] = set()  # names with only pending rows (ds01 is creating them now)

    for name, own in by_container.items():
        c = present.get(name)
        mine: list[Row] = []
        for r in own:
            if r.pending:
                expected = seal(r) if (seal is not None and c is not None and c.seal and c.id) else None
                if expected and c is not None and hmac.compare_digest(expected, c.seal):
                    result.confirm.append((r, c.id))
                    mine.append(r)
                    continue
                # A pending row belongs to a container ds01 is creating right now; ds01 records the
                # container's id when it confirms. Past the timeout it is released, container or not.
                if r.allocated_at + pending_timeout <= listed_at:
                    why = (
                        "container never appeared (pending allocation timed out)"
                        if c is None
                        else "ds01 never recorded its container (pending allocation timed out)"
                    )
                    result.release.append((r, why))
                elif c is not None:
                    in_flight.add(name)
                continue
            if c is not None and _recorded_here(r, c):
                mine.append(r)
                if not r.container_id:
                    result.record.append((r, c.id))
                continue
            if r.confirmed_at is None or r.confirmed_at > listed_at:
                # Confirmed after the listing: the listing is older than its container.
                continue
            if c is None:
                result.release.append((r, "container no longer exists"))
            elif c.created + pending_timeout <= listed_at:
                # Another container took the name long ago (a recreation by ds01 records its
                # new id within moments of creating it).
                result.release.append((r, "container no longer exists (another container took its name)"))
        if c is None or not mine:
            continue
        recorded.add(name)
        if c.slots and set(c.slots) != {r.slot for r in mine}:
            result.conflicts.append(
                Conflict(
                    name,
                    c.user or mine[0].user,
                    ",".join(c.slots),
                    f"labels say slots {','.join(c.slots)} but the ledger promised {','.join(r.slot for r in mine)}",
                )
            )
        elif c.uuids and len(c.uuids) == len(c.slots):
            label_uuid = dict(zip(c.slots, c.uuids, strict=True))
            for r in mine:
                if label_uuid.get(r.slot, r.uuid) != r.uuid:
                    result.conflicts.append(
                        Conflict(
                            name,
                            c.user or r.user,
                            r.slot,
                            f"the container holds device {label_uuid[r.slot]} but slot {r.slot} is {r.uuid}",
                        )
                    )
        if c.stopped and any(r.stopped_at is None for r in mine):
            result.mark_stopped.append(name)
        if c.running and any(r.stopped_at is not None for r in mine):
            result.restarted.append(name)

    for name, c in present.items():
        if name in recorded or not c.slots:
            continue
        if name in in_flight:
            pend = {r.slot for r in by_container[name] if r.pending}
            if set(c.slots) != pend:
                result.conflicts.append(
                    Conflict(
                        name,
                        c.user,
                        ",".join(c.slots),
                        f"labels say slots {','.join(c.slots)} but the ledger promised {','.join(sorted(pend))}",
                    )
                )
            continue
        result.conflicts.append(
            Conflict(name, c.user, ",".join(c.slots), UNRECORDED.format(slots=",".join(c.slots)), kind="unrecorded")
        )
    return result
