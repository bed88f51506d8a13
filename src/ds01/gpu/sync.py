"""Reconcile applied: make the ledger agree with Docker.

``reconcile`` lists every container once, lets ``ds01.gpu.reconcile.plan`` decide (pure) and
writes what it decided to the ledger and the event logs; ``vanished_rows`` are rows holding a
device the inventory no longer offers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ds01.errors import DockerUnavailable
from ds01.gpu import events as _events
from ds01.gpu import reconcile as _reconcile
from ds01.gpu.inputs import inventory, ledger_for
from ds01.gpu.ledger import Ledger, Row
from ds01.gpu.model import Inventory
from ds01.records import dataclass, field, replace

if TYPE_CHECKING:
    from ds01.base.container_info import ContainerInfo
    from ds01.limits.config import Config


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


def _docker_views(listed: Sequence[ContainerInfo] | None = None) -> list[_reconcile.ContainerView]:
    """Every container (one sparse call, or ``listed``: every container as the caller listed
    them), with its Docker id: a row counts a container as its own only by the id recorded at
    create. Labels are read only from ds01-managed containers, and only to report what they claim."""
    if listed is None:
        from ds01.base.container_info import list_infos

        listed = list_infos(None, every=True)
    views = []
    for c in listed:
        labels = c.labels
        managed = labels.get("aime.mlc.DS01_MANAGED") == "true"
        view = _reconcile.view_from_labels(
            c.docker_name, c.state, labels if managed else {}, id=c.id, created=float(c.created)
        )
        if managed:
            view = replace(view, seal=labels.get(_reconcile.LABEL_SEAL, ""))
        views.append(view)
    return views


def reconcile(
    config: Config,
    *,
    dry_run: bool = False,
    strict: bool = True,
    ledger: Ledger | None = None,
    now: Callable[[], float] = time.time,
    inv: Inventory | None = None,
    listed: tuple[float, Sequence[ContainerInfo]] | None = None,
) -> ReconcileReport:
    """Make the ledger agree with Docker. ``strict=False`` (implicit runs) turns an unreachable
    Docker engine into a warning instead of an error, and reports conflicts as warnings
    rather than logging them again on every command. ``listed``: (when, every container) as
    the caller listed them a moment ago (the time taken before the listing was asked for)."""
    report = ReconcileReport(dry_run=dry_run)
    led = ledger_for(config, ledger)
    listed_at = now() if listed is None else listed[0]
    try:
        views = _docker_views(None if listed is None else listed[1])
    except DockerUnavailable as exc:
        if strict:
            raise
        report.warnings.append(f"Not reconciled with Docker ({exc.message})")
        return report
    timeout = config.policies.pending_allocation_timeout
    inv = inv or inventory(config)
    evs: list[_events.Event] = []

    def apply(conn: Any | None) -> None:
        rows = led.active(conn)
        p = _reconcile.plan(
            rows,
            views,
            listed_at=listed_at,
            pending_timeout=timeout,
            seal=lambda r: led.seal(r.container, r.user, r.allocated_at),
        )
        at = now()
        for row, why in p.release:
            report.released.append({"container": row.container, "user": row.user, "slot": row.slot, "reason": why})
            evs.append(_events.Event("release", row.user, row.container, row.slot, why, at))
            if conn is not None:
                led.release_row(conn, row.id, at=at, reason=why)
                led.record(
                    conn, at=at, event="release", user=row.user, container=row.container, slot=row.slot, reason=why
                )
        for row, cid in p.record:
            report.recorded.append(
                {"container": row.container, "user": row.user, "slot": row.slot, "container_id": cid[:12]}
            )
            if conn is not None:
                led.set_container_id(conn, row.id, cid)
        for row, cid in p.confirm:
            # ds01 created this container for the row (its seal says so) but was interrupted
            # before confirming: confirm it now, with the container's id.
            report.recorded.append(
                {
                    "container": row.container,
                    "user": row.user,
                    "slot": row.slot,
                    "container_id": cid[:12],
                    "confirmed": True,
                }
            )
            if conn is not None:
                led.set_confirmed(conn, row.container, at, container_id=cid, user=row.user)
        for c in p.conflicts:
            report.conflicts.append(
                {"container": c.container, "user": c.user, "slot": c.slot, "reason": c.reason, "kind": c.kind}
            )
            if strict:
                evs.append(_events.Event("conflict", c.user, c.container, c.slot, c.reason, at))
            else:
                report.warnings.append(f"conflict: {c.container} ({c.user}) {c.reason}; run `ds01 gpu reconcile`.")
        # Found stopped: the hold clock starts now; found running again: it stops.
        for names, listed, stopped_at, event, why in (
            (p.mark_stopped, report.marked_stopped, at, "mark-stopped", "found stopped"),
            (p.restarted, report.restarted, None, "restart", "found running"),
        ):
            for name in names:
                listed.append(name)
                if conn is not None:
                    led.set_stopped(conn, name, stopped_at)
                evs.extend(_events.Event(event, r.user, name, r.slot, why, at) for r in rows if r.container == name)

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
    return (
        f"{row.container} ({row.user}) holds slot {row.slot}, device {row.uuid}, which this server no "
        f"longer offers (MIG re-partitioned, or the GPU is gone or unreadable); release it with "
        f"`ds01 gpu release {row.container}` and allocate again."
    )
