"""Where an allocation's priority comes from: the configuration, never the caller (SPEC §9).

Every user's priority is resolved from ``resource-limits.yaml`` (defaults, group, user
override). The PRIORITY argument of ``gpu allocate`` is an admin's tool (config ``admins``,
or root not through sudo) for a one-off override. A non-admin passing a priority is refused
(exit 3), except the value the configuration already gives them, which changes nothing and
keeps scripts written for ``gpu allocate USER CONTAINER MAX_GPUS PRIORITY`` working.
"""

from __future__ import annotations

from ds01.errors import PolicyRefused


def effective(configured: int, requested: int | None, *, admin: bool) -> int:
    """The priority an allocation is recorded with, or ``PolicyRefused``."""
    if requested is None or requested == configured:
        return configured
    if admin:
        return requested
    raise PolicyRefused(
        f"Priorities come from the configuration (yours is {configured}); only an admin may allocate at "
        f"priority {requested}. Leave PRIORITY out to use yours."
    )
