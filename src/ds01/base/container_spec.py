"""The container spec and its plan: what a container will be, checked before Docker is touched.

``ContainerSpec`` is what a caller asks for; ``plan_create(spec)`` validates it (name, mounts
owned by the caller, resource keys, environment names, restart policy, security mode) and
computes the Docker name, labels, binds and environment. ``ContainerInfo`` is a container as
a listing sees it. Nothing here talks to Docker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from ds01.base import labels as lbl
from ds01.base.container_info import ContainerInfo as ContainerInfo  # listings' view, re-exported
from ds01.base.names import docker_name, validate_name
from ds01.errors import UsageError
from ds01.identity import Identity
from ds01.policy import containers as hardening_policy
from ds01.policy import labels as label_policy
from ds01.policy import mounts as mount_policy
from ds01.records import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

KEEPALIVE = ["sleep", "infinity"]
WORKSPACE, DATA, MODELS = "/workspace", "/data", "/models"
RESOURCE_KEYS = frozenset({"nano_cpus", "mem_limit", "memswap_limit", "shm_size", "pids_limit", "cgroup_parent"})
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
_ENV_KEY = r"[A-Za-z_][A-Za-z0-9_]*"  # compiled at its first use (re's cache)

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
        if not re.fullmatch(_ENV_KEY, key):
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
    label_policy.check_values(labels)  # no ',' in any value: AIME's `mlc list` splits on it
    binds = {str(ws): {"bind": WORKSPACE, "mode": "rw"}}
    if data:
        binds[str(data)] = {"bind": DATA, "mode": "rw"}
    if models:
        binds[str(models)] = {"bind": MODELS, "mode": "rw"}
    return _Plan(
        docker_name(spec.name, owner.uid),
        labels,
        binds,
        env,
        restart_policy(spec.restart_policy),
        spec,
        harden,
        network,
    )


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


# -- notebooks: a port inside the container, published on the server's localhost ---------------

NOTEBOOK_PORT = 8888


def notebook_publishable(network_mode: str) -> bool:
    """Whether containers on ``network_mode`` get the notebook port published (not ``none``)."""
    return str(network_mode or "bridge") != "none"
