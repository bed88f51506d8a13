"""``container create``: plan, allocate, create, record -- or leave nothing behind.

The order is fixed (SPEC §4, §5): resolve the caller's limits, check
``max_containers_per_user``, validate name, image and mounts, and only then allocate GPU
slots in the ledger's write transaction. The container is created through the engine with
the limits as Docker parameters and the GPUs by UUID, the ledger row is confirmed and the
definition saved. Any failure after the allocation releases it and removes what was made.

``plan_create`` is the dry run: the same checks plus the slot the pure allocator WOULD
choose now, without recording anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ds01.errors import PolicyRefused, UsageError
from ds01.fsutil import locked_dir
from ds01.policy import labels as label_policy
from ds01.records import dataclass, field, replace
from ds01.rollback import Rollback
from ds01.units.containers import definitions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ds01.base.container_spec import ContainerInfo, ContainerSpec
    from ds01.identity import Identity
    from ds01.limits.config import Config
    from ds01.limits.resolver import ResolvedLimits
    from ds01.units.containers.choices import CatalogChoices, ImageCandidate, ImageChoices

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CreateRequest:
    name: str
    owner: Identity
    image: str | None = None  # a local image (never pulled)
    framework: str | None = None  # or FRAMEWORK VERSION from the catalog
    version: str | None = None
    gpus: int = 1  # 0: a CPU-only container, no allocation
    workspace: Path | None = None
    data: Path | None = None
    models: Path | None = None
    project: str | None = None  # the ds01.project label (default: the container name)
    project_dockerfile: bool = False  # the image is built from ~/workspace/<name>/Dockerfile
    arch: str | None = None
    wait: float | None = None  # seconds to wait for a free slot


@dataclass
class CreatePlan:
    request: CreateRequest
    spec: ContainerSpec
    docker_name: str
    limits: ResolvedLimits
    docker_args: list[str]
    resources: dict[str, Any]
    device_requests: bool
    backend: str
    containers_now: int
    image_source: str  # "image" | "catalog" | "project"
    slots: list[str] = field(default_factory=list)  # filled by the allocation (or the dry-run preview)
    uuids: list[str] = field(default_factory=list)
    refusal: str | None = None  # dry run: why the allocation would be refused now
    image_attrs: Mapping[str, Any] | None = field(default=None, repr=False)  # the image's inspect data, if looked up

    def to_json(self) -> dict[str, Any]:
        """The ``container create --dry-run --json`` object (documented in docs/user-guide.md)."""
        from ds01.limits.resolver import format_value

        spec = self.spec
        return {
            "name": spec.name,
            "docker_name": self.docker_name,
            "user": spec.owner.name,
            "group": self.limits.group,
            "image": spec.image,
            "image_source": self.image_source,
            "framework": spec.framework,
            "version": spec.version,
            "gpus": self.request.gpus,
            "slots": self.slots,
            "uuids": self.uuids,
            "refusal": self.refusal,
            "device_requests": self.device_requests,
            "inventory": self.backend,
            "mounts": {
                "workspace": str(spec.workspace),
                "data": str(spec.data) if spec.data else None,
                "models": str(spec.models) if spec.models else None,
            },
            "limits": {k: format_value(k, v) for k, v in self.limits.values.items()},
            "docker_args": self.docker_args,
            "resources": self.resources,
            "network_mode": spec.network_mode,
            "restart_policy": spec.restart_policy,
            "containers": {"now": self.containers_now, "max": self.limits.values.get("max_containers_per_user")},
        }


@dataclass
class CreateResult:
    plan: CreatePlan
    info: ContainerInfo
    definition: Path

    def to_json(self) -> dict[str, Any]:
        """The ``container create --json`` object: the plan's keys plus id and definition."""
        return {**self.plan.to_json(), "id": self.info.id[:12], "definition": str(self.definition)}


# -- pure helpers ------------------------------------------------------------------------------


def device_requests_for(setting: str, backend: str) -> bool:
    """``gpu_allocation.device_requests``: auto = Docker device requests only with real GPUs (nvml)."""
    if setting == "always":
        return True
    if setting == "never":
        return False
    return backend == "nvml"


