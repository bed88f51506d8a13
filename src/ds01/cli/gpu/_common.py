"""Helpers shared by the `ds01 gpu` commands: ownership checks and wait durations."""

from __future__ import annotations

from ds01.cli.app import App
from ds01.errors import PolicyRefused, UsageError


def require_self_or_admin(app: App, user: str, what: str) -> None:
    """Users act on their own allocations; admins (config ``admins`` or root) on anyone's."""
    if user != app.identity.name and not app.is_admin():
        raise PolicyRefused(f"Only an admin can {what} for another user ({user}).")


def require_admin(app: App, what: str) -> None:
    if not app.is_admin():
        raise PolicyRefused(f"Only an admin can {what}; ask one of: {', '.join(sorted(app.config.admins)) or 'root'}.")


def parse_wait(value: str | None) -> float | None:
    if value is None:
        return None
    from ds01.limits.units import LimitsValueError, parse_duration

    try:
        return float(parse_duration(value, key="--wait"))
    except LimitsValueError as exc:
        raise UsageError(str(exc)) from exc
