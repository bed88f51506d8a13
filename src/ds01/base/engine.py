"""The AIME-compatible container engine: create, find, start, stop, remove, list.

Tier 2 units build on these functions; ``ds01 mlc`` is their thin command-line skin.

- ``ContainerSpec`` (``ds01.base.container_spec``) -> ``create_container(spec, *, start=False, progress=None)
  -> ContainerInfo``: everything is validated before Docker is touched (``container_spec.plan_create``);
  whatever a failed create made (the container, an image it pulled) is removed again.
- ``find_container(name, owner, *, any_user=False) -> ContainerInfo`` (display or Docker name).
- ``list_containers(owner, *, running_only=False, size=False)`` (one sparse call).
- ``start_container``, ``stop_container(info, *, timeout, force)``, ``remove_container(info, *, force)``
  (404/409 mean "already done" and return False).

``find_container`` to ``remove_container`` (and ``inspect_container``, ``check_before_start``,
``bind_sources``) live in ``ds01.base.running``, which a command acting on an existing container
imports without the create path's modules; they are reachable here as well.

Beside it: ``ds01.base.container_spec`` (the spec and its plan, no Docker), ``ds01.base.execs`` (commands
and programs in a container), ``ds01.base.stats`` (``docker stats`` figures) and
``ds01.base.container_defs`` (what is needed to make a container again).

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
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from ds01 import rollback
from ds01.base import docker_client as dc
from ds01.base import engine_api, image_etc, running
from ds01.base.container_info import info_from_api
from ds01.base.container_spec import (
    KEEPALIVE,
    NOTEBOOK_PORT,
    WORKSPACE,
    ContainerInfo,
    ContainerSpec,
    Progress,
    notebook_publishable,
    plan_create,
)
from ds01.errors import GpuLibraryError, NotFound, OperationFailed, UsageError
from ds01.identity import Identity, sanitize
from ds01.policy import containers as hardening_policy
from ds01.policy import labels as label_policy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# What acts on existing containers lives in ``base.running``; callers reach it here too.
bind_sources = running.bind_sources
check_before_start = running.check_before_start
find_container = running.find_container
inspect_container = running.inspect_container
list_containers = running.list_containers
remove_container = running.remove_container
start_container = running.start_container
stop_container = running.stop_container


# -- create ---------------------------------------------------------------------------------


def image_present(image: str) -> bool:
    return image_attrs(image) is not None


def image_labels(image: str) -> dict[str, str] | None:
    """The labels of a local image (``{}`` when it has none), or None when it is not here."""
    attrs = image_attrs(image)
    return None if attrs is None else dict((attrs.get("Config") or {}).get("Labels") or {})


def image_attrs(image: str) -> dict[str, Any] | None:
    """The engine's inspect data of a local image, or None when it is not here."""
    try:
        return dict(engine_api.request_json("GET", f"/images/{image}/json", action=f"look up image {image}") or {})
    except dc.EngineNotFound:
        return None


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


def _device_requests(spec: ContainerSpec) -> list[dict[str, Any]] | None:
    """The Engine API's ``DeviceRequests``: the allocated GPUs by UUID (or a count of them)."""
    if not spec.device_requests:
        return None
    if spec.device_uuids:
        ids, count = list(spec.device_uuids), 0
    else:
        ids, count = [], spec.gpu_count
    return [{"Driver": "nvidia", "Count": count, "DeviceIDs": ids, "Capabilities": [["gpu"]], "Options": {}}]


_RESOURCE_FIELDS = {
    "nano_cpus": "NanoCpus",
    "mem_limit": "Memory",
    "memswap_limit": "MemorySwap",
    "shm_size": "ShmSize",
    "pids_limit": "PidsLimit",
    "cgroup_parent": "CgroupParent",
}
_SIZE_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _resource_value(key: str, value: Any) -> Any:
    """A resource as the Engine API takes it; sizes may be written ``512m`` (read as the SDK reads them)."""
    if key == "cgroup_parent":
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and key in ("mem_limit", "memswap_limit", "shm_size"):
        text = value.strip().lower()
        digits, unit = (text[:-1], text[-1]) if text and text[-1] in _SIZE_UNITS else (text, "b")
        if digits.isdigit():
            return int(digits) * _SIZE_UNITS[unit]
    raise UsageError(f"Resource setting {key} must be a whole number (got {value!r}).")


