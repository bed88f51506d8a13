"""``image create``: validate the choices, write the Dockerfile, build ``{project}-image``.

``plan_create`` does every check (name, base image, package specifiers) and writes
nothing; ``write_dockerfile`` and ``common.build`` then act. Nothing is written when any
check fails. The unit never creates containers: the command prints the next step.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ds01.errors import NotFound, PolicyRefused, UsageError
from ds01.identity import Identity
from ds01.records import dataclass, field
from ds01.units.images import dockerfile as df
from ds01.units.images.common import (
    Location,
    check_name_is_ours,
    image_name,
    locate,
    read_file,
    require_usable_image,
    validate_project,
    write_file,
)
from ds01.units.images.packages import (
    CUSTOM,
    DATA_SCIENCE,
    JUPYTER,
    USE_CASE,
    ImageSettings,
    check_use_case,
    validate_specs,
    validate_system_packages,
)


@dataclass
class CreateRequest:
    """What the user chose (from flags or prompts)."""

    project: str
    base_image: str | None = None
    framework: str | None = None
    version: str | None = None
    jupyter: bool = True
    data_science: bool = True
    use_case: str = "general-ml"
    packages: list[str] = field(default_factory=list)
    project_dockerfile: Path | None = None
    arch: str | None = None
    system_packages: list[str] = field(default_factory=list)  # Debian names for the apt phase


@dataclass
class ImagePlan:
    """A validated image: where its Dockerfile goes and what it contains."""

    project: str
    image: str
    base_image: str
    framework: str | None
    use_case: str
    location: Location
    dockerfile: df.Dockerfile
    packages: dict[str, list[str]]
    system_packages: list[str] = field(default_factory=list)

    def to_json(self, *, built: bool, image_id: str | None = None) -> dict[str, Any]:
        return {
            "project": self.project,
            "image": self.image,
            "dockerfile": str(self.location.dockerfile),
            "built": built,
            "image_id": image_id,
            "base_image": self.base_image,
            "framework": self.framework,
            "use_case": self.use_case,
            "packages": self.packages,
            "system_packages": self.system_packages,
        }


def resolve_base(
    framework: str | None,
    version: str | None,
    base_image: str | None,
    settings: ImageSettings,
    *,
    arch: str | None = None,
    identity: Identity | None = None,
) -> tuple[str, str | None]:
    """(docker image, framework label such as ``Pytorch-2.5.0``) from ``--base-image`` or the catalog."""
    from ds01.base import images as docker_images

    if base_image:
        if framework or version:
            raise UsageError("Give either --base-image or --framework/--version, not both.")
        if not docker_images.image_exists(base_image):
            raise NotFound(
                f"Base image {base_image} is not present locally; ds01 never pulls custom images "
                "(build or load it first, or choose --framework/--version)."
            )
        if identity is not None:
            require_usable_image(base_image, settings, identity)
        return base_image, None
    if not framework:
        raise UsageError("A base is required: pass --framework F --version V, or --base-image IMAGE.")
    entry = catalog_entry(framework, version, settings, arch=arch)
    return entry.image, f"{entry.framework}-{entry.version}"


def catalog_entry(framework: str, version: str | None, settings: ImageSettings, *, arch: str | None = None):
    """The catalog row for ``framework``/``version`` on this host's GPU architecture.

    Without a version, the first one the catalog lists for the architecture (the newest in
    AIME's catalog).
    """
    from ds01.base import catalog as _catalog

    cat = _catalog.load_catalog(aime_catalog=settings.aime_catalog or _catalog.DEFAULT_AIME_CATALOG)
    resolved_arch = _catalog.resolve_arch(arch)
    if not version:
        versions = cat.versions(cat.canonical_framework(framework), resolved_arch)
        if not versions:
            raise NotFound(
                f"No {framework} images in the catalog for {resolved_arch}; frameworks there: "
                f"{', '.join(cat.frameworks(resolved_arch)) or '(none)'}."
            )
        version = versions[0]
    return cat.lookup(framework, version, resolved_arch)


def preflight(request: CreateRequest, settings: ImageSettings, identity: Identity) -> None:
    """What can be refused before any question: the project name, the image name being the
    caller's to (re)build, and a base given up front (framework, version and architecture in the
    catalog, or a local image the caller may use). Raises; changes nothing."""
    validate_project(request.project)
    if request.base_image or request.framework or request.version:
        resolve_base(
            request.framework, request.version, request.base_image, settings, arch=request.arch, identity=identity
        )
    check_name_is_ours(request.project, identity)


def plan_create(
    request: CreateRequest,
    settings: ImageSettings,
    identity: Identity,
    *,
    check_base: bool = True,
) -> ImagePlan:
    """Validate a request and compose its Dockerfile. Writes nothing."""
    project = validate_project(request.project)
    use_case = check_use_case(request.use_case)
    # Package validation first: it is the most common mistake and the cheapest check.
    custom = validate_specs(request.packages, allow_urls=settings.allow_urls)
    system = validate_system_packages(request.system_packages)
    if check_base:
        base, framework = resolve_base(
            request.framework, request.version, request.base_image, settings, arch=request.arch, identity=identity
        )
    else:
        base, framework = request.base_image or "", request.framework
    packages: dict[str, list[str]] = {
        JUPYTER: list(settings.phase_defaults(JUPYTER)) if request.jupyter else [],
        DATA_SCIENCE: list(settings.phase_defaults(DATA_SCIENCE)) if request.data_science else [],
        USE_CASE: list(settings.phase_defaults(USE_CASE, use_case)),
        CUSTOM: custom,
    }
    # Admin-configured lists are validated too: a bad config entry must not reach a build.
    for key in (JUPYTER, DATA_SCIENCE, USE_CASE):
        packages[key] = validate_specs(packages[key], allow_urls=settings.allow_urls)
    if check_base:  # both ask the engine; pure callers (previews, tests) skip them
        check_name_is_ours(project, identity)
    location = locate(project, settings, identity, request.project_dockerfile)
    recipe = df.generate(
        project=project,
        base_image=base,
        framework=framework,
        packages=packages,
        use_case=use_case,
        system_packages=system,
    )
    return ImagePlan(project, image_name(project), base, framework, use_case, location, recipe, packages, system)


def existing_state(plan: ImagePlan, identity: Identity | None = None) -> str:
    """``absent``, ``generated`` (ours, unchanged) or ``edited`` (changed by hand or not ours).

    Looked at as the caller (``identity``; the process's own rights when None)."""
    text = read_file(plan.location.dockerfile, identity)  # a folder they cannot read fails here
    if text is None:
        return "absent"
    return "edited" if df.is_edited(text) else "generated"


def write_dockerfile(plan: ImagePlan, identity: Identity, *, overwrite_edited: bool = False) -> Path:
    """Write the plan's Dockerfile atomically; an edited one is replaced only when allowed."""
    if existing_state(plan, identity) == "edited" and not overwrite_edited:
        raise PolicyRefused(
            f"{plan.location.dockerfile} was changed by hand; ds01 left it alone. Use `ds01 image update "
            f"{plan.project}` to change packages, or pass --yes to replace it."
        )
    write_file(plan.location.dockerfile, plan.dockerfile.render(), identity)
    return plan.location.dockerfile


def packages_text(items: Iterable[str]) -> str:
    return " ".join(items) or "(none)"