def limits_summary(resources: dict[str, Any]) -> str:
    """The limits as Docker applies them (``--cpus`` is capped at the host's cores)."""
    from ds01.limits.units import format_size

    parts = []
    if resources.get("nano_cpus"):
        parts.append(f"CPUs {resources['nano_cpus'] / 1e9:g}")
    for key, label in (("mem_limit", "memory"), ("shm_size", "shm")):
        if resources.get(key):
            parts.append(f"{label} {format_size(int(resources[key]))}")
    if resources.get("pids_limit"):
        parts.append(f"PIDs {resources['pids_limit']}")
    return ", ".join(parts) or "no limits"


def count_ds01_containers(infos: list[ContainerInfo]) -> int:
    """What ``max_containers_per_user`` counts: the user's ds01 containers, running or not."""
    return sum(1 for i in infos if i.ds01_managed)


# -- image --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Image:
    ref: str
    custom: bool
    framework: str | None
    version: str | None
    arch: str | None
    source: str
    attrs: Mapping[str, Any] | None = field(default=None, compare=False)  # its inspect data, when looked up


def _arch(config: Config, explicit: str | None, *, required: bool) -> str | None:
    from ds01.base import catalog
    from ds01.gpu import facts

    backend = config.gpu_allocation.inventory
    cap = None
    if backend == "simulated":
        caps = facts.compute_capabilities(config)  # the topology alone: no slots are made
        cap = min(caps) if caps else None
    try:
        return catalog.resolve_arch(explicit, compute_capability=cap, detect=backend == "nvml")
    except UsageError:
        if required:
            raise
        return None


def _catalog_image(config: Config, req: CreateRequest) -> _Image:
    from ds01.base import catalog

    arch = _arch(config, req.arch, required=True)
    assert arch is not None
    cat = catalog.load_catalog(aime_catalog=Path(config.images.aime_catalog))
    if not req.framework:
        raise UsageError("A FRAMEWORK is required.")
    framework = cat.canonical_framework(req.framework)
    if not req.version:
        raise UsageError(f"A VERSION of {framework} is required; see `ds01 mlc create --help`.")
    entry = cat.lookup(framework, req.version, arch)
    return _Image(entry.image, False, entry.framework, entry.version, arch, "catalog")


def catalog_choices(config: Config, arch: str | None = None) -> CatalogChoices:
    """What FRAMEWORK VERSION may be on this server (``arch``: the ``--arch`` given); exit 2 when
    no architecture can be known."""
    from ds01.base import catalog
    from ds01.units.containers.choices import CatalogChoices

    resolved = _arch(config, arch, required=True)
    assert resolved is not None
    return CatalogChoices(resolved, catalog.load_catalog(aime_catalog=Path(config.images.aime_catalog)))


def _catalog_refs(config: Config) -> list[str]:
    """Every image the framework catalog names (all architectures); none when it cannot be read."""
    from ds01.base import catalog
    from ds01.errors import Ds01Error

    try:
        cat = catalog.load_catalog(aime_catalog=Path(config.images.aime_catalog))
    except Ds01Error:
        return []
    return [entry.image for entry in cat.entries]


def _policy_context(config: Config) -> dict[str, Any]:
    """What ``policy.images`` weighs besides the image itself: the catalog and the admin's list."""
    from ds01.base import images

    allowed = config.security.allowed_base_images
    return {"catalog_refs": _catalog_refs(config), "allowed_refs": allowed, "allowed_ids": images.ids_of(allowed)}


def settled_by_flags(req: CreateRequest) -> bool:
    """Whether flags name the image (``--image``, or FRAMEWORK and VERSION): nothing can be asked."""
    return bool(req.image or (req.framework and req.version))


def needs_image_choice(req: CreateRequest) -> bool:
    """Whether ``req`` leaves its image open (no ``--image``, no FRAMEWORK VERSION): ``create``
    then uses ``NAME-image``, and ``image_choices`` says whether that exists."""
    return not req.image and not req.framework


