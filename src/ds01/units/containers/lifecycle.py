"""``container run/start/stop/cleanup`` and the removal half of ``gpu release-stale``.

A name resolves to the caller's container (admins: anyone's); another user's container is
"not found", exactly like a name nobody uses (SPEC §5). A container whose GPU was released
exists only as its saved definition: ``run``/``start`` recreate it with a fresh allocation
(the workspace is a bind mount, so nothing in it is lost). ``stop`` starts the GPU hold
clock; ``run``/``start`` inside the hold stop it again and keep the slot.
"""

from __future__ import annotations

from collections.abc import Callable

from ds01.errors import NotFound, OperationFailed, PolicyRefused, UsageError
from ds01.records import dataclass, field
from ds01.rollback import Rollback
from ds01.timefmt import iso
from ds01.units.containers import definitions
from ds01.units.containers.common import gpu_slots_label, hold_seconds, owner_identity, owner_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ds01.base.container_spec import ContainerInfo
    from ds01.base.execs import Program
    from ds01.identity import Identity
    from ds01.limits.config import Config

Progress = Callable[[str], None]


@dataclass
class Target:
    """What a NAME on the command line refers to for this caller."""

    name: str
    docker_name: str
    owner: Identity
    info: ContainerInfo | None  # None: released, only the definition is left
    definition: dict[str, Any] | None

    @property
    def exists(self) -> bool:
        return self.info is not None


def not_found(name: str, caller: Identity | None = None) -> NotFound:
    """ "No container NAME", with advice that works in the caller's state: the name they probably
    meant, else how to make it (a removed container's image is still there for ``create``)."""
    import difflib

    from ds01.base.names import name_problem, split_docker_name

    display = split_docker_name(name)[0]
    theirs: list[str] = []
    if caller is not None:
        try:
            from ds01.base import running

            theirs = [i.name for i in running.list_containers(caller.name) if i.uid in (caller.uid, None)]
        except Exception:  # noqa: BLE001 - advice only; the answer is "not found" anyway
            theirs = []
        theirs += [str(d.get("name")) for d in definitions.list_all(caller) if d.get("name")]
    close = difflib.get_close_matches(display, sorted(set(theirs)), n=1, cutoff=0.6)
    if close:
        return NotFound(
            f"No container named {name!r} for you; did you mean {close[0]!r}? `ds01 container list --all` lists yours."
        )
    if name_problem(display) is not None:
        return NotFound(f"No container named {name!r} for you.")
    also = "; `ds01 container list --all` lists yours" if theirs else ""
    return NotFound(f"No container named {name!r} for you; make it with `ds01 container create {display}`{also}.")


def locate(name: str, caller: Identity, *, admin: bool = False) -> Target:
    """The caller's container ``name`` (display or Docker name), alive or only defined."""
    from ds01.base import running
    from ds01.base.names import docker_name, split_docker_name

    try:
        info = running.find_container(name, caller, any_user=admin)
    except NotFound:
        info = None
    if info is not None:
        owner = owner_of(info, caller)
        return Target(info.name, info.docker_name, owner, info, definitions.load(owner, info.name))
    display, uid = split_docker_name(name)
    candidates: list[tuple[Identity, dict[str, Any]]] = []
    if uid in (None, caller.uid):
        defn = definitions.load(caller, display)
        if defn is not None:
            candidates.append((caller, defn))
    if admin and not candidates:
        for defn in definitions.list_all(None):
            if defn.get("name") == display and (uid is None or defn.get("uid") == uid):
                candidates.append((owner_identity(str(defn.get("user")), defn.get("uid")), defn))
    if len(candidates) > 1:
        raise UsageError(f"Several users have a container named {display!r}; give the full name NAME._.UID.")
    if not candidates:
        raise not_found(name, caller)
    owner, defn = candidates[0]
    return Target(display, docker_name(display, owner.uid), owner, None, defn)


# -- hold information ---------------------------------------------------------------------------


@dataclass
class Hold:
    slots: list[str] = field(default_factory=list)
    seconds: int | None = None  # gpu_hold_after_stop of the owner (None: indefinitely)
    until: str | None = None  # ISO time the hold ends (None: running, nothing held, or forever)

    def to_json(self) -> dict[str, Any]:
        return {"slots": self.slots, "hold_seconds": self.seconds, "held_until": self.until}