def create_body(spec: ContainerSpec, plan: Any, labels: Mapping[str, str]) -> dict[str, Any]:
    """The ``POST /containers/create`` body of ``spec`` (``plan``: its ``container_spec.plan_create``)."""
    harden = plan.hardening
    publish = notebook_publishable(plan.network_mode)
    host: dict[str, Any] = {
        "Binds": [f"{src}:{b['bind']}:{b['mode']}" for src, b in plan.binds.items()],
        "Privileged": harden.privileged,
        "IpcMode": harden.ipc_mode,
        "CgroupnsMode": harden.cgroupns,
        "Init": True,
        "NetworkMode": plan.network_mode,
        "RestartPolicy": plan.restart,
    }
    if harden.cap_drop:
        host["CapDrop"] = list(harden.cap_drop)
    if harden.security_opt:
        host["SecurityOpt"] = list(harden.security_opt)
    if publish:
        # The notebook port, published on the server's localhost only, on a port the engine
        # picks free at each start (``published_port`` reads it back).
        host["PortBindings"] = {f"{NOTEBOOK_PORT}/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    devices = _device_requests(spec)
    if devices:
        host["DeviceRequests"] = devices
    for key, value in spec.resources.items():
        if value is not None:
            host[_RESOURCE_FIELDS[key]] = _resource_value(key, value)
    body: dict[str, Any] = {
        "Image": spec.image,
        "Cmd": list(KEEPALIVE),
        "User": harden.user,
        "WorkingDir": WORKSPACE,
        "Labels": dict(labels),
        "Env": [f"{k}={v}" for k, v in plan.env.items()],
        "Hostname": spec.name.lower().replace("_", "-")[:63],
        "Tty": False,
        "OpenStdin": False,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "HostConfig": host,
    }
    if publish:
        body["ExposedPorts"] = {f"{NOTEBOOK_PORT}/tcp": {}}
    return body


def install_user(
    cid: str, owner: Identity, harden: hardening_policy.Hardening | None = None, *, image_id: str | None = None
) -> None:
    """Write the caller's passwd/group entries, home and (group mode only) sudoers rule into a
    created container, in one ``put_archive``.

    ``image_id``: the image the container was made from; what the setup reads from the image
    (passwd, group, whether it has /etc/sudoers.d) is then taken from ``image_etc`` when it was
    read for that image before, and kept there when it is read now."""
    if owner.uid == 0:
        return
    from ds01.base.users import UserEntry, build_archive, choose_shell, sudoers_line, with_user

    if harden is None:
        harden = hardening_policy.hardening("group", uid=owner.uid, gid=owner.gid)
    shared = harden.mode == "group"
    facts = image_etc.load(image_id, shared=shared) if image_id else None
    if facts is None:
        facts = _read_etc(cid)
        if image_id:
            image_etc.save(image_id, facts, shared=shared)
    home = str(owner.home)
    entry = UserEntry(owner.name, owner.uid, owner.gid, home, choose_shell(facts.passwd))
    new_passwd, new_group = with_user(facts.passwd, facts.group, entry, harden.groups)
    files = {"/etc/passwd": (new_passwd.encode(), 0o644), "/etc/group": (new_group.encode(), 0o644)}
    if harden.sudo_rule and facts.sudoers_d:
        files[f"/etc/sudoers.d/ds01-{sanitize(owner.name)}"] = (sudoers_line(owner.name).encode(), 0o440)
    dirs = {home: (owner.uid, owner.gid, 0o755)}
    engine_api.request(
        "PUT",
        f"/containers/{cid}/archive",
        query={"path": "/"},
        body=build_archive(files, dirs),
        content_type="application/x-tar",
        action="set up your user in the container",
    )


def _read_etc(cid: str) -> image_etc.EtcFacts:
    """What the user setup needs, read out of a created container."""
    from ds01.base.execs import read_container_file

    action = "set up your user in the container"
    passwd = (read_container_file(cid, "/etc/passwd", action=action) or b"").decode()
    group = (read_container_file(cid, "/etc/group", action=action) or b"").decode()
    return image_etc.EtcFacts(passwd, group, container_path_exists(cid, "/etc/sudoers.d", action=action))


def container_path_exists(cid: str, path: str, *, action: str) -> bool:
    """Whether ``path`` exists in the container (the archive API's HEAD: a stat, no content)."""
    try:
        engine_api.request("HEAD", f"/containers/{cid}/archive", query={"path": path}, action=action)
    except dc.EngineNotFound:
        return False
    return True


def create_container(spec: ContainerSpec, *, start: bool = False, progress: Progress | None = None) -> ContainerInfo:
    """Create (and with ``start`` start) one container; on any failure nothing is left behind.

    The engine is asked: the image (its labels), the create, the container's inspect data (the
    image it was really made from, whose passwd and group the user setup starts from) and one
    write of the user setup; with ``start``, the start. A name taken by someone else's
    container is the engine's 409 to the create, not a lookup before it."""
    return make_container(spec, start=start, progress=progress)[0]


def make_container(
    spec: ContainerSpec,
    *,
    start: bool = False,
    progress: Progress | None = None,
    image: Mapping[str, Any] | None = None,
) -> tuple[ContainerInfo, dict[str, Any]]:
    """``create_container``, also returning the container's inspect data as the engine gave it
    right after the create (what a definition is made from). ``image``: the image's inspect data
    when the caller has just looked it up (and checked it), so it is not asked for again."""
    plan = plan_create(spec)
    pulled = False
    if image is None:
        image = image_attrs(spec.image)
    if image is None:
        if spec.custom_image:
            raise UsageError(
                f"Image {spec.image!r} is not on this server; --image uses local images only "
                "(build it first, or list them with `ds01 image list`)."
            )
        if progress:
            progress(f"Pulling {spec.image} (first use on this server)…")
        pull_image(spec.image, progress)
        pulled = True
        image = image_attrs(spec.image) or {}
    # Every ds01.*/aime.mlc.* key on the container is written here: an image's own label in
    # those namespaces (a Dockerfile's ``LABEL ds01.gpu.slots=0``) is overridden, never inherited.
    labels = label_policy.container_labels(plan.labels, dict((image.get("Config") or {}).get("Labels") or {}))
    harden = plan.hardening
    body = create_body(spec, plan, labels)
    cid: str | None = None
    try:
        try:
            created = engine_api.request_json(
                "POST",
                "/containers/create",
                query={"name": plan.docker_name},
                payload=body,
                action=f"create container {spec.name}",
            )
        except dc.Conflict as exc:
            raise UsageError(
                f"A container named {spec.name!r} already exists for you; choose another name "
                f"or remove it first (ds01 mlc remove {spec.name})."
            ) from exc
        cid = str(created["Id"])
        attrs = inspect_container(cid, spec.name)
        install_user(cid, spec.owner, harden, image_id=str(attrs.get("Image") or "") or None)
        state = "created"
        if start:
            with _no_gpu_driver(spec.name):
                engine_api.request("POST", f"/containers/{cid}/start", action=f"start container {spec.name}")
            state = "running"
    except BaseException as exc:
        _discard(exc, cid, spec.image if pulled else None)
        raise
    info = ContainerInfo(
        cid, plan.docker_name, spec.name, spec.owner.name, spec.owner.uid, spec.image, state, state, 0, labels
    )
    return info, attrs


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
        engine_api.request("GET", f"/containers/{name}/json", action="look up containers")
    except dc.EngineNotFound:
        return False
    return True


def _discard(error: BaseException, cid: str | None, image: str | None) -> None:
    """Remove what a failed create made. ``error`` (the create's) stays the one raised; what could
    not be removed is added to its details (``ds01.rollback``)."""
    steps = []
    if cid:
        steps.append(
            (
                f"remove the half-made container {cid[:12]}",
                lambda: _remove_quietly_if_gone(
                    f"remove container {cid[:12]}",
                    lambda: engine_api.request(
                        "DELETE",
                        f"/containers/{cid}",
                        query={"force": "1", "v": "1"},
                        action=f"remove container {cid[:12]}",
                    ),
                ),
            )
        )
    if image:
        from ds01.base.images import delete_image

        steps.append(
            (
                f"remove the image {image} pulled for it",
                lambda: _remove_quietly_if_gone(
                    f"remove image {image}",
                    lambda: image_etc.forget_deleted(delete_image(image, action=f"remove image {image}")),
                ),
            )
        )
    rollback.run(error, steps)


def _remove_quietly_if_gone(action: str, call: Callable[[], Any]) -> None:
    """A removal for an undo: done when it succeeds or the object is already gone (404)."""
    try:
        with dc.engine_errors(action):
            call()
    except dc.EngineNotFound:
        pass


# -- find, list, lifecycle ------------------------------------------------------------------


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
    from ds01.base.images import delete_image

    try:
        image_etc.forget_deleted(delete_image(ref, action=f"remove image {ref}"))
    except (dc.EngineNotFound, dc.Conflict):
        return False
    return True


def published_port(info: ContainerInfo, port: int = NOTEBOOK_PORT) -> int | None:
    """The server-localhost port Docker publishes the container's ``port`` on now (None: not published)."""
    attrs = inspect_container(info.id, info.name)
    bound = ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{port}/tcp") or []
    for b in bound:
        if b.get("HostIp") in ("127.0.0.1", "") and str(b.get("HostPort") or "").isdigit():
            return int(b["HostPort"])
    return None


def container_address(info: ContainerInfo) -> str | None:
    """The container's address on its (bridge) network, which the server itself can reach."""
    attrs = inspect_container(info.id, info.name)
    nets = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    for net in nets.values():
        if net.get("IPAddress"):
            return str(net["IPAddress"])
    return None


def refresh(info: ContainerInfo) -> ContainerInfo:
    """The same container as Docker sees it now (one listing of that container alone)."""
    found = engine_api.request_json(
        "GET",
        "/containers/json",
        query={"all": "1", "filters": json.dumps({"id": [info.id]})},
        action=f"look up container {info.name}",
    )
    for item in found or []:
        if item.get("Id") == info.id:
            return info_from_api(item)
    raise NotFound(f"Container {info.name!r} has gone.")


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