def image_choices(config: Config, req: CreateRequest) -> ImageChoices | None:
    """None when ``req`` settles its image (``--image``, FRAMEWORK, an existing ``NAME-image``);
    otherwise what it may choose from. Asks nothing: the caller passes the choice back as
    ``--image`` or FRAMEWORK VERSION in a new request."""
    from ds01.base import images
    from ds01.units.containers.choices import ImageChoices

    if not needs_image_choice(req):
        return None
    default = f"{req.name}-image"
    if images.image_exists(default):
        return None
    return ImageChoices(default, _build_command(req), _local_images(config, req.owner))


def _build_command(req: CreateRequest) -> str:
    return f"ds01 image create {req.name}" + (" --project-dockerfile" if req.project_dockerfile else "")


def _local_images(config: Config, owner: Identity) -> list[ImageCandidate]:
    """Local images the caller may use (``policy.images``), by ds01's records of whom it built or
    imported each image for and the config, never by an image's labels."""
    from ds01.base import images
    from ds01.policy import images as image_policy
    from ds01.units.containers.choices import ImageCandidate

    context = _policy_context(config)
    own: list[ImageCandidate] = []
    shared: list[ImageCandidate] = []
    for img in images.list_images([]):
        if not img.tags:
            continue
        record = images.owner_record(img.id)
        verdict = image_policy.judge(
            owner.uid,
            ref=img.tags[0],
            image_id=img.id,
            tags=img.tags,
            owner_uid=record["uid"] if record else None,
            **context,
        )
        if not verdict.allowed or verdict.why == "root":
            continue  # root may use any image, but is offered the same kinds as everyone
        (own if verdict.why == "own" else shared).extend(ImageCandidate(tag, verdict.why) for tag in sorted(img.tags))
    offered: dict[str, ImageCandidate] = {}
    for candidate in [*own, *shared]:
        offered.setdefault(candidate.ref, candidate)
    return list(offered.values())


def check_image(config: Config, ref: str, owner: Identity, *, inspected: Mapping[str, Any] | None = None) -> None:
    """Refuse (exit 3) an image the caller may not run, by the rule builds use (``policy.images``):
    their own project images (ds01's record of whom it built or imported an image for, never a
    label), catalog images and ``security.allowed_base_images``; root may use any. The refusal
    never names an image's owner. ``inspected``: the image's inspect data, when already at hand."""
    from ds01.base import images
    from ds01.policy import images as image_policy

    found = images.facts(ref, inspected=inspected)
    if found.id is None:
        raise UsageError(f"Image {ref!r} is not on this server; ds01 never pulls one for a container.")
    facts: dict[str, Any] = {
        "ref": ref,
        "image_id": found.id,
        "tags": found.tags,
        "owner_uid": found.owner_uid,
        "catalog_refs": _catalog_refs(config),
        "allowed_refs": config.security.allowed_base_images,
    }
    if image_policy.judge(owner.uid, **facts).allowed:
        return  # allowed by its record, its names or the caller: the allowed refs' ids are not needed
    image_policy.require(
        owner.uid, what="image", **facts, allowed_ids=images.ids_of(config.security.allowed_base_images)
    )


def resolve_image(config: Config, req: CreateRequest) -> _Image:
    """``--image`` > FRAMEWORK VERSION > ``NAME-image`` > exit 2 (``image_choices`` lists the rest)."""
    image = _resolve_image(config, req)
    if image.custom:
        check_image(config, image.ref, req.owner, inspected=image.attrs)
    return image


def _resolve_image(config: Config, req: CreateRequest) -> _Image:
    from ds01.base import images

    if req.image and (req.framework or req.version):
        raise UsageError("Give either --image IMG or FRAMEWORK VERSION, not both.")
    if req.image:
        attrs = images.inspect_local(req.image)
        if attrs is None:
            raise UsageError(
                f"Image {req.image!r} is not on this server; --image uses local images only "
                "(see `ds01 image list`, or build one with `ds01 image create NAME`)."
            )
        return _Image(req.image, True, None, None, _arch(config, req.arch, required=False), "image", attrs)
    if req.framework:
        return _catalog_image(config, req)
    default = f"{req.name}-image"
    attrs = images.inspect_local(default)
    if attrs is not None:
        return _Image(default, True, None, None, _arch(config, req.arch, required=False), "project", attrs)
    from ds01.units.containers.choices import ImageChoices

    raise UsageError(ImageChoices(default, _build_command(req), []).missing)