def hold_of(config: Config, target: Target) -> Hold:
    from ds01.gpu.ledger import Ledger

    led = Ledger()
    try:
        rows = led.rows_for(target.docker_name)
    finally:
        led.close()
    seconds = hold_seconds(config, target.owner.name)
    stopped = [r.stopped_at for r in rows if r.stopped_at is not None]
    until = iso(min(stopped) + seconds) if stopped and seconds is not None else None
    return Hold([r.slot for r in rows], seconds, until)


# -- start / run ----------------------------------------------------------------------------------


@dataclass
class Started:
    target: Target
    found: ContainerInfo  # as found (or made) before the start
    started: bool  # it was not running before
    recreated: bool  # it was remade from its definition with a fresh allocation
    slots: list[str]
    now: ContainerInfo | None = field(default=None, repr=False)  # as Docker sees it after the start

    @property
    def info(self) -> ContainerInfo:
        """The container as Docker sees it after the start, looked up at the first use (a shell
        or a notebook needs it; `container start` reports without asking the engine again)."""
        if self.now is None:
            from ds01.base import engine

            self.now = engine.refresh(self.found)
        return self.now


def _has_allocation(docker_name: str) -> bool:
    from ds01.gpu import service

    return service.holder_of(docker_name) is not None


def _has_rows(docker_name: str) -> bool:
    """Whether the ledger has any row for ``docker_name`` (read without loading the GPU service)."""
    from ds01.gpu.ledger import Ledger

    with Ledger() as led:
        return bool(led.rows_for(docker_name))


def ensure_running(
    config: Config, target: Target, *, progress: Progress | None = None, wait: float | None = None
) -> Started:
    """Start the container (recreating it when its GPU was released) and stop the hold clock."""
    from ds01.base import running

    info = target.info
    if info is not None and may_need_remaking(info) and not _has_allocation(target.docker_name):
        # Its GPU was given back while it was stopped: its devices now belong to someone else.
        # Remake it with a fresh allocation rather than start it on a slot it no longer holds.
        if target.definition is None:
            from ds01.base import container_defs

            target.definition = container_defs.container_definition(target.docker_name, target.owner)
            definitions.save(
                target.owner,
                target.name,
                target.definition,
                gpu_count=len(gpu_slots_label(info.labels)),
                project=info.labels.get("ds01.project"),
            )
        _check_saved_mounts(target.definition, target.owner)  # refuse before removing anything
        running.remove_container(info, force=True)
        info = target.info = None
    if info is None:
        return _recreate(config, target, progress=progress, wait=wait)
    started = start_existing(info, target.owner, config.security.mode)
    return Started(target, info, started, False, gpu_slots_label(info.labels))


def may_need_remaking(info: ContainerInfo) -> bool:
    """Whether a start may have to remake ``info``: it is stopped and was made with a GPU slot,
    which may have been given back since (the ledger says; ``ensure_running`` asks it)."""
    return not info.alive and bool(gpu_slots_label(info.labels))


def start_existing(info: ContainerInfo, owner: Identity, mode: str) -> bool:
    """Start a container that needs no remaking (False: it was running) and stop its hold clock.

    Mounts are checked again right here (the engine's start does it): a workspace swapped for
    a symlink since create is refused, exit 3, and the container stays stopped."""
    from ds01.base import running

    started = running.start_container(info, owner, mode=mode)
    if _has_rows(info.docker_name):  # a container that holds no slot has no hold clock to stop
        from ds01.gpu import service

        service.clear_stopped(info.docker_name)
    return started


