"""Housekeeping: release the holds of stopped containers past their user's ``gpu_hold_after_stop``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ds01.errors import DockerUnavailable, OperationFailed, UsageError
from ds01.gpu import events as _events
from ds01.gpu.inputs import Holds, ledger_for
from ds01.gpu.ledger import Ledger, Row
from ds01.gpu.sync import ReconcileReport, reconcile
from ds01.records import dataclass
from ds01.timefmt import iso

if TYPE_CHECKING:
    from ds01.limits.config import Config


@dataclass
class StaleReport:
    dry_run: bool
    released: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    reconcile: ReconcileReport

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "released": self.released,
            "failed": self.failed,
            "reconcile": self.reconcile.to_json(),
        }


def release_stale(
    config: Config,
    *,
    dry_run: bool = False,
    remove_container: Callable[[str, str], None] | None = None,
    ledger: Ledger | None = None,
    now: Callable[[], float] = time.time,
) -> StaleReport:
    """Release holds of stopped containers past their user's ``gpu_hold_after_stop``.

    ``remove_container(container, user)`` is called for each expired hold BEFORE its slot
    is released (a stopped container keeps its device request, so it must be gone — its
    definition saved by the container unit — before the slot goes to someone else). If it
    raises a ds01 error, that hold is kept and reported under ``failed``. Idempotent.
    """
    led = ledger_for(config, ledger)
    rec = reconcile(config, dry_run=dry_run, strict=False, ledger=led, now=now)
    holds = Holds(config)
    t = now()
    expired: dict[str, list[Row]] = {}
    for r in led.active():
        until = holds.until(r)
        if until is not None and until <= t:
            expired.setdefault(r.container, []).append(r)
    released: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for container, rows in sorted(expired.items()):
        entry = {
            "container": container,
            "user": rows[0].user,
            "slots": [r.slot for r in rows],
            "stopped_at": iso(min(r.stopped_at or t for r in rows)),
            "reason": "hold after stop expired",
        }
        if dry_run:
            released.append(entry)
            continue
        if remove_container is not None:
            try:
                remove_container(container, rows[0].user)
            except (OperationFailed, UsageError, DockerUnavailable) as exc:
                failed.append({**entry, "reason": exc.message})
                continue
        done: list[Row] = []
        with led.write() as conn:
            at = now()
            for r in led.rows_for(container, conn):
                if r.stopped_at is None:
                    continue  # restarted meanwhile: keep it
                led.release_row(conn, r.id, at=at, reason="hold after stop expired")
                led.record(
                    conn,
                    at=at,
                    event="release-stale",
                    user=r.user,
                    container=container,
                    slot=r.slot,
                    reason="hold after stop expired",
                )
                done.append(r)
        # The event log says what the transaction released, not what was read before it.
        _events.write(
            [_events.Event("release-stale", r.user, container, r.slot, "hold after stop expired", at) for r in done]
        )
        if done:
            released.append({**entry, "slots": [r.slot for r in done]})
    return StaleReport(dry_run, released, failed, rec)