# -- plan ---------------------------------------------------------------------------------------


def check_request(req: CreateRequest) -> None:
    """The checks on the request alone (no config, no Docker): bad input fails before any work."""
    from ds01.base.names import validate_new_name

    validate_new_name(req.name)
    if req.gpus < 0:
        raise UsageError(f"--gpus must be 0 or more (got {req.gpus}).")


def _mine_and_free_name(req: CreateRequest) -> tuple[list[ContainerInfo], str]:
    """The caller's containers and the Docker name of the new one; refuses a name already theirs."""
    from ds01.base import engine
    from ds01.base.names import docker_name

    mine = engine.list_containers(req.owner.name)
    dname = docker_name(req.name, req.owner.uid)
    if any(i.docker_name == dname for i in mine):
        raise UsageError(
            f"You already have a container named {req.name!r}; open it with `ds01 container run {req.name}` "
            f"or remove it first with `ds01 container cleanup {req.name}`."
        )
    return mine, dname


@dataclass(frozen=True)
class Checked:
    """What the checks before a create found (``preflight``, or ``create`` under its lock): handed
    to ``plan_create`` so that nothing is looked up twice for one command."""

    request: CreateRequest
    limits: ResolvedLimits
    mine: list[ContainerInfo]  # the caller's containers
    docker_name: str
    count: int  # their ds01 containers (what max_containers_per_user counts)
    image: _Image | None  # None: not settled by flags (the picker or NAME-image settles it)


PREFLIGHT_MADE = ", so nothing was asked or made"
PREFLIGHT_AFTER = "Nothing was asked or made; `--gpus 0` makes a CPU-only container."


def _check(config: Config, req: CreateRequest, *, slots: bool, made: str, settled_only: bool) -> Checked:
    """The checks in the order a refusal is given: the request, an existing container of that
    name, the container limit (``made``: what its refusal adds), GPUs per container, with
    ``slots`` (and no ``--wait``) the GPU quota and a slot the user may take now, then the image
    (``settled_only``: only when flags settle it)."""
    from ds01.limits.resolver import resolve

    check_request(req)
    limits = resolve(config, req.owner.name)
    mine, dname = _mine_and_free_name(req)
    count = check_container_count(mine, limits.values.get("max_containers_per_user"), made=made)
    max_per = limits.values.get("max_gpus_per_container")
    if max_per is not None and req.gpus > max_per:
        raise PolicyRefused(f"You may use at most {max_per} GPU slot(s) per container (asked for {req.gpus}).")
    if slots and req.wait is None:
        check_slots(config, req.owner, dname, req.gpus, after=PREFLIGHT_AFTER)
    image = None
    if not settled_only or settled_by_flags(req):
        image = resolve_image(config, req)
    return Checked(req, limits, mine, dname, count, image)


def plan_create(
    config: Config, req: CreateRequest, *, preview: bool = False, checked: Checked | None = None
) -> CreatePlan:
    """Every check that can be made without changing anything; ``preview``: also the slot now.
    ``checked``: what ``preflight`` found for this request (its image is used when ``req`` still
    names the same one; the picker may have settled another)."""
    from ds01.base import container_spec
    from ds01.limits.resolver import container_resources, docker_run_args

    if checked is None:
        checked = _check(config, req, slots=False, made="", settled_only=False)
    owner = req.owner
    limits = checked.limits
    image = checked.image if checked.image is not None and checked.request == req else resolve_image(config, req)
    backend = config.gpu_allocation.inventory
    devices = device_requests_for(config.gpu_allocation.device_requests, backend)
    resources = container_resources(limits)
    workspace = req.workspace if req.workspace is not None else _default_workspace(req)
    labels = {"ds01.project": req.project or req.name, "ds01.gpu.slots": "", "ds01.gpu.uuids": ""}
    if limits.group:
        labels["ds01.group"] = limits.group
    spec = container_spec.ContainerSpec(
        name=req.name,
        owner=owner,
        image=image.ref,
        workspace=workspace,
        framework=image.framework,
        version=image.version,
        arch=image.arch,
        data=req.data,
        models=req.models,
        gpus_label="none",
        resources=resources,
        device_requests=devices if req.gpus > 0 else False,
        extra_labels=labels,
        network_mode=str(config.advanced.network_mode),
        restart_policy=str(config.advanced.restart_policy),
        custom_image=image.custom,
        security_mode=config.security.mode,
    )
    container_spec.plan_create(spec)  # names, mounts (owned by the caller), labels, restart policy
    plan = CreatePlan(
        req,
        spec,
        checked.docker_name,
        limits,
        docker_run_args(limits),
        resources,
        spec.device_requests,
        backend,
        checked.count,
        image.source,
        image_attrs=image.attrs,
    )
    if preview and req.gpus > 0:
        _preview(config, plan)
    return plan


