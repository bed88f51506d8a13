"""What the allocator is given: the configuration, the users' quotas and holds, the inventory.

``quota`` (a user's resolved GPU limits), ``policy_of`` and ``reservations_of`` (the allocator's
policy and reservation windows), ``inventory``, ``Holds`` (each holder's ``gpu_hold_after_stop``)
and ``holdings`` (ledger rows as the allocator sees them), ``ledger_for`` and ``secure_now``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from ds01.errors import UsageError
from ds01.records import dataclass

if TYPE_CHECKING:
    from datetime import datetime

    from ds01.gpu.allocator import Holding, Policy
    from ds01.gpu.ledger import Ledger, Row
    from ds01.gpu.model import Inventory
    from ds01.limits.config import Config
    from ds01.limits.reservation import Reservation

# The allocator, the ledger (sqlite3), the model and datetime are imported by the functions that
# use them.


def _dt(ts: float | None) -> datetime | None:
    from datetime import UTC, datetime

    return None if ts is None else datetime.fromtimestamp(ts, UTC)


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
    from ds01.gpu.allocator import Policy

    g = config.gpu_allocation
    return Policy(
        strategy=g.strategy,
        sharing=g.sharing,
        max_containers_per_gpu=g.max_containers_per_gpu,
        respect_reservations=g.respect_reservations,
    )


def reservations_of(config: Config) -> list[Reservation]:
    return config.reservations()


def secure_now() -> bool:
    """Whether the configuration in force says ``security.mode: secure`` (for the calls that are
    given no config). An invalid file is judged by the last valid config, as the commands that
    run on it are (``limits.last_good``); with neither, it counts as secure, so modes are never
    loosened on a guess."""
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
    from ds01.limits import last_good
    from ds01.limits.config import load_config

    try:
        return load_config(Path(path)).security.secure
    except Ds01Error:
        good = last_good.recall(Path(path))
        return True if good is None else good.config.security.secure


def ledger_for(config: Config, ledger: Ledger | None) -> Ledger:
    if ledger is not None:
        return ledger
    from ds01.gpu.ledger import Ledger

    return Ledger(secure=config.security.secure)


def owner_uid(user: str) -> int | None:
    """The uid of login ``user`` (None when the host has no such login)."""
    from ds01.identity import lookup

    ident = lookup(user)
    return ident.uid if ident is not None else None


def inventory(config: Config) -> Inventory:
    from ds01.gpu import inventory as _inventory

    g = config.gpu_allocation
    return _inventory.load(g.inventory, g.topology, enable_mig=g.enable_mig)


class Holds:
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


def holdings(rows: list[Row], holds: Holds) -> list[Holding]:
    from datetime import UTC, datetime

    from ds01.gpu.allocator import Holding

    return [
        Holding(
            slot=r.slot,
            container=r.container,
            user=r.user,
            priority=r.priority,
            allocated_at=datetime.fromtimestamp(r.allocated_at, UTC),
            stopped_at=_dt(r.stopped_at),
            hold_until=_dt(holds.until(r)),
            uuid=r.uuid or "",
            pending=r.pending,
        )
        for r in rows
    ]
