"""Existing containers: find, inspect, check before a start, start, stop, remove.

What every command that acts on a container it did not just make needs, and nothing of the
create path (``base.engine`` builds containers and re-exports these): a ``mlc start`` imports
this module, not the engine's planning, archives and image code. Every request is one
``engine_api`` request over the socket; a 404, or a 409 while the same change is under way, is
"already done" (``docker_client.gone_ok``), and a stop's 304 a success.
"""

from __future__ import annotations

from ds01.base import docker_client as dc
from ds01.base import engine_api
from ds01.base.container_info import ContainerInfo, list_infos
from ds01.base.names import SEPARATOR, docker_name
from ds01.base.sparse import request_timeout
from ds01.errors import NotFound, PolicyRefused, UsageError
from ds01.policy import containers as hardening_policy
from ds01.policy import mounts as mount_policy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from ds01.identity import Identity


def inspect_container(cid: str, name: str | None = None) -> dict[str, Any]:
    """The engine's inspect data of a container; a missing one is NotFound (exit 2) naming ``name``."""
    label = name or cid[:12]
    return dict(
        engine_api.request_json(
            "GET",
            f"/containers/{cid}/json",
            action=f"inspect container {label}",
            missing=f"Container {label!r} has gone.",
        )
        or {}
    )


def list_containers(owner: str | None, *, running_only: bool = False, size: bool = False) -> list[ContainerInfo]:
    """mlc containers of ``owner`` (a login; None = every user's), ds01's and AIME's, one API call
    (``container_info.list_infos``)."""
    return list_infos(owner, running_only=running_only, size=size)


def find_own(name: str, user: str, uid: int) -> ContainerInfo | None:
    """The container called ``name`` (display name or ``name._.uid``) of the user ``user`` (uid
    ``uid``), or None."""
    wanted = name if SEPARATOR in name else docker_name(name, uid)
    for info in list_containers(user):
        if info.docker_name in (wanted, name):
            return info
    return None


def find_container(name: str, owner: Identity, *, any_user: bool = False) -> ContainerInfo:
    """The caller's container called ``name`` (display name or ``name._.uid``); else NotFound.

    ``any_user`` (admins): another user's container by its Docker name, or by a display name
    that only one user has. Someone else's container is otherwise "not found for you".
    """
    mine = find_own(name, owner.name, owner.uid)
    if mine is not None:
        return mine
    if any_user:
        everyone = list_containers(None)
        hits = [i for i in everyone if i.docker_name == name] or [i for i in everyone if i.name == name]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise UsageError(
                f"Several users have a container named {name!r}: "
                f"{', '.join(h.docker_name for h in hits)}; give the full name."
            )
    raise NotFound(f"No container named {name!r} for you; see `ds01 mlc list`.")


def _still_there(cid: str, *, running: bool | None = None) -> Callable[[], bool]:
    """For ``dc.gone_ok``: whether the container is still there (and, when ``running`` is given,
    in that run state), so a 409 was a refusal rather than the same change already under way."""

    def check() -> bool:
        try:
            attrs = engine_api.request_json("GET", f"/containers/{cid}/json", action="look up the container")
        except dc.EngineNotFound:
            return False
        state = (attrs or {}).get("State") or {}
        if state.get("Status") in ("removing", "dead"):
            return False
        return running is None or bool(state.get("Running")) == running

    return check


