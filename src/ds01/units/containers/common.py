"""Helpers shared by the container units: whose container it is, and how holds read."""

from __future__ import annotations

from pathlib import Path

from ds01 import identity as _identity
from ds01.errors import NotFound
from ds01.policy.labels import split_list

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ds01.base.container_spec import ContainerInfo
    from ds01.identity import Identity
    from ds01.limits.config import Config


def owner_identity(user: str, uid: int | None, gid: int | None = None) -> Identity:
    """The identity of a container's owner (for an admin acting on someone else's container)."""
    known = _identity.lookup(user)
    if known is not None and (uid is None or known.uid == uid):
        return known
    if uid is None:
        raise NotFound(f"The owner {user!r} of this container is unknown on this host.")
    return _identity.Identity(name=user, uid=uid, gid=gid if gid is not None else uid, home=Path("/home") / user)


def owner_of(info: ContainerInfo, caller: Identity) -> Identity:
    if info.uid == caller.uid and info.user == caller.name:
        return caller
    return owner_identity(info.user, info.uid)


def hold_seconds(config: Config, user: str) -> int | None:
    from ds01.limits.resolver import resolve

    return resolve(config, user).values.get("gpu_hold_after_stop")


def human_duration(seconds: int | None) -> str:
    if seconds is None:
        return "indefinitely"
    from ds01.limits.units import format_duration

    return format_duration(int(seconds))


def gpu_slots_label(labels: dict[str, Any]) -> list[str]:
    return list(split_list(str(labels.get("ds01.gpu.slots") or "")))