def _recreate(config: Config, target: Target, *, progress: Progress | None, wait: float | None) -> Started:
    from ds01.base import container_defs, engine
    from ds01.base.names import split_docker_name
    from ds01.limits.resolver import container_resources, resolve
    from ds01.units.containers.create import allocate_and_create, count_ds01_containers, device_requests_for, user_lock

    defn = target.definition
    if defn is None:
        raise not_found(target.name, target.owner)
    owner = target.owner
    _check_saved_mounts(defn, owner)
    gpus = definitions.gpu_count(defn)
    limits = resolve(config, owner.name)  # today's limits, not the ones saved with the definition
    with user_lock(owner.name):
        mine = engine.list_containers(owner.name)
        if any(split_docker_name(i.docker_name)[0] == target.name for i in mine):
            raise UsageError(f"Container {target.name!r} exists again; run `ds01 container run {target.name}`.")
        cap = limits.values.get("max_containers_per_user")
        count = count_ds01_containers(mine)
        if cap is not None and count >= cap:
            raise PolicyRefused(
                f"Recreating {target.name!r} would exceed your limit of {cap} container(s); "
                "remove another one first (`ds01 container cleanup NAME`)."
            )
        labels = {
            k: v
            for k, v in (defn.get("labels") or {}).items()
            if k.startswith("ds01.") and k not in ("ds01.user", "ds01.uid", "ds01.created_at")
        }
        if limits.group:
            labels["ds01.group"] = limits.group
        backend = config.gpu_allocation.inventory
        spec = container_defs.spec_from_definition(
            defn,
            owner,
            {
                "resources": container_resources(limits),
                "env": {},  # ds01 sets no variables of its own except the GPU ones, recomputed below
                "extra_labels": labels,
                "device_requests": device_requests_for(config.gpu_allocation.device_requests, backend) and gpus > 0,
                "device_uuids": (),
                "network_mode": str(config.advanced.network_mode),
                "restart_policy": str(config.advanced.restart_policy),
                "security_mode": config.security.mode,
            },
        )
        if progress:
            progress(f"Recreating {target.name} from its saved definition (its GPU was released)…")
        extra = defn.get("ds01") or {}
        info, _path = allocate_and_create(
            config, spec, target.docker_name, gpus, wait=wait, project=extra.get("project"), progress=progress
        )
    # A container that cannot start must not hold a GPU: undo the recreation (every step runs;
    # the start's error is raised, with what could not be undone in its details).
    from ds01.gpu import service

    with Rollback() as undo:
        undo.add(
            f"release the GPU slots of {target.docker_name}",
            lambda: service.release(target.docker_name, reason="start failed"),
        )
        undo.add(f"remove container {target.docker_name}", lambda: engine.remove_container(info, force=True))
        engine.start_container(info, owner, mode=config.security.mode)
    target.info = engine.refresh(info)
    target.definition = definitions.load(owner, target.name)
    return Started(target, info, True, True, gpu_slots_label(info.labels), now=target.info)


def _check_saved_mounts(defn: dict[str, Any], owner: Identity) -> None:
    """The saved (real) mount paths, checked as they are now without following links, before
    anything is allocated: a recreate must not mount what a swapped symlink points at."""
    from ds01.policy.mounts import check_bind_source

    mounts = defn.get("mounts") or {}
    for what in ("workspace", "data", "models"):
        if mounts.get(what):
            check_bind_source(mounts[what], owner.uid, what, writable=what == "workspace")


@dataclass
class RunResult:
    started: Started
    exit_code: int
    stopped: bool  # the last shell left and the container was stopped
    hold: Hold | None
    kept: list[Program] = field(default_factory=list)  # it kept running for these programs


def run(
    config: Config,
    target: Target,
    *,
    progress: Progress | None = None,
    wait: float | None = None,
    stdin_fd: int | None = None,
    stdout_fd: int | None = None,
    on_others: Callable[[list[Program]], bool] | None = None,
) -> RunResult:
    """Start (or recreate) the container and open an interactive shell in it as its owner.

    When the last shell leaves and ``policies.last_shell_stops_container`` is on, the container
    stops -- unless other programs still run in it: then ``on_others(programs)`` decides (None:
    it keeps running). ``RunResult.kept`` lists the programs it kept running for.
    """
    from ds01.base.shell import open_shell
    from ds01.gpu import service

    started = ensure_running(config, target, progress=progress, wait=wait)
    seen: list[Program] = []

    def decide(programs: list[Program]) -> bool:
        seen[:] = programs
        return bool(on_others(programs)) if on_others is not None else False

    code, stopped = open_shell(
        started.info,
        target.owner,
        stdin_fd=stdin_fd,
        stdout_fd=stdout_fd,
        last_shell_stops=bool(config.policies.last_shell_stops_container),
        on_others=decide,
    )
    hold = None
    if stopped:
        service.mark_stopped(target.docker_name)
        hold = hold_of(config, target)
    return RunResult(started, code, stopped, hold, kept=[] if stopped else list(seen))


# -- stop ---------------------------------------------------------------------------------------------


