"""The AIME-compatible container engine: create, find, start, stop, remove, list, stats.

Tier 2 units build on these functions; ``ds01 mlc`` is their thin command-line skin.

- ``ContainerSpec`` -> ``create_container(spec, *, start=False, progress=None) -> ContainerInfo``:
  everything is validated before Docker is touched; whatever a failed create made (the
  container, an image it pulled) is removed again.
- ``find_container(name, owner, *, any_user=False) -> ContainerInfo`` (display or Docker name).
- ``list_containers(owner, *, all_users=False, running_only=False, size=False)`` (one sparse call).
- ``start_container``, ``stop_container(info, *, timeout, force)``, ``remove_container(info, *, force)``
  (404/409 mean "already done" and return False), ``run_command(...)``, ``container_stats(infos)``.
- ``container_definition(name, owner)`` / ``definition_from_inspect(attrs)`` and
  ``recreate_from_definition(defn, owner=..., overrides=...)``: what is needed to make the
  container again (SPEC §4: a released GPU removes the container, ``container run`` remakes it).

Containers run as the caller with a matching passwd entry and home (``ds01.base.users``),
``/workspace`` bound from a directory the caller owns, never privileged, no host namespaces,
no devices beyond the requested GPUs, under ``docker-init`` with ``sleep infinity`` so that
shells can be opened into them and ``stop`` is immediate. The security rules come from
``ds01.policy``: ``policy.containers`` decides the hardening per ``security.mode`` (secure:
``uid:gid``, every capability dropped, ``no-new-privileges``, no sudo rule; every exec as the
caller), ``policy.mounts`` checks bind sources at create and again right before every start,
and every ``ds01.*``/``aime.mlc.*`` label on a container is one ds01 wrote (``policy.labels``).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ds01 import rollback
from ds01.base import docker_client as dc
from ds01.base import labels as lbl
from ds01.base.names import SEPARATOR, docker_name, split_docker_name, validate_name
from ds01.base.users import UserEntry, build_archive, choose_shell, read_single_file, sudoers_line, with_user
from ds01.errors import GpuLibraryError, NotFound, OperationFailed, PolicyRefused, UsageError
from ds01.identity import Identity, sanitize
from ds01.policy import containers as hardening_policy
from ds01.policy import labels as label_policy
from ds01.policy import mounts as mount_policy

KEEPALIVE = ["sleep", "infinity"]
WORKSPACE, DATA, MODELS = "/workspace", "/data", "/models"
RESOURCE_KEYS = frozenset({"nano_cpus", "mem_limit", "memswap_limit", "shm_size", "pids_limit", "cgroup_parent"})
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to create one mlc container (the caller computes limits and GPUs)."""

    name: str  # user-visible; the Docker name is <name>._.<uid>
    owner: Identity
    image: str
    workspace: Path
    framework: str | None = None
    version: str | None = None
    arch: str | None = None
    data: Path | None = None
    models: Path | None = None
    gpus_label: str = "all"  # the aime.mlc.GPUS label (AIME's -g value)
    resources: Mapping[str, Any] = field(default_factory=dict)  # Docker SDK create kwargs
    device_uuids: tuple[str, ...] = ()
    device_requests: bool = False  # True: Docker device request; False: NVIDIA_VISIBLE_DEVICES only
    gpu_count: int = -1  # with device_requests and no UUIDs: how many GPUs (-1 = all)
    env: Mapping[str, str] = field(default_factory=dict)
    extra_labels: Mapping[str, str] = field(default_factory=dict)  # ds01.* keys only
    network_mode: str = "bridge"
    restart_policy: str = "no"
    custom_image: bool = False  # --image: local only, never pulled
    security_mode: str | None = None  # "group" | "secure"; None: the configuration's security.mode


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    docker_name: str
    name: str
    user: str
    uid: int | None
    image: str
    state: str
    status: str
    created: int
    labels: dict[str, str]
    size_rw: int | None = None
    size_root_fs: int | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def ds01_managed(self) -> bool:
        return lbl.is_ds01_managed(self.labels)

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` object of ``mlc list`` (documented in docs/mlc.md)."""
        get = self.labels.get
        return {
            "name": self.name,
            "docker_name": self.docker_name,
            "id": self.id[:12],
            "user": self.user,
            "uid": self.uid,
            "image": self.image,
            "framework": get(f"{lbl.AIME}.FRAMEWORK"),
            "arch": get(f"{lbl.AIME}.ARCH"),
            "gpus": get(f"{lbl.AIME}.GPUS"),
            "state": self.state,
            "status": self.status,
            "running": self.running,
            "ds01_managed": self.ds01_managed,
            "workspace": lbl.mount_value(get(f"{lbl.AIME}.WORK_MOUNT")),
            "data": lbl.mount_value(get(f"{lbl.AIME}.DATA_MOUNT")),
            "models": lbl.mount_value(get(f"{lbl.AIME}.MODELS_MOUNT")),
            "created": self.created,
            "size_rw": self.size_rw,
            "size_root_fs": self.size_root_fs,
        }


def info_from_summary(s: dc.ContainerSummary) -> ContainerInfo:
    display, uid = split_docker_name(s.name)
    user = s.labels.get(lbl.AIME) or s.labels.get(f"{lbl.AIME}.USER") or s.labels.get("ds01.user", "")
    return ContainerInfo(
        s.id,
        s.name,
        s.labels.get(f"{lbl.AIME}.NAME", display),
        user,
        uid,
        s.image,
        s.state,
        s.status,
        s.created,
        dict(s.labels),
        s.size_rw,
        s.size_root_fs,
    )


# -- validation (pure or host-only: runs before Docker is touched) -----------------------


def validate_mount(path: Path, owner: Identity, what: str, *, writable: bool = False) -> Path:
    """The resolved directory ``path`` when ``owner`` owns it (``policy.mounts``); else refused.

    The check is against the caller, not the process: ds01 may run as root through sudo, and
    root would otherwise mount anyone's files into a student's container. A folder that is not
    the caller's is PolicyRefused (exit 3); a missing or unusable one UsageError (exit 2).
    """
    return mount_policy.resolve_for_create(path, owner.uid, what, writable=writable)


def security_mode(explicit: str | None = None) -> str:
    """``explicit``, else the configuration's ``security.mode`` (read now: changes apply at once)."""
    if explicit:
        return hardening_policy.check_mode(explicit)
    from ds01.limits.config import load_config

    return hardening_policy.check_mode(load_config().security.mode)


def restart_policy(value: str) -> dict[str, Any]:
    name, _, count = value.partition(":")
    if name not in RESTART_POLICIES or (count and (name != "on-failure" or not count.isdigit())):
        raise UsageError(
            f"Restart policy {value!r} is not valid; use one of {', '.join(RESTART_POLICIES)} (on-failure may take :N)."
        )
    return {"Name": name, "MaximumRetryCount": int(count or 0)}


@dataclass(frozen=True)
class _Plan:
    docker_name: str
    labels: dict[str, str]
    binds: dict[str, dict[str, str]]
    env: dict[str, str]
    restart: dict[str, Any]
    spec: ContainerSpec
    hardening: hardening_policy.Hardening
    network_mode: str


def plan_create(spec: ContainerSpec) -> _Plan:
    """Validate a spec and compute names, labels, binds and env; raises before any Docker call."""
    validate_name(spec.name)
    owner = spec.owner
    harden = hardening_policy.hardening(security_mode(spec.security_mode), uid=owner.uid, gid=owner.gid)
    network = hardening_policy.check_network_mode(spec.network_mode)
    ws = validate_mount(spec.workspace, owner, "workspace", writable=True)
    data = validate_mount(spec.data, owner, "data") if spec.data else None
    models = validate_mount(spec.models, owner, "models") if spec.models else None
    unknown = set(spec.resources) - RESOURCE_KEYS
    if unknown:
        raise UsageError(
            f"Unknown resource setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(RESOURCE_KEYS))}."
        )
    env = {}
    for key, value in spec.env.items():
        if not _ENV_KEY.fullmatch(key):
            raise UsageError(f"Environment variable name {key!r} is not valid.")
        env[key] = str(value)
    env.update(gpu_visibility_env(spec))
    labels = lbl.aime_labels(
        user=owner.name,
        name=spec.name,
        arch=spec.arch or "-",
        workspace=ws,
        data=data,
        models=models,
        framework=spec.framework,
        version=spec.version,
        gpus=spec.gpus_label,
        custom_image=spec.image if spec.custom_image else None,
    )
    labels.update(lbl.ds01_labels(owner.name, owner.uid, spec.extra_labels))
    binds = {str(ws): {"bind": WORKSPACE, "mode": "rw"}}
    if data:
        binds[str(data)] = {"bind": DATA, "mode": "rw"}
    if models:
        binds[str(models)] = {"bind": MODELS, "mode": "rw"}
    return _Plan(docker_name(spec.name, owner.uid), labels, binds, env, restart_policy(spec.restart_policy), spec,
                 harden, network)


# -- create ---------------------------------------------------------------------------------


def image_present(image: str) -> bool:
    return image_labels(image) is not None


def image_labels(image: str) -> dict[str, str] | None:
    """The labels of a local image (``{}`` when it has none), or None when it is not here."""
    try:
        with dc.engine_errors(f"look up image {image}"):
            attrs = dc.api().inspect_image(image)
    except dc.EngineNotFound:
        return None
    return dict((attrs.get("Config") or {}).get("Labels") or {})


def pull_image(image: str, progress: Progress | None = None) -> None:
    """Pull ``image``, reporting layer progress; any failure is OperationFailed (exit 1)."""
    from docker.utils import parse_repository_tag

    repo, tag = parse_repository_tag(image)
    layers: dict[str, str] = {}
    try:
        with dc.engine_errors(f"pull image {image}"):
            for event in dc.api().pull(repo, tag=tag or "latest", stream=True, decode=True):
                if "error" in event:
                    raise OperationFailed(f"Could not pull image {image}: {event['error']}.")
                if progress and event.get("id"):
                    layers[event["id"]] = event.get("status", "")
                    done = sum(1 for s in layers.values() if s in ("Pull complete", "Already exists"))
                    progress(f"Pulling {image}: {done}/{len(layers)} layers")
    except OperationFailed as exc:
        raise OperationFailed(
            exc.message.rstrip(".") + "; nothing was created.",
            hint="Check the image name and this server's network access.",
        ) from exc


# Variables the NVIDIA container toolkit reads to decide which devices a container sees. ds01
# always sets them itself: a value from the image (every NGC image says NVIDIA_VISIBLE_DEVICES=all),
# from an imported archive or from a recreated container's saved environment is never kept.
GPU_VISIBILITY_KEYS = ("NVIDIA_VISIBLE_DEVICES", "NVIDIA_MIG_MONITOR_DEVICES", "NVIDIA_MIG_CONFIG_DEVICES")


def gpu_visibility_env(spec: ContainerSpec) -> dict[str, str]:
    """The toolkit variables of a container: its slots' UUIDs joined by ',' (what the toolkit expects;
    MIG UUIDs included), ``void`` for a CPU-only container (the toolkit then mounts no GPU even where
    nvidia is Docker's default runtime), and ``all`` only for a device request for every GPU.
    The MIG monitor/config variables are cleared (``""``): they grant views of every MIG device.

    With a Docker device request the request decides which devices are mounted; the variable is
    still set so that an image's ``all`` cannot widen it under a legacy nvidia runtime. CDI
    (``--device nvidia.com/gpu=…``) does not read this variable at all: it needs a device request."""
    if spec.device_uuids:
        visible = ",".join(spec.device_uuids)
    elif spec.device_requests and spec.gpu_count != 0:
        visible = "all" if spec.gpu_count < 0 else ""
    else:
        visible = "void"
    out = {"NVIDIA_MIG_MONITOR_DEVICES": "", "NVIDIA_MIG_CONFIG_DEVICES": ""}
    if visible:
        out["NVIDIA_VISIBLE_DEVICES"] = visible
    return out


def _device_requests(spec: ContainerSpec) -> list[Any] | None:
    if not spec.device_requests:
        return None
    from docker.types import DeviceRequest

    if spec.device_uuids:
        return [DeviceRequest(driver="nvidia", device_ids=list(spec.device_uuids), capabilities=[["gpu"]])]
    return [DeviceRequest(driver="nvidia", count=spec.gpu_count, capabilities=[["gpu"]])]


def _read_container_file(cid: str, path: str) -> bytes | None:
    import docker.errors

    try:
        stream, _ = dc.api().get_archive(cid, path)
    except docker.errors.NotFound:
        return None
    return read_single_file(b"".join(stream))


def _path_exists(cid: str, path: str) -> bool:
    import docker.errors

    try:
        stream, _ = dc.api().get_archive(cid, path)
    except docker.errors.NotFound:
        return False
    for _chunk in stream:  # drain it so the connection goes back to the pool
        pass
    return True


def install_user(cid: str, owner: Identity, harden: hardening_policy.Hardening | None = None) -> None:
    """Write the caller's passwd/group entries, home and (group mode only) sudoers rule into a
    created container."""
    if owner.uid == 0:
        return
    if harden is None:
        harden = hardening_policy.hardening("group", uid=owner.uid, gid=owner.gid)
    with dc.engine_errors("set up your user in the container"):
        passwd = (_read_container_file(cid, "/etc/passwd") or b"").decode()
        group = (_read_container_file(cid, "/etc/group") or b"").decode()
        home = str(owner.home)
        entry = UserEntry(owner.name, owner.uid, owner.gid, home, choose_shell(passwd))
        new_passwd, new_group = with_user(passwd, group, entry, harden.groups)
        files = {"/etc/passwd": (new_passwd.encode(), 0o644), "/etc/group": (new_group.encode(), 0o644)}
        if harden.sudo_rule and _path_exists(cid, "/etc/sudoers.d"):
            files[f"/etc/sudoers.d/ds01-{sanitize(owner.name)}"] = (sudoers_line(owner.name).encode(), 0o440)
        dirs = {home: (owner.uid, owner.gid, 0o755)}
        dc.api().put_archive(cid, "/", build_archive(files, dirs))


def create_container(spec: ContainerSpec, *, start: bool = False, progress: Progress | None = None) -> ContainerInfo:
    """Create (and with ``start`` start) one container; on any failure nothing is left behind."""
    plan = plan_create(spec)
    api = dc.api()
    if container_exists(plan.docker_name):
        raise UsageError(
            f"A container named {spec.name!r} already exists for you; choose another name "
            f"or remove it first (ds01 mlc remove {spec.name})."
        )
    pulled = False
    found_labels = image_labels(spec.image)
    if found_labels is None:
        if spec.custom_image:
            raise UsageError(
                f"Image {spec.image!r} is not on this server; --image uses local images only "
                "(build it first, or list them with `ds01 image list`)."
            )
        if progress:
            progress(f"Pulling {spec.image} (first use on this server)…")
        pull_image(spec.image, progress)
        pulled = True
        found_labels = image_labels(spec.image) or {}
    # Every ds01.*/aime.mlc.* key on the container is written here: an image's own label in
    # those namespaces (a Dockerfile's ``LABEL ds01.gpu.slots=0``) is overridden, never inherited.
    labels = label_policy.container_labels(plan.labels, found_labels)
    harden = plan.hardening
    res = dict(spec.resources)
    cid: str | None = None
    try:
        with dc.engine_errors(f"create container {spec.name}"):
            host_config = api.create_host_config(
                binds=plan.binds,
                privileged=harden.privileged,
                ipc_mode=harden.ipc_mode,
                cgroupns=harden.cgroupns,
                cap_drop=list(harden.cap_drop) or None,
                security_opt=list(harden.security_opt) or None,
                init=True,
                network_mode=plan.network_mode,
                # The notebook port, published on the server's localhost only, on a port the
                # engine picks free at each start (``published_port`` reads it back).
                port_bindings={NOTEBOOK_PORT: ("127.0.0.1",)} if notebook_publishable(plan.network_mode) else None,
                restart_policy=plan.restart,
                device_requests=_device_requests(spec),
                **res,
            )
            created = api.create_container(
                spec.image,
                command=KEEPALIVE,
                ports=[NOTEBOOK_PORT] if notebook_publishable(plan.network_mode) else None,
                name=plan.docker_name,
                user=harden.user,
                working_dir=WORKSPACE,
                labels=labels,
                environment=plan.env,
                host_config=host_config,
                hostname=spec.name.lower().replace("_", "-")[:63],
                detach=True,
            )
            cid = created["Id"]
        install_user(cid, spec.owner, harden)
        state = "created"
        if start:
            with _no_gpu_driver(spec.name), dc.engine_errors(f"start container {spec.name}"):
                api.start(cid)
            state = "running"
    except BaseException as exc:
        _discard(exc, cid, spec.image if pulled else None)
        raise
    return ContainerInfo(
        cid, plan.docker_name, spec.name, spec.owner.name, spec.owner.uid, spec.image, state, state, 0, labels
    )


@contextlib.contextmanager
def _no_gpu_driver(name: str) -> Iterator[None]:
    """Docker's "could not select device driver" (no nvidia device driver registered) as what it means."""
    try:
        yield
    except OperationFailed as exc:
        if "could not select device driver" not in exc.message:
            raise
        raise GpuLibraryError(
            f"Could not start container {name}: the Docker engine has no NVIDIA device driver registered, so "
            "it cannot give the container its GPU slot (nothing was left behind).",
            hint="Install the NVIDIA container toolkit, run `nvidia-ctk runtime configure --runtime=docker`, "
            "then restart Docker (`systemctl restart docker`); check with `docker info | grep -i runtimes`.",
        ) from exc


def container_exists(name: str) -> bool:
    """Whether a container with exactly this Docker name exists (anyone's)."""
    try:
        with dc.engine_errors("look up containers"):
            dc.api().inspect_container(name)
    except dc.EngineNotFound:
        return False
    return True


def _discard(error: BaseException, cid: str | None, image: str | None) -> None:
    """Remove what a failed create made. ``error`` (the create's) stays the one raised; what could
    not be removed is added to its details (``ds01.rollback``)."""
    steps = []
    if cid:
        steps.append((f"remove the half-made container {cid[:12]}", lambda: _remove_quietly_if_gone(
            f"remove container {cid[:12]}", lambda: dc.api().remove_container(cid, force=True, v=True))))
    if image:
        steps.append((f"remove the image {image} pulled for it", lambda: _remove_quietly_if_gone(
            f"remove image {image}", lambda: dc.api().remove_image(image))))
    rollback.run(error, steps)


def _remove_quietly_if_gone(action: str, call: Callable[[], Any]) -> None:
    """A removal for an undo: done when it succeeds or the object is already gone (404)."""
    try:
        with dc.engine_errors(action):
            call()
    except dc.EngineNotFound:
        pass


# -- find, list, lifecycle ------------------------------------------------------------------


def list_containers(owner: str | None, *, running_only: bool = False, size: bool = False) -> list[ContainerInfo]:
    """mlc containers of ``owner`` (a login; None = every user's), ds01's and AIME's, one API call."""
    summaries = dc.list_containers(lbl.owner_filter(owner), all=not running_only, size=size)
    return sorted((info_from_summary(s) for s in summaries), key=lambda i: (i.user, i.name))


def find_container(name: str, owner: Identity, *, any_user: bool = False) -> ContainerInfo:
    """The caller's container called ``name`` (display name or ``name._.uid``); else NotFound.

    ``any_user`` (admins): another user's container by its Docker name, or by a display name
    that only one user has. Someone else's container is otherwise "not found for you".
    """
    wanted = name if SEPARATOR in name else docker_name(name, owner.uid)
    mine = list_containers(owner.name)
    for info in mine:
        if info.docker_name in (wanted, name):
            return info
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
            with dc.engine_errors("look up the container"):
                state = (dc.api().inspect_container(cid).get("State") or {})
        except dc.EngineNotFound:
            return False
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


def check_before_start(info: ContainerInfo, owner: Identity | None = None, *, mode: str | None = None,
                       attrs: Mapping[str, Any] | None = None) -> None:
    """Refuse (exit 3) to start a container whose bind sources are not the owner's real folders
    now, or (secure mode) that lacks the hardening; ``policy.mounts``/``policy.containers`` decide."""
    uid, gid = _owner_ids(info, owner)
    if attrs is None:
        with dc.engine_errors(f"inspect container {info.name}", missing=f"Container {info.name!r} has gone."):
            attrs = dc.api().inspect_container(info.id)
    hardening_policy.check_container(security_mode(mode), uid=uid, gid=gid, attrs=attrs, name=info.name)
    for source, rw in bind_sources(attrs):
        mount_policy.check_bind_source(source, uid, "mounted", writable=rw)


def start_container(info: ContainerInfo, owner: Identity | None = None, *, mode: str | None = None) -> bool:
    """Start it after ``check_before_start``; False when it was already running.

    Docker resolves bind sources at start, following symlinks as root, so the mounts are
    checked here, right before the start, and not only at create. The window left is the
    time between this check and Docker's own resolution (see ``ds01.policy.mounts``).
    """
    if info.running:
        return False
    check_before_start(info, owner, mode=mode)
    with dc.engine_errors(f"start container {info.name}"):
        dc.api().start(info.id)
    return True


def stop_container(info: ContainerInfo, *, timeout: int = 10, force: bool = False) -> bool:
    """Stop (``force``: kill) it; False when it was not running or vanished meanwhile."""
    if not info.running:
        return False
    api = dc.api()
    if force:
        return dc.gone_ok(f"kill container {info.name}", lambda: api.kill(info.id),
                          still_there=_still_there(info.id, running=True))
    return dc.gone_ok(f"stop container {info.name}", lambda: api.stop(info.id, timeout=timeout),
                      still_there=_still_there(info.id, running=True))


def remove_container(info: ContainerInfo, *, force: bool = False) -> bool:
    """Remove a stopped container (``force``: also a running one); False when already gone."""
    if info.running and not force:
        raise UsageError(
            f"Container {info.name!r} is running; stop it first (ds01 mlc stop {info.name}) or remove it with -f."
        )
    return dc.gone_ok(f"remove container {info.name}", lambda: dc.api().remove_container(info.id, force=force),
                      still_there=_still_there(info.id))


def aime_committed_image(info: ContainerInfo) -> str | None:
    """The image AIME's own create committed for this container, or None.

    AIME makes each container from an image it commits for it, ``<catalog image>:<name>._.<uid>``
    (the container's Docker name as the tag), and its remove deletes that image. ds01's
    containers have no such image.
    """
    if info.ds01_managed:
        return None
    repo, sep, tag = info.image.rpartition(":")
    if not sep or not repo or "/" in tag or tag != info.docker_name:
        return None
    return info.image


def remove_image_unless_used(ref: str) -> bool:
    """Remove the tag ``ref``, and its image when that was its last tag and no container uses it.

    Never forced: Docker itself refuses (409) to delete an image that a container (anyone's,
    running or not) was made from, and then it is kept. True when the tag is gone; False when it
    was kept or already gone.
    """
    try:
        with dc.engine_errors(f"remove image {ref}"):
            dc.api().remove_image(ref)
    except (dc.EngineNotFound, dc.Conflict):
        return False
    return True


def run_command(
    info: ContainerInfo,
    owner: Identity,
    argv: list[str],
    *,
    detach: bool = False,
    out: Callable[[bytes], None] | None = None,
    err: Callable[[bytes], None] | None = None,
    mode: str | None = None,
) -> int:
    """Run ``argv`` (kept intact: no shell) in the running container as the owner; its exit code."""
    api = dc.api()
    user = exec_user(info, owner, mode=mode)
    with dc.engine_errors(f"run a command in {info.name}"):
        exec_id = api.exec_create(
            info.id, argv, user=user, workdir=WORKSPACE, stdout=not detach, stderr=not detach
        )["Id"]
        if detach:
            api.exec_start(exec_id, detach=True)
            return 0
        for chunk_out, chunk_err in api.exec_start(exec_id, stream=True, demux=True):
            if chunk_out and out:
                out(chunk_out)
            if chunk_err and err:
                err(chunk_err)
        code = api.exec_inspect(exec_id).get("ExitCode")
    return int(code if code is not None else 1)


def live_execs(container_id: str) -> int:
    """How many exec sessions (shells, commands) are running in the container now."""
    import docker.errors

    api = dc.api()
    with dc.engine_errors("inspect the container"):
        ids = api.inspect_container(container_id).get("ExecIDs") or []
        count = 0
        for exec_id in ids:
            try:
                count += bool(api.exec_inspect(exec_id).get("Running"))
            except docker.errors.NotFound:
                continue
    return count


# -- notebooks: a port inside the container, published on the server's localhost ---------------

NOTEBOOK_PORT = 8888


def notebook_publishable(network_mode: str) -> bool:
    """Whether containers on ``network_mode`` get the notebook port published (not ``none``)."""
    return str(network_mode or "bridge") != "none"


def published_port(info: ContainerInfo, port: int = NOTEBOOK_PORT) -> int | None:
    """The server-localhost port Docker publishes the container's ``port`` on now (None: not published)."""
    with dc.engine_errors(f"inspect container {info.name}", missing=f"Container {info.name!r} has gone."):
        attrs = dc.api().inspect_container(info.id)
    bound = ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{port}/tcp") or []
    for b in bound:
        if b.get("HostIp") in ("127.0.0.1", "") and str(b.get("HostPort") or "").isdigit():
            return int(b["HostPort"])
    return None


def container_address(info: ContainerInfo) -> str | None:
    """The container's address on its (bridge) network, which the server itself can reach."""
    with dc.engine_errors(f"inspect container {info.name}", missing=f"Container {info.name!r} has gone."):
        attrs = dc.api().inspect_container(info.id)
    nets = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    for net in nets.values():
        if net.get("IPAddress"):
            return str(net["IPAddress"])
    return None


def start_program(info: ContainerInfo, owner: Identity, argv: list[str], env: Mapping[str, str], *,
                  mode: str | None = None) -> None:
    """Start ``argv`` in the background in the container as its owner (the same user as a shell:
    ``exec_user``, never root for a user), in /workspace, with ``env`` added."""
    api = dc.api()
    user = exec_user(info, owner, mode=mode)
    with dc.engine_errors(f"start a program in {info.name}"):
        exec_id = api.exec_create(info.id, argv, user=user, workdir=WORKSPACE, stdout=False, stderr=False,
                                  environment=dict(env))["Id"]
        api.exec_start(exec_id, detach=True)


def program_environment(pid: int) -> dict[str, str]:
    """The environment of a container program by its host PID ({} when it cannot be read: only
    its own user and root may)."""
    try:
        raw = Path(f"/proc/{int(pid)}/environ").read_bytes()
    except (OSError, ValueError):
        return {}
    out: dict[str, str] = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            out[key.decode(errors="replace")] = value.decode(errors="replace")
    return out


@dataclass(frozen=True)
class Program:
    """A program running in a container: its host PID, seconds since it started, its command line."""

    pid: int
    seconds: int
    command: str


def other_programs(info: ContainerInfo) -> list[Program]:
    """What runs in the container besides its init and keep-alive command (``docker top``).

    A job left behind by a shell (``nohup train.py &``) is here; ``sleep infinity`` under the
    container's init is not. Oldest first.
    """
    import docker.errors

    api = dc.api()
    with dc.engine_errors(f"list the programs in {info.name}"):
        try:
            attrs = api.inspect_container(info.id)
            top = api.top(info.id, ps_args="-eo pid,ppid,etimes,args")
        except docker.errors.NotFound:
            return []
        except docker.errors.APIError:  # not running
            return []
    state = attrs.get("State") or {}
    conf = attrs.get("Config") or {}
    main_argv = " ".join([*(conf.get("Entrypoint") or []), *(conf.get("Cmd") or [])])
    init = int(state.get("Pid") or 0)
    titles = [t.upper() for t in top.get("Titles") or []]
    try:
        col = {name: titles.index(name) for name in ("PID", "PPID", "ELAPSED", "COMMAND")}
    except ValueError:
        return []
    out: list[Program] = []
    for row in top.get("Processes") or []:
        try:
            pid, ppid, secs = int(row[col["PID"]]), int(row[col["PPID"]]), int(row[col["ELAPSED"]])
        except (ValueError, IndexError):
            continue
        command = " ".join(row[col["COMMAND"]:])
        if pid == init or (ppid == init and command == main_argv):
            continue
        out.append(Program(pid, secs, command))
    return sorted(out, key=lambda p: -p.seconds)


def user_shell(info: ContainerInfo, owner: Identity) -> str:
    """The owner's login shell inside the container (from its passwd), /bin/sh when unknown."""
    with dc.engine_errors("read the container's users"):
        passwd = (_read_container_file(info.id, "/etc/passwd") or b"").decode()
    for line in passwd.splitlines():
        row = line.split(":")
        if len(row) >= 7 and row[2] == str(owner.uid) and row[6]:
            return row[6]
    return "/bin/sh"


# -- stats ----------------------------------------------------------------------------------


def stats_from_raw(raw: Mapping[str, Any]) -> dict[str, Any]:
    """CPU %, memory usage/limit/%, PIDs from one Docker stats sample (``docker stats``' formulas)."""
    cpu, pre = raw.get("cpu_stats") or {}, raw.get("precpu_stats") or {}
    cpu_delta = cpu.get("cpu_usage", {}).get("total_usage", 0) - pre.get("cpu_usage", {}).get("total_usage", 0)
    sys_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    ncpu = cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or []) or 1
    cpu_pct = (cpu_delta / sys_delta) * ncpu * 100.0 if sys_delta > 0 and cpu_delta > 0 else 0.0
    mem = raw.get("memory_stats") or {}
    details = mem.get("stats") or {}
    # Page cache is not the container's working set (docker stats subtracts it the same way).
    cache = details.get("inactive_file", details.get("total_inactive_file", 0))
    usage = max(int(mem.get("usage", 0)) - int(cache), 0)
    limit = int(mem.get("limit", 0))
    return {
        "cpu_percent": round(cpu_pct, 2),
        "memory_usage": usage,
        "memory_limit": limit,
        "memory_percent": round(usage / limit * 100.0, 2) if limit else 0.0,
        "pids": int((raw.get("pids_stats") or {}).get("current", 0)),
    }


def container_stats(infos: list[ContainerInfo]) -> list[dict[str, Any]]:
    """One stats row per running container, sampled in parallel (each sample takes ~1 s)."""
    from concurrent.futures import ThreadPoolExecutor

    import docker.errors

    running = [i for i in infos if i.running]
    api = dc.api()

    def sample(info: ContainerInfo) -> dict[str, Any] | None:
        try:
            raw = api.stats(info.id, stream=False)
        except docker.errors.NotFound:
            return None  # stopped and removed while we looked
        return {"name": info.name, "docker_name": info.docker_name, "user": info.user, **stats_from_raw(raw)}

    with dc.engine_errors("read container statistics"), ThreadPoolExecutor(max_workers=8) as pool:
        rows = list(pool.map(sample, running))
    return [r for r in rows if r is not None]


# -- definitions: what is needed to make a container again ----------------------------------


DEFINITION_FORMAT = 1


def definition_from_inspect(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-able definition (image, mounts, limits, labels, env, GPUs) from ``inspect`` output."""
    config, host = attrs.get("Config") or {}, attrs.get("HostConfig") or {}
    labels = dict(config.get("Labels") or {})
    get = labels.get
    env = dict(e.split("=", 1) for e in (config.get("Env") or []) if "=" in e)
    limits = {
        "nano_cpus": host.get("NanoCpus") or None,
        "mem_limit": host.get("Memory") or None,
        "memswap_limit": host.get("MemorySwap") or None,
        "shm_size": host.get("ShmSize") or None,
        "pids_limit": host.get("PidsLimit") or None,
        "cgroup_parent": host.get("CgroupParent") or None,
    }
    uuids: list[str] = []
    requests = host.get("DeviceRequests") or []
    for req in requests:
        uuids.extend(req.get("DeviceIDs") or [])
    rp = host.get("RestartPolicy") or {}
    policy = rp.get("Name") or "no"
    if policy == "on-failure" and rp.get("MaximumRetryCount"):
        policy = f"on-failure:{rp['MaximumRetryCount']}"
    fw = get(f"{lbl.AIME}.FRAMEWORK") or ""
    framework, _, version = fw.partition("-") if fw not in ("", "-", "custom") else ("", "", "")
    name, uid = split_docker_name(attrs.get("Name", ""))
    return {
        "format": DEFINITION_FORMAT,
        "name": get(f"{lbl.AIME}.NAME", name),
        "docker_name": attrs.get("Name", "").lstrip("/"),
        "user": get(lbl.AIME, ""),
        "uid": uid,
        "image": config.get("Image", ""),
        "image_id": attrs.get("Image", ""),
        "custom_image": bool(labels.get(f"{lbl.AIME}.CUSTOM_IMAGE")),
        "framework": framework or None,
        "version": version or None,
        "arch": get(f"{lbl.AIME}.ARCH"),
        "gpus": get(f"{lbl.AIME}.GPUS", "all"),
        "mounts": {
            "workspace": lbl.mount_value(get(f"{lbl.AIME}.WORK_MOUNT")),
            "data": lbl.mount_value(get(f"{lbl.AIME}.DATA_MOUNT")),
            "models": lbl.mount_value(get(f"{lbl.AIME}.MODELS_MOUNT")),
        },
        "limits": {k: v for k, v in limits.items() if v is not None},
        "device_requests": bool(requests),
        "device_uuids": uuids,
        "env": env,
        "labels": labels,
        "network_mode": host.get("NetworkMode") or "bridge",
        "restart_policy": policy,
    }


def container_definition(name: str, owner: Identity, *, any_user: bool = False) -> dict[str, Any]:
    info = find_container(name, owner, any_user=any_user)
    with dc.engine_errors(f"inspect container {info.name}", missing=f"Container {info.name!r} has gone."):
        attrs = dc.api().inspect_container(info.id)
    return definition_from_inspect(attrs)


def spec_from_definition(
    defn: Mapping[str, Any], owner: Identity, overrides: Mapping[str, Any] | None = None
) -> ContainerSpec:
    """The ContainerSpec that recreates ``defn`` for ``owner``; ``overrides`` replace spec fields."""
    if defn.get("format") != DEFINITION_FORMAT:
        raise UsageError(f"Unknown container definition format {defn.get('format')!r}; expected {DEFINITION_FORMAT}.")
    mounts = defn.get("mounts") or {}
    extra = {
        k: v for k, v in (defn.get("labels") or {}).items() if k.startswith("ds01.") and k not in lbl.ENGINE_DS01_KEYS
    }
    # A definition saved (or exported) before list values were joined with ";" carries "0,1".
    for key in lbl.LIST_KEYS:
        if isinstance(extra.get(key), str):
            extra[key] = label_policy.join_list(label_policy.split_list(extra[key]))
    # The GPU visibility variables are ds01's to set on every create (gpu_visibility_env): a saved
    # value (the image's "all", or the old slots' UUIDs) is never carried over.
    env = {k: v for k, v in (defn.get("env") or {}).items() if k not in GPU_VISIBILITY_KEYS}
    spec = ContainerSpec(
        name=str(defn.get("name")),
        owner=owner,
        image=str(defn.get("image")),
        workspace=Path(mounts.get("workspace") or owner.home / "workspace"),
        framework=defn.get("framework"),
        version=defn.get("version"),
        arch=defn.get("arch"),
        data=Path(mounts["data"]) if mounts.get("data") else None,
        models=Path(mounts["models"]) if mounts.get("models") else None,
        gpus_label=label_policy.join_list(label_policy.split_list(str(defn.get("gpus") or "all"))),
        resources=dict(defn.get("limits") or {}),
        device_uuids=tuple(defn.get("device_uuids") or ()),
        device_requests=bool(defn.get("device_requests")),
        env=env,
        extra_labels=extra,
        network_mode=str(defn.get("network_mode") or "bridge"),
        restart_policy=str(defn.get("restart_policy") or "no"),
        custom_image=bool(defn.get("custom_image")),
    )
    return replace(spec, **dict(overrides or {}))


def recreate_from_definition(
    defn: Mapping[str, Any],
    *,
    owner: Identity,
    overrides: Mapping[str, Any] | None = None,
    start: bool = False,
    progress: Progress | None = None,
) -> ContainerInfo:
    return create_container(spec_from_definition(defn, owner, overrides), start=start, progress=progress)


def refresh(info: ContainerInfo) -> ContainerInfo:
    """The same container as Docker sees it now."""
    for s in dc.list_containers([f"{lbl.AIME}"]):
        if s.id == info.id:
            return info_from_summary(s)
    raise NotFound(f"Container {info.name!r} has gone.")


def _user_spec(owner: Identity, mode: str = "group") -> str:
    return hardening_policy.hardening(mode, uid=owner.uid, gid=owner.gid).exec_user


def exec_user(info: ContainerInfo, owner: Identity, *, mode: str | None = None) -> str:
    """The ``user`` of an exec (shell or command) in ``info`` for ``owner``: never root for a user.

    Secure mode checks the container first (``policy.containers``) and runs the exec as the
    identity the container itself runs as, ``uid:gid``; a root exec is never requested.
    """
    mode = security_mode(mode)
    if mode == "secure" and owner.uid != 0:
        with dc.engine_errors(f"inspect container {info.name}", missing=f"Container {info.name!r} has gone."):
            attrs = dc.api().inspect_container(info.id)
        hardening_policy.check_container(mode, uid=owner.uid, gid=owner.gid, attrs=attrs, name=info.name)
        return str((attrs.get("Config") or {}).get("User") or _user_spec(owner, mode))
    return _user_spec(owner, mode)


def default_workspace(owner: Identity) -> Path:
    """``~/workspace`` of the owner (AIME's default), created and given to them when missing."""
    path = owner.home / "workspace"
    if not path.exists():
        try:
            path.mkdir(parents=True, mode=0o755)
            if os.geteuid() == 0 and owner.uid != 0:
                os.chown(path, owner.uid, owner.gid)
        except OSError as exc:
            raise UsageError(f"Cannot create your workspace {path}: {exc.strerror}; pass -w DIR.") from exc
    return path


def nvidia_runtime_available() -> bool:
    """Whether the engine can honour an NVIDIA device request (the toolkit registered its runtime)."""
    with dc.engine_errors("ask the Docker engine about its runtimes"):
        runtimes = dc.api().info().get("Runtimes") or {}
    return "nvidia" in runtimes