def check_container_count(mine: list[ContainerInfo], cap: int | None, *, made: str = "", instead: str = "") -> int:
    """The user's ds01 containers (``mine``), refused (exit 3) when they are at ``cap``
    (``max_containers_per_user``). ``made``/``instead``: what the refusal stopped and the other way."""
    count = count_ds01_containers(mine)
    if cap is not None and count >= cap:
        raise PolicyRefused(
            f"You have {count} container(s) and your limit is {cap}{made}; remove one first "
            f"(`ds01 container list`, then `ds01 container cleanup NAME`){instead}."
        )
    return count


def check_slots(config: Config, owner: Identity, dname: str, gpus: int, *, after: str = "") -> None:
    """Whether ``gpus`` slots could be had for ``dname`` now (the GPU quota, a free slot the user
    may take), recording nothing: exit 3 (policy) or 4 (no capacity) with the allocator's
    reason and ``after`` (what was spared, the way forward)."""
    if gpus <= 0:
        return  # a CPU-only container: the GPU service is not even loaded
    from ds01.errors import NoCapacity
    from ds01.gpu import service

    decision, _inv = service.preview_allocation(config, owner.name, dname, gpus)
    if decision.ok:
        return
    cls = {"policy": PolicyRefused, "capacity": NoCapacity}.get(decision.refused or "", UsageError)
    raise cls(f"{decision.reason} {after}".strip(), details=list(decision.details))


def preflight(config: Config, req: CreateRequest, *, slots: bool = True) -> Checked:
    """Everything ``create`` would refuse that can be known before any question or work: the
    name, an existing container of that name, the container limit, GPUs per container, the GPU
    quota and a slot the user may take now (not with ``--wait``: the allocation waits; not with
    ``slots=False``: the dry run reports it instead), the image when given as flags (present and
    allowed; FRAMEWORK VERSION and the architecture in the catalog) and the mounts given. Raises;
    changes nothing. What it found serves the dry run's ``plan_create``; a real ``create`` after a
    question checks again under its lock."""
    from ds01.policy import mounts as mount_policy

    checked = _check(config, req, slots=slots, made=PREFLIGHT_MADE, settled_only=True)
    for path, what, writable in (
        (req.workspace, "workspace", True),
        (req.data, "data", False),
        (req.models, "models", False),
    ):
        if path is not None:
            mount_policy.resolve_for_create(path, req.owner.uid, what, writable=writable)  # as plan_create does
    return checked


def _default_workspace(req: CreateRequest) -> Path:
    from ds01.base import engine

    base = engine.default_workspace(req.owner)
    project_dir = base / req.name
    # A project made by `project init` has its own folder: mount that, not all of ~/workspace.
    if req.project_dockerfile or (project_dir / "Dockerfile").is_file():
        return project_dir
    return base


def _preview(config: Config, plan: CreatePlan) -> None:
    """The slots the allocator would choose now; nothing is recorded (the dry run)."""
    from ds01.gpu import service

    decision, inv = service.preview_allocation(config, plan.spec.owner.name, plan.docker_name, plan.request.gpus)
    if decision.ok:
        plan.slots = list(decision.slots)
        plan.uuids = [s.uuid for sid in decision.slots if (s := inv.slot(sid)) is not None]
    else:
        plan.refusal = decision.reason


# -- create -------------------------------------------------------------------------------------


@contextmanager
def user_lock(user: str) -> Iterator[None]:
    """Serialise one user's creates, so two at once cannot both pass max_containers_per_user.

    GPU slots need no such lock (the ledger transaction guards them); this is only the count.
    """
    with locked_dir(definitions.user_dir(user)):
        yield