@dataclass
class Stopped:
    target: Target
    was_running: bool
    hold: Hold

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.target.name,
            "docker_name": self.target.docker_name,
            "was_running": self.was_running,
            **self.hold.to_json(),
        }


def stop(config: Config, target: Target, *, timeout: int = 10, force: bool = False) -> Stopped:
    from ds01.base import running
    from ds01.gpu import service

    if target.info is None:
        raise UsageError(
            f"Container {target.name!r} is not running: its GPU was released and only its "
            f"definition is kept (`ds01 container run {target.name}` recreates it)."
        )
    if timeout < 0:
        raise UsageError(f"--timeout must be 0 or more seconds (got {timeout}).")
    was_running = running.stop_container(target.info, timeout=timeout, force=force)
    service.mark_stopped(target.docker_name)  # idempotent: an earlier stop time is kept
    return Stopped(target, was_running, hold_of(config, target))


# -- cleanup ------------------------------------------------------------------------------------------


@dataclass
class Cleaned:
    name: str
    docker_name: str
    user: str
    removed: bool  # a Docker container was removed
    released: list[str]  # GPU slots given back
    definition_removed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "docker_name": self.docker_name,
            "user": self.user,
            "removed": self.removed,
            "released": self.released,
            "definition_removed": self.definition_removed,
        }


def stopped_targets(caller: Identity) -> list[Target]:
    """The caller's stopped ds01 containers and released definitions (``cleanup --all-stopped``)."""
    from ds01.base import running

    targets = []
    seen = set()
    for info in running.list_containers(caller.name):
        if info.ds01_managed and info.uid == caller.uid:
            seen.add(info.name)
            if not info.alive:
                targets.append(Target(info.name, info.docker_name, caller, info, definitions.load(caller, info.name)))
    from ds01.base.names import docker_name

    for defn in definitions.list_all(caller):
        name = str(defn["name"])
        if name not in seen:
            targets.append(Target(name, docker_name(name, caller.uid), caller, None, defn))
    return targets


def check_cleanup(targets: list[Target], *, force: bool) -> None:
    """Refuse before removing anything when one of them is running (bad input changes nothing)."""
    alive = [t for t in targets if t.info is not None and t.info.alive]
    if alive and not force:
        states = {t.info.state for t in alive if t.info is not None}
        one = len(alive) == 1
        state = "running" if states == {"running"} else " or ".join(sorted(states))
        raise UsageError(
            f"{', '.join(t.name for t in alive)} {'is' if one else 'are'} {state}; stop "
            f"{'it' if one else 'them'} first (`ds01 container stop NAME`) or pass --force."
        )


def cleanup(target: Target, *, force: bool = False) -> Cleaned:
    """Remove the container, release its GPU at once and drop its definition (idempotent)."""
    from ds01.base import running
    from ds01.gpu import service

    check_cleanup([target], force=force)
    removed = running.remove_container(target.info, force=force) if target.info is not None else False
    rows = service.release(target.docker_name, reason="container removed")
    dropped = definitions.delete(target.owner, target.name)
    return Cleaned(target.name, target.docker_name, target.owner.name, removed, [r.slot for r in rows], dropped)


# -- release-stale: remove a stopped container whose hold expired, keep its definition --------------


def remove_for_release(docker_name: str, user: str) -> None:
    """Called by ``gpu release-stale`` before an expired hold's slot is released.

    The container must go (its device request cannot change), but its definition stays so
    ``container run NAME`` can recreate it. A container that runs again keeps its slot
    (OperationFailed: the service reports it and keeps the hold).
    """
    from ds01.base import container_defs, engine
    from ds01.base.names import split_docker_name

    info = next((i for i in engine.list_containers(user) if i.docker_name == docker_name), None)
    if info is None:
        return  # already gone: nothing to remove, the slot can be released
    if info.alive:
        raise OperationFailed(f"Container {docker_name} is {info.state} again, so its GPU hold is kept.")
    name, uid = split_docker_name(docker_name)
    owner = owner_identity(user, uid if uid is not None else info.uid)
    defn = definitions.load(owner, name)
    if defn is None:
        # A container made before ds01 kept definitions (or by AIME's mlc): save one now.
        defn = container_defs.container_definition(docker_name, owner)
        definitions.save(
            owner, name, defn, gpu_count=len(gpu_slots_label(info.labels)), project=info.labels.get("ds01.project")
        )
    engine.remove_container(info)
