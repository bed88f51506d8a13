"""``image update``: add or remove packages by category in a project's Dockerfile.

The Dockerfile is parsed back into its phase blocks (System packages, Jupyter, Data Science,
Use Case, Custom); lines the user added by hand are kept. The Dockerfile is read and written
as the caller. A category left empty disappears with its
``RUN`` line. The new file is written atomically only after every specifier validated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ds01.errors import NotFound, UsageError
from ds01.identity import Identity
from ds01.records import dataclass, field
from ds01.units.images import dockerfile as df
from ds01.units.images.common import (
    Location,
    check_name_is_ours,
    image_name,
    locate,
    read_file,
    validate_project,
    write_file,
)
from ds01.units.images.packages import (
    DATA_SCIENCE,
    JUPYTER,
    PHASE_TITLES,
    PHASES,
    SYSTEM,
    SYSTEM_TITLE,
    USE_CASE,
    ImageSettings,
    check_use_case,
    system_package_name,
    validate_specs,
    validate_system_packages,
)


@dataclass
class Changes:
    """Requested edits: specs to add per category, package names to remove per category
    (``None`` = from every category), whole default phases on/off, a new use case."""

    add: dict[str, list[str]] = field(default_factory=dict)  # "system": Debian names for the apt phase
    remove: dict[str | None, list[str]] = field(default_factory=dict)
    jupyter: bool | None = None
    data_science: bool | None = None
    use_case: str | None = None

    def empty(self) -> bool:
        return not (
            any(self.add.values())
            or any(self.remove.values())
            or self.jupyter is not None
            or self.data_science is not None
            or self.use_case
        )


@dataclass
class UpdatePlan:
    project: str
    image: str
    location: Location
    dockerfile: df.Dockerfile
    hand_edited: bool = False
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def categories(self) -> dict[str, list[str]]:
        return self.dockerfile.packages()

    def categories_with_system(self) -> dict[str, list[str]]:
        return {SYSTEM: self.dockerfile.system_packages(), **self.dockerfile.packages()}

    def to_json(self, *, built: bool, image_id: str | None = None) -> dict[str, Any]:
        return {
            "project": self.project,
            "image": self.image,
            "dockerfile": str(self.location.dockerfile),
            "added": self.added,
            "removed": self.removed,
            "built": built,
            "image_id": image_id,
            "use_case": self.dockerfile.use_case,
            "packages": self.categories(),
            "system_packages": self.dockerfile.system_packages(),
        }


def find_dockerfile(
    project: str, settings: ImageSettings, identity: Identity, project_dir: Path | None = None
) -> Location:
    """The project's Dockerfile: the given directory, else where its image says it was built
    from, else the default location."""
    if project_dir is not None:
        location = locate(project, settings, identity, project_dir)
    else:
        location = locate(project, settings, identity)
        if read_file(location.dockerfile, identity) is None:
            recorded = _recorded_dockerfile(project, identity)
            if recorded is not None:
                location = Location(recorded, location.build_log)
    if read_file(location.dockerfile, identity) is None:
        raise NotFound(
            f"No Dockerfile for project {project} at {location.dockerfile}; create one with "
            f"`ds01 image create {project}` (or pass --project-dockerfile DIR)."
        )
    return location


def _recorded_dockerfile(project: str, identity: Identity) -> Path | None:
    from ds01.base import images as docker_images

    found = docker_images.facts(f"{image_name(project)}:latest")
    if found.id is None or found.owner_uid != identity.uid:
        return None
    record = docker_images.owner_record(found.id) or {}
    return Path(record["dockerfile"]) if record.get("dockerfile") else None


def plan_update(
    project: str, changes: Changes, settings: ImageSettings, identity: Identity, project_dir: Path | None = None
) -> UpdatePlan:
    """Read the Dockerfile and apply the changes in memory. Writes nothing."""
    validate_project(project)
    # Validate every new specifier before reading anything else: bad input changes nothing.
    add = {
        key: (
            validate_system_packages(specs) if key == SYSTEM else validate_specs(specs, allow_urls=settings.allow_urls)
        )
        for key, specs in changes.add.items()
    }
    for key in [*add, *(k for k in changes.remove if k is not None)]:
        if key not in PHASES and key != SYSTEM:
            raise UsageError(f"Unknown category {key!r}; choose one of: {', '.join(PHASES)}.")
    if changes.use_case:
        check_use_case(changes.use_case)
    check_name_is_ours(project, identity)
    location = find_dockerfile(project, settings, identity, project_dir)
    text = read_file(location.dockerfile, identity)
    if text is None:
        raise NotFound(f"No Dockerfile for project {project} at {location.dockerfile}.")
    plan = UpdatePlan(project, image_name(project), location, df.parse(text), hand_edited=df.is_edited(text))
    apply_changes(plan, changes, add, settings)
    return plan


def apply_changes(plan: UpdatePlan, changes: Changes, add: dict[str, list[str]], settings: ImageSettings) -> None:
    """Apply validated changes to the plan's Dockerfile (pure)."""
    doc = plan.dockerfile
    # Named removals first, so `--remove x --no-jupyter` does not miss x already dropped.
    for key, names in changes.remove.items():
        if key == SYSTEM:
            removed = doc.remove_system(names)
        elif key is None:
            removed = doc.remove(None, names) + doc.remove_system(names)
        else:
            removed = doc.remove(key, names)
        missing = _not_found(names, removed)
        if missing:
            title = SYSTEM_TITLE if key == SYSTEM else PHASE_TITLES.get(key or "", "")
            where = f"the {title} category" if key else "the Dockerfile"
            raise NotFound(f"{', '.join(missing)} is not in {where} of {plan.project}; nothing was changed.")
        plan.removed += removed
    for key, flag in ((JUPYTER, changes.jupyter), (DATA_SCIENCE, changes.data_science)):
        if flag is True:
            plan.added += doc.add(key, list(settings.phase_defaults(key)))
        elif flag is False:
            current = doc.packages()[key]
            plan.removed += doc.remove(key, current)
    if changes.use_case:
        current = doc.packages()[USE_CASE]
        plan.removed += doc.remove(USE_CASE, current)
        defaults = list(settings.phase_defaults(USE_CASE, changes.use_case))
        plan.added += doc.add(USE_CASE, defaults, use_case=changes.use_case)
        phase = doc.phase(USE_CASE)
        if phase is not None:
            phase.use_case = changes.use_case
    for key, specs in add.items():
        plan.added += doc.add_system(specs) if key == SYSTEM else doc.add(key, specs)
    # A package both removed and re-added is a change of version, reported once as added.
    plan.removed = [r for r in plan.removed if r not in plan.added]


def _not_found(names: list[str], removed: list[str]) -> list[str]:
    from ds01.units.images.packages import package_name

    gone = {package_name(r) for r in removed} | {system_package_name(r) for r in removed}
    return [n for n in names if package_name(n) not in gone and system_package_name(n) not in gone]


def write(plan: UpdatePlan, identity: Identity) -> Path:
    text = plan.dockerfile.render(sign=not plan.hand_edited)
    write_file(plan.location.dockerfile, text, identity)
    return plan.location.dockerfile
