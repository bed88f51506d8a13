"""Container definitions: what is needed to make a container again.

``definition_from_inspect(attrs)`` turns ``inspect`` output into a JSON-able definition,
``spec_from_definition`` turns one back into a ``ContainerSpec`` and
``recreate_from_definition`` creates it (SPEC §4: a released GPU removes the container,
``container run`` remakes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ds01.base import labels as lbl
from ds01.base.container_spec import GPU_VISIBILITY_KEYS, ContainerInfo, ContainerSpec, Progress
from ds01.base.engine import create_container, find_container, inspect_container
from ds01.base.names import SEPARATOR, split_docker_name
from ds01.errors import NotFound, UsageError
from ds01.identity import Identity
from ds01.policy import labels as label_policy
from ds01.records import replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
    """The definition of ``owner``'s container ``name`` (admins: ``any_user``).

    A Docker name (``NAME._.UID``) is inspected directly and must carry the owner's label, as a
    listing would have found it; a display name is looked up first."""
    if SEPARATOR in name:
        try:
            attrs = inspect_container(name)
        except NotFound:
            attrs = None
        labels = ((attrs or {}).get("Config") or {}).get("Labels") or {}
        if attrs is not None and labels.get(lbl.AIME) and (any_user or labels.get(lbl.AIME) == owner.name):
            return definition_from_inspect(attrs)
    info = find_container(name, owner, any_user=any_user)
    return definition_from_inspect(inspect_container(info.id, info.name))


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