def bind_sources(attrs: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """``(host path, read-write)`` of every bind mount Docker will resolve when it starts the container."""
    host = attrs.get("HostConfig") or {}
    found: list[tuple[str, bool]] = []
    for bind in host.get("Binds") or []:
        parts = str(bind).split(":")
        if parts and parts[0].startswith("/"):
            found.append((parts[0], not (len(parts) > 2 and "ro" in parts[2].split(","))))
    for mount in host.get("Mounts") or []:
        if mount.get("Type") == "bind" and mount.get("Source"):
            found.append((str(mount["Source"]), not mount.get("ReadOnly")))
    return found


def _owner_ids(info: ContainerInfo, owner: Identity | None) -> tuple[int, int]:
    if owner is not None:
        return owner.uid, owner.gid
    if info.uid is None:
        raise PolicyRefused(f"Container {info.name!r} has no owner ds01 can tell; it is not started by ds01.")
    return info.uid, info.uid


def check_before_start(
    info: ContainerInfo,
    owner: Identity | None = None,
    *,
    mode: str | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> None:
    """Refuse (exit 3) to start a container whose bind sources are not the owner's real folders
    now, or (secure mode) that lacks the hardening; ``policy.mounts``/``policy.containers`` decide."""
    uid, gid = _owner_ids(info, owner)
    if attrs is None:
        attrs = inspect_container(info.id, info.name)
    hardening_policy.check_container(_mode(mode), uid=uid, gid=gid, attrs=attrs, name=info.name)
    for source, rw in bind_sources(attrs):
        mount_policy.check_bind(source, uid, "mounted", writable=rw)


def start_container(info: ContainerInfo, owner: Identity | None = None, *, mode: str | None = None) -> bool:
    """Start it after ``check_before_start``; False when it was already running.

    Docker resolves bind sources at start, following symlinks as root, so the mounts are
    checked here, right before the start, and not only at create. The window left is the
    time between this check and Docker's own resolution (see ``ds01.policy.mounts``).
    """
    if info.state == "paused":
        # Frozen, not stopped: its mounts were resolved when it started, so it is only thawed.
        try:
            engine_api.request("POST", f"/containers/{info.id}/unpause", action=f"resume container {info.name}")
        except dc.OperationFailed:
            # "is not paused" (409, or 500 from older engines): resumed since it was listed,
            # by an earlier step of this command or by someone else, is what was asked for.
            state = (inspect_container(info.id, info.name).get("State") or {}).get("Status")
            if state == "running":
                return False
            raise
        return True
    if info.running:
        return False
    check_before_start(info, owner, mode=mode)
    engine_api.request("POST", f"/containers/{info.id}/start", action=f"start container {info.name}")
    return True


def stop_container(info: ContainerInfo, *, timeout: int = 10, force: bool = False) -> bool:
    """Stop (``force``: kill) it, paused or not; False when it was not running or vanished
    meanwhile."""
    if not info.alive:
        return False
    if force:
        action = f"kill container {info.name}"
        return dc.gone_ok(
            action,
            lambda: engine_api.request("POST", f"/containers/{info.id}/kill", action=action),
            still_there=_still_there(info.id, running=True),
        )
    action = f"stop container {info.name}"
    return dc.gone_ok(  # a 304 (stopped meanwhile) is a success, as through the SDK
        action,
        lambda: engine_api.request(
            "POST",
            f"/containers/{info.id}/stop",
            query={"t": str(timeout)},
            action=action,
            timeout=request_timeout() + timeout,  # the engine answers after the grace time
        ),
        still_there=_still_there(info.id, running=True),
    )


def remove_container(info: ContainerInfo, *, force: bool = False) -> bool:
    """Remove a stopped container (``force``: also a running one); False when already gone."""
    if info.alive and not force:
        raise UsageError(
            f"Container {info.name!r} is {info.state}; stop it first (ds01 mlc stop {info.name}) or remove it with -f."
        )
    action = f"remove container {info.name}"
    return dc.gone_ok(
        action,
        lambda: engine_api.request(
            "DELETE", f"/containers/{info.id}", query={"force": "1" if force else "0"}, action=action
        ),
        still_there=_still_there(info.id),
    )


def _mode(mode: str | None) -> str:
    """``mode`` checked, or (None) the configuration's security mode, read now."""
    if mode:
        return hardening_policy.check_mode(mode)
    from ds01.base.container_spec import security_mode

    return security_mode(None)