def gpu_spec(spec: ContainerSpec, slots: list[str], uuids: list[str], seal: str | None = None) -> ContainerSpec:
    """The spec with its allocation: labels, the AIME GPUS label and the devices by UUID.

    ``seal`` (the ledger's ``ds01.allocation`` value for this allocation) lets reconcile confirm
    the container if this process dies between Docker's create and the ledger's confirmation."""
    labels = dict(spec.extra_labels)
    labels["ds01.gpu.slots"] = label_policy.join_list(slots)
    labels["ds01.gpu.uuids"] = label_policy.join_list(uuids)
    labels["ds01.allocation"] = seal or ""
    return replace(
        spec,
        extra_labels=labels,
        device_uuids=tuple(uuids),
        gpus_label=label_policy.join_list(slots) if slots else "none",
    )


def create(
    config: Config, req: CreateRequest, *, progress: Progress | None = None, preflight: bool = False
) -> CreateResult:
    """Create the container or raise; on any failure after allocating, nothing is left behind.
    ``req`` names its image (``--image``, FRAMEWORK VERSION or an existing ``NAME-image``): the
    picker of ``ds01.wizards.container_image`` settles it before.

    ``preflight``: no question came before (nothing ran ``preflight``), so the checks are the
    preflight's (its sentences, the GPU quota and a free slot before the image), made once here
    under the user's lock; the mounts are checked where the spec is planned, in the same order."""
    with user_lock(req.owner.name):
        if preflight:
            checked = _check(config, req, slots=True, made=PREFLIGHT_MADE, settled_only=False)
        else:
            checked = _check(config, req, slots=False, made="", settled_only=False)
        plan = plan_create(config, req, checked=checked)
        info, path = allocate_and_create(
            config,
            plan.spec,
            plan.docker_name,
            req.gpus,
            wait=req.wait,
            project=req.project or req.name,
            progress=progress,
            plan=plan,
        )
    return CreateResult(plan, info, path)


def allocate_and_create(
    config: Config,
    spec: ContainerSpec,
    dname: str,
    gpus: int,
    *,
    wait: float | None,
    project: str | None,
    progress: Progress | None = None,
    plan: CreatePlan | None = None,
) -> tuple[ContainerInfo, Path]:
    """Allocate ``gpus`` slots for ``dname``, create ``spec`` with them, confirm, save the definition.

    Shared by create and by the recreation of a released container (``container run``).
    """
    from ds01.base import container_defs, engine

    slots: list[str] = []
    uuids: list[str] = []
    seal: str | None = None
    # On failure every step done is undone (last first); the first error is the one raised,
    # with what could not be undone in its details.
    with Rollback() as undo:
        if gpus > 0:
            from ds01.gpu import service

            if progress:
                from ds01.limits.units import format_duration

                progress(
                    f"Allocating {gpus} GPU slot(s)"
                    + (f" (waiting up to {format_duration(int(wait))} for one to be free)…" if wait else "…")
                )

            def waiting(reason: str) -> None:
                # What it waits for and for how long (the spinner adds the time waited so far).
                if progress and wait:
                    progress(f"{reason.strip()} Waiting up to {format_duration(int(wait))} for a GPU slot…")

            result = service.allocate(config, spec.owner.name, dname, gpus, wait=wait, on_wait=waiting)
            undo.add(f"release the GPU slots of {dname}", lambda: service.release(dname, reason="create failed"))
            slots, uuids, seal = list(result.slots), list(result.uuids), result.seal
        if plan is not None:
            plan.slots, plan.uuids = slots, uuids
        full = gpu_spec(spec, slots, uuids, seal)
        if progress:
            progress(f"Creating container {spec.name}…")
        info, attrs = engine.make_container(full, progress=progress, image=plan.image_attrs if plan else None)
        undo.add(f"remove container {dname}", lambda: engine.remove_container(info, force=True))
        if gpus > 0:
            service.confirm(dname, container_id=info.id, user=spec.owner.name)
        defn = container_defs.definition_from_inspect(attrs)  # as inspected right after the create
        path = definitions.save(spec.owner.name, spec.name, defn, gpu_count=gpus, project=project)
    return info, path
