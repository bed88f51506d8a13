"""A reservation window: some slots kept for one user from ``start`` to ``end`` (config
``reservation_start``/``reservation_end``/``reserved_gpus``); the allocator honours it."""

from __future__ import annotations

from datetime import UTC, datetime

from ds01.records import dataclass


@dataclass(frozen=True)
class Reservation:
    user: str
    start: datetime
    end: datetime
    slots: tuple[str, ...]
    reason: str | None = None

    def active(self, now: datetime) -> bool:
        """Whether ``now`` falls in [start, end). A naive ``now`` is taken as UTC."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        return self.start <= now < self.end
