"""Helpers shared by the `ds01 gpu` commands: ownership checks and wait durations."""

from __future__ import annotations

from ds01.errors import PolicyRefused, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ds01.cli.context import App


def require_self_or_admin(app: App, user: str, what: str) -> None:
    """Users act on their own allocations; admins (config ``admins`` or root) on anyone's."""
    if user != app.identity.name and not app.is_admin():
        raise PolicyRefused(f"Only an admin can {what} for another user ({user}).")


def row_owner_filter(app: App, container: str, what: str) -> str | None:
    """The user whose rows of ``container`` the caller may act on: None (all) for an admin,
    otherwise the caller -- and only for a container named for the caller's uid.

    Refuses (exit 3) when the container holds rows none of which are the caller's to touch
    (another user's GPU); a container holding nothing is left to the command to report.
    """
    from ds01.gpu import service
    from ds01.policy import ownership

    if app.is_admin():
        return None
    me = app.identity
    holders = service.holders_of(container)
    mine = [
        h
        for h in holders
        if ownership.may_act_on_row(row_user=h, container=container, caller=me.name, caller_uid=me.uid, admin=False)
    ]
    if holders and not mine:
        raise PolicyRefused(f"Only an admin can {what} for a container that is not yours ({container}).")
    return me.name


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
