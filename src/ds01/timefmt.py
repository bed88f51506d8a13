"""The one timestamp form ds01 writes: ISO 8601 in UTC with a ``Z`` (``2026-03-01T12:00:00Z``).

Used for ``--json`` output, labels, event logs and the records ds01 keeps. ``iso(ts)`` takes a
Unix time or an aware ``datetime``; ``iso(None)`` is None, so optional times pass straight
through; ``now_iso()`` is the current time.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import overload
else:

    def overload(func):  # the variants below are for type checkers; typing stays unloaded
        return func


FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@overload
def iso(ts: float | datetime) -> str: ...
@overload
def iso(ts: None) -> None: ...  # noqa: F811 - an overload (ruff knows only typing's)
def iso(ts: float | datetime | None) -> str | None:  # noqa: F811
    if ts is None:
        return None
    if isinstance(ts, (int, float)):
        return time.strftime(FORMAT, time.gmtime(ts))
    from datetime import UTC

    return ts.astimezone(UTC).strftime(FORMAT)


def now_iso() -> str:
    return time.strftime(FORMAT, time.gmtime())
