"""``project init``: a project from an empty home to a running container, one step at a time.

The steps, in order: dir-create -> git-init -> readme-create -> image-create ->
container-create -> container-run. Each step is a call of its unit (Tier 2); this module adds
the order, the skipping, the resumability and one report of what happened. It never prompts:
the command and the wizards fill an ``InitRequest`` (from flags or from questions) and hand it
over, so every path through ds01 that sets up a project runs this same code.

Everything that can be checked is checked before the first step acts (the name, the use case,
the package specifiers, the base image, whether the container can have an image), so bad input
creates nothing. Re-running is safe: a step whose result is already there reports
``already done`` and changes nothing.

When ds01 runs as root on behalf of a user (sudo), every step that touches the user's files or
runs their tools (the folders, git, the README, reading their Dockerfile) runs *as* that user
through ``ds01.privsep.run_as``: what it makes is theirs, and what they could not read or write
at their own shell it cannot read or write either. Only Docker and the ledger stay with root.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ds01 import privsep
from ds01.errors import Ds01Error, ExitCode, UsageError
from ds01.records import dataclass, field

if TYPE_CHECKING:
    from ds01.identity import Identity
    from ds01.limits.config import Config
    from ds01.units.images.create import ImagePlan
    from ds01.units.images.packages import ImageSettings

STEPS: tuple[str, ...] = (
    "dir-create",
    "git-init",
    "readme-create",
    "image-create",
    "container-create",
    "container-run",
)

# The four outcomes of a step (the ``status`` key of ``project init --json``).
DONE = "done"
ALREADY = "already done"
SKIPPED = "skipped"
FAILED = "failed"

Ask = Callable[[str], bool]
Notify = Callable[[str], None]


@dataclass
class InitRequest:
    """What to set up. ``None`` in an image choice means "not given": keep what exists, else the default."""

    project: str
    owner: Identity
    directory: Path | None = None  # default: ~/workspace/<project>
    git: bool = True
    lfs: bool = False
    readme: bool = True
    image: bool = True
    container: bool = True
    run: bool = True
    use_case: str | None = None
    framework: str | None = None
    version: str | None = None
    base_image: str | None = None
    packages: list[str] = field(default_factory=list)
    jupyter: bool | None = None
    data_science: bool | None = None
    arch: str | None = None
    gpus: int = 1
    force: bool = False  # replace files (and a hand-edited Dockerfile) that differ, without asking

    def image_choices_given(self) -> bool:
        """Did the caller say anything about the image's contents (as opposed to "keep what is there")?"""
        return bool(
            self.use_case
            or self.framework
            or self.version
            or self.base_image
            or self.packages
            or self.jupyter is not None
            or self.data_science is not None
        )


@dataclass
class StepOutcome:
    """One step's result: ``status`` is done / already done / skipped / failed."""

    step: str
    status: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "status": self.status, "message": self.message, "details": self.details}


@dataclass
class InitReport:
    """What ``project init`` did, step by step (the ``--json`` object, keys documented in docs)."""

    project: str
    directory: Path
    image: str
    container: str
    steps: list[StepOutcome] = field(default_factory=list)
    error: Ds01Error | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def step(self, name: str) -> StepOutcome | None:
        return next((s for s in self.steps if s.step == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "directory": str(self.directory),
            "image": self.image,
            "container": self.container,
            "ok": self.ok,
            "error": None if self.error is None else self.error.message,
            "exit_code": int(self.error.exit_code) if self.error is not None else int(ExitCode.OK),
            "steps": [s.to_json() for s in self.steps],
        }


@dataclass
class Survey:
    """What already exists for a project (read only; used to skip questions and steps)."""

    directory: Path
    dir_exists: bool
    repo_exists: bool
    readme_exists: bool
    dockerfile: Path
    dockerfile_exists: bool
    image_id: str | None
    container_exists: bool
    container_running: bool

    @property
    def image_exists(self) -> bool:
        return self.image_id is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "dir_exists": self.dir_exists,
            "repo_exists": self.repo_exists,
            "readme_exists": self.readme_exists,
            "dockerfile": str(self.dockerfile),
            "dockerfile_exists": self.dockerfile_exists,
            "image_id": self.image_id,
            "container_exists": self.container_exists,
            "container_running": self.container_running,
        }


# -- names and places ---------------------------------------------------------------------------


def validate_project(name: str) -> str:
    """A project name also names its image and its container: the one rule of ``ds01.base.names``."""
    from ds01.base.names import validate_new_name

    return validate_new_name(name, "project")


def project_dir(request: InitRequest) -> Path:
    from ds01.units.project.files import default_project_dir, home_of

    if request.directory is not None:
        directory = str(request.directory)
        if directory == "~" or directory.startswith("~/"):
            # The owner's ~, not that of the process (under sudo, HOME may be root's).
            directory = str(home_of(request.owner)) + directory[1:]
        return Path(directory).absolute()
    return default_project_dir(request.project, home_of(request.owner)).absolute()


def image_settings(config: Config | None) -> ImageSettings:
    from ds01.units.images.packages import ImageSettings

    return ImageSettings.from_config(getattr(config, "images", None), getattr(config, "security", None))


def _image_id(project: str, owner: Identity) -> str | None:
    from ds01.units.images.common import image_name
    from ds01.units.images.listing import list_images

    wanted = f"{image_name(project)}:latest"
    for info in list_images(owner):
        if info.name == wanted:
            return info.id
    return None


def _container_state(project: str, owner: Identity) -> tuple[bool, bool]:
    """(exists, running); a container whose GPU was released exists as its saved definition."""
    from ds01.errors import NotFound
    from ds01.units.containers.lifecycle import locate

    try:
        target = locate(project, owner)
    except NotFound:
        return False, False
    return True, bool(target.info is not None and target.info.running)


def _look(root: Path, dockerfile: Path) -> tuple[bool, bool, bool, bool]:
    """(directory, repository, README, Dockerfile) exist; run as the owner (their view of their files)."""
    return root.is_dir(), (root / ".git").exists(), (root / "README.md").exists(), dockerfile.is_file()


def _read_text(path: Path) -> str | None:
    """A file's text, or None when it is not a readable regular file; run as the owner."""
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


def read_as_owner(owner: Identity, path: Path) -> str | None:
    """The owner's file as the owner can read it (never with root's rights)."""
    return privsep.run_as(owner, _read_text, path)


def survey(request: InitRequest, settings: ImageSettings) -> Survey:
    """What is already there for ``request.project`` (directory, repo, README, image, container)."""
    from ds01.units.images.common import locate

    validate_project(request.project)
    root = project_dir(request)
    dockerfile = locate(request.project, settings, request.owner, root).dockerfile
    dir_exists, repo_exists, readme_exists, dockerfile_exists = privsep.run_as(request.owner, _look, root, dockerfile)
    exists, running = _container_state(request.project, request.owner)
    return Survey(
        directory=root,
        dir_exists=dir_exists,
        repo_exists=repo_exists,
        readme_exists=readme_exists,
        dockerfile=dockerfile,
        dockerfile_exists=dockerfile_exists,
        image_id=_image_id(request.project, request.owner),
        container_exists=exists,
        container_running=running,
    )


# -- the image step's plan ----------------------------------------------------------------------


@dataclass
class _ImageDecision:
    """How the image step will go, decided before anything acts."""

    mode: str  # "skip" | "existing" (build/keep the Dockerfile that is there) | "plan" (write ours)
    plan: ImagePlan | None = None


def _existing_recipe(found: Survey, owner: Identity) -> Any:
    """The project's Dockerfile, parsed (None when there is none or the owner cannot read it)."""
    from ds01.units.images import dockerfile as df

    if not found.dockerfile_exists:
        return None
    text = read_as_owner(owner, found.dockerfile)
    return None if text is None else df.parse(text)


def _plan_image(request: InitRequest, settings: ImageSettings, found: Survey, config: Config | None) -> _ImageDecision:
    from ds01.units.images.create import CreateRequest, plan_create
    from ds01.units.images.packages import DATA_SCIENCE, JUPYTER

    if not request.image:
        return _ImageDecision("skip")
    if found.dockerfile_exists and not request.image_choices_given():
        # Nothing new asked for: the project's Dockerfile (ours or edited) is the recipe.
        return _ImageDecision("existing")
    default_use_case = str((getattr(config, "wizard", None) or {}).get("default_use_case") or "general-ml")
    # A re-run that changes some choices keeps the others as the existing Dockerfile has them
    # (its base, whether it has Jupyter and the data-science packages, its use case).
    existing = _existing_recipe(found, request.owner)
    current = existing.packages() if existing is not None else {}
    keep_base = (
        existing is not None
        and bool(existing.base_image)
        and not (request.base_image or request.framework or request.version)
    )

    def phase_on(flag: bool | None, key: str) -> bool:
        if flag is not None:
            return flag
        return bool(current.get(key)) if existing is not None else True

    image_request = CreateRequest(
        project=request.project,
        base_image=existing.base_image if keep_base else request.base_image,
        framework=existing.framework if keep_base else request.framework,
        version=None if keep_base else request.version,
        jupyter=phase_on(request.jupyter, JUPYTER),
        data_science=phase_on(request.data_science, DATA_SCIENCE),
        use_case=request.use_case or (existing.use_case if existing is not None else None) or default_use_case,
        packages=list(request.packages),
        project_dockerfile=found.directory,
        arch=request.arch,
    )
    # A base taken from the project's own Dockerfile was checked when it was first built.
    return _ImageDecision("plan", plan_create(image_request, settings, request.owner, check_base=not keep_base))


def prepare(request: InitRequest, config: Config | None) -> tuple[Survey, _ImageDecision]:
    """Every check that can be made before acting; raises (exit 2 etc.) with nothing created."""
    from ds01.units.images.packages import check_use_case

    validate_project(request.project)
    if request.use_case is not None:
        check_use_case(request.use_case)
    if request.gpus < 0:
        raise UsageError(f"--gpus must be 0 or more (got {request.gpus}).")
    settings = image_settings(config)
    found = survey(request, settings)
    root = found.directory
    if not found.dir_exists and privsep.run_as(request.owner, os.path.lexists, root):
        raise UsageError(f"{root} exists and is not a directory; move it away or choose another --dir.")
    if request.container and not found.container_exists and config is not None:
        check_container_room(request, config)
    decision = _plan_image(request, settings, found, config)
    if request.container and not found.container_exists and decision.mode == "skip" and not found.image_exists:
        raise UsageError(
            f"The container needs the image {request.project}-image, which does not exist; drop --no-image "
            "or pass --no-container."
        )
    return found, decision


def check_container_room(request: InitRequest, config: Config) -> None:
    """Whether the container the last steps make can be had now -- the user's container limit,
    their GPU quota, a free slot they may take -- checked before any folder or image is made,
    so a refusal never comes after a build of many minutes."""
    from ds01.base import engine
    from ds01.base.names import docker_name
    from ds01.limits.resolver import resolve
    from ds01.units.containers.create import check_container_count, check_slots

    owner = request.owner
    check_container_count(
        engine.list_containers(owner.name),
        resolve(config, owner.name).values.get("max_containers_per_user"),
        made=", so the project's container could not be made; nothing was created",
        instead=", or set the project up without it (`ds01 project init --no-container`)",
    )
    check_slots(
        config,
        owner,
        docker_name(request.project, owner.uid),
        request.gpus,
        after="Nothing was created (checked before the image build); "
        "`ds01 project init --no-container` sets the project up without its container.",
    )


# -- the steps ----------------------------------------------------------------------------------


def _unit_outcome(step: str, result: Any, done_msg: str, already_msg: str) -> StepOutcome:
    details = result.to_json()
    if result.changed:
        return StepOutcome(step, DONE, done_msg, details)
    msg = already_msg
    if result.kept:
        msg += " (kept your own version of " + ", ".join(p.name for p in result.kept) + ")"
    return StepOutcome(step, ALREADY, msg, details)


def _step_dir(request: InitRequest, found: Survey, ask: Ask | None) -> StepOutcome:
    from ds01.units.project.layout import create_layout

    root = found.directory
    result = privsep.run_as(request.owner, create_layout, request.project, directory=root, force=request.force, ask=ask)
    return _unit_outcome(
        "dir-create", result, f"created the project folders in {root}", f"{root} already has the project folders"
    )


def _step_git(request: InitRequest, found: Survey, ask: Ask | None) -> StepOutcome:
    from ds01.units.project.git import init_repo

    # git reads the owner's ~/.gitconfig (hooks, fsmonitor): it runs as the owner, never as root.
    result = privsep.run_as(request.owner, init_repo, found.directory, lfs=request.lfs, force=request.force, ask=ask)
    done = "made it a git repository" + (" with a first commit" if result.committed else "")
    return _unit_outcome("git-init", result, done, "it is already a git repository")


def _step_readme(request: InitRequest, found: Survey, ask: Ask | None) -> StepOutcome:
    from ds01.units.project.readme import create_readme

    result = privsep.run_as(
        request.owner, create_readme, found.directory, project=request.project, force=request.force, ask=ask
    )
    return _unit_outcome("readme-create", result, "wrote README.md", "README.md is already there")


def _build(
    request: InitRequest,
    location: Any,
    base_image: str,
    framework: str | None,
    on_build_line: Notify | None,
    settings: ImageSettings | None = None,
) -> str:
    from ds01.units.images import common

    # The build log and its folder (~/dockerfiles/<project>) are written as the owner by the build.
    return common.build(
        project=request.project,
        location=location,
        identity=request.owner,
        base_image=base_image,
        framework=framework,
        on_line=on_build_line,
        settings=settings,
    )


def _step_image(
    request: InitRequest,
    found: Survey,
    decision: _ImageDecision,
    settings: ImageSettings,
    ask: Ask | None,
    on_build_line: Notify | None,
) -> StepOutcome:
    from ds01.units.images import common, create
    from ds01.units.images import dockerfile as df

    image = common.image_name(request.project)
    if decision.mode == "plan":
        plan = decision.plan
        assert plan is not None
        path = plan.location.dockerfile
        wanted = plan.dockerfile.render()
        current = read_as_owner(request.owner, path)
        if current == wanted and found.image_exists:
            return StepOutcome(
                "image-create",
                ALREADY,
                f"{image} is built from the same Dockerfile",
                plan.to_json(built=False, image_id=found.image_id),
            )
        state = create.existing_state(plan, request.owner)
        replace = request.force or (
            state == "edited" and ask is not None and ask(f"{path} was changed by hand. Replace it?")
        )
        if state != "edited" or replace:
            if current != wanted:
                create.write_dockerfile(plan, request.owner, overwrite_edited=True)
            image_id = _build(request, plan.location, plan.base_image, plan.framework, on_build_line, settings)
            return StepOutcome(
                "image-create", DONE, f"wrote {path} and built {image}", plan.to_json(built=True, image_id=image_id)
            )
        # A Dockerfile the user edited is theirs: build from it as it is (below), and say that the
        # choices given on this run were not applied.
        kept_note = (
            f"{path} was changed by hand, so it was kept and the image choices of this run were not "
            f"applied; change packages with `ds01 image update {request.project}`, or pass --force "
            "to replace the file."
        )
    else:
        kept_note = None
    location = common.locate(request.project, settings, request.owner, found.directory)
    text = read_as_owner(request.owner, location.dockerfile)
    if text is None:
        raise UsageError(f"Cannot read {location.dockerfile}; check that it is a file you can read.")
    parsed = df.parse(text)
    details: dict[str, Any] = {
        "project": request.project,
        "image": image,
        "dockerfile": str(location.dockerfile),
        "base_image": parsed.base_image,
        "framework": parsed.framework,
        "use_case": parsed.use_case,
        "packages": parsed.packages(),
        "edited": df.is_edited(text),
    }
    if kept_note is not None:
        details["notes"] = [kept_note]
    if found.image_exists:
        details.update(built=False, image_id=found.image_id)
        return StepOutcome(
            "image-create", ALREADY, f"{image} exists (Dockerfile {location.dockerfile} kept as it is)", details
        )
    if not parsed.base_image:
        raise UsageError(f"{location.dockerfile} has no FROM line; fix it or pass --force with a base to replace it.")
    image_id = _build(request, location, parsed.base_image, parsed.framework, on_build_line, settings)
    details.update(built=True, image_id=image_id)
    return StepOutcome("image-create", DONE, f"built {image} from the existing {location.dockerfile}", details)


def _step_container(request: InitRequest, found: Survey, config: Config, notify: Notify | None) -> StepOutcome:
    from ds01.units.containers.create import CreateRequest, create
    from ds01.units.images.common import image_name

    if found.container_exists:
        return StepOutcome(
            "container-create",
            ALREADY,
            f"container {request.project} already exists",
            {"name": request.project, "running": found.container_running},
        )
    result = create(
        config,
        CreateRequest(
            name=request.project,
            owner=request.owner,
            image=image_name(request.project),
            gpus=request.gpus,
            workspace=found.directory,
            project=request.project,
            project_dockerfile=True,
        ),
        progress=notify,
    )
    slots = ", ".join(result.plan.slots) or "none"
    return StepOutcome(
        "container-create", DONE, f"created container {request.project} (GPU slot {slots})", result.to_json()
    )


def _step_run(request: InitRequest, config: Config, notify: Notify | None) -> StepOutcome:
    from ds01.units.containers.lifecycle import ensure_running, locate

    target = locate(request.project, request.owner)
    if target.info is not None and target.info.running:
        return StepOutcome(
            "container-run",
            ALREADY,
            f"container {request.project} is already running",
            {"name": target.name, "docker_name": target.docker_name, "started": False, "recreated": False},
        )
    started = ensure_running(config, target, progress=notify)
    how = "recreated and started" if started.recreated else "started"
    return StepOutcome(
        "container-run",
        DONE,
        f"{how} container {request.project}",
        {
            "name": target.name,
            "docker_name": target.docker_name,
            "started": started.started,
            "recreated": started.recreated,
            "gpu_slots": started.slots,
        },
    )


def run_init(
    request: InitRequest,
    config: Config,
    *,
    ask: Ask | None = None,
    notify: Notify | None = None,
    on_start: Callable[[str], None] | None = None,
    on_step: Callable[[StepOutcome], None] | None = None,
    on_build_line: Notify | None = None,
    prepared: tuple[Survey, _ImageDecision] | None = None,
) -> InitReport:
    """Run the steps in order and report each one; stops at the first failure.

    Checks first (``prepare``: raises with nothing created). A step that fails is reported as
    ``failed`` with its message, the steps after it as ``skipped``; the error is kept in
    ``report.error`` for the caller to turn into the exit code. ``ask`` is consulted before a
    file that differs from the ds01 version is replaced (None: keep the user's file);
    ``on_start``/``on_step`` see each step begin and end, ``notify`` the units' progress lines
    and ``on_build_line`` the image build's log.
    """
    found, decision = prepared if prepared is not None else prepare(request, config)
    settings = image_settings(config)
    from ds01.units.images.common import image_name

    report = InitReport(request.project, found.directory, image_name(request.project), request.project)

    def record(outcome: StepOutcome) -> None:
        report.steps.append(outcome)
        if on_step is not None:
            on_step(outcome)

    wanted = {
        "dir-create": True,
        "git-init": request.git,
        "readme-create": request.readme,
        "image-create": request.image,
        "container-create": request.container,
        "container-run": request.container and request.run,
    }
    actions: dict[str, Callable[[], StepOutcome]] = {
        "dir-create": lambda: _step_dir(request, found, ask),
        "git-init": lambda: _step_git(request, found, ask),
        "readme-create": lambda: _step_readme(request, found, ask),
        "image-create": lambda: _step_image(request, found, decision, settings, ask, on_build_line),
        "container-create": lambda: _step_container(request, found, config, notify),
        "container-run": lambda: _step_run(request, config, notify),
    }
    for step in STEPS:
        if report.error is not None:
            record(StepOutcome(step, SKIPPED, "not run: an earlier step failed", {"reason": "earlier failure"}))
            continue
        if not wanted[step]:
            reason = "no container" if step == "container-run" and not request.container else "not requested"
            record(StepOutcome(step, SKIPPED, f"skipped ({reason})", {"reason": reason}))
            continue
        if on_start is not None:
            on_start(step)
        try:
            outcome = actions[step]()
        except Ds01Error as exc:
            report.error = exc
            outcome = StepOutcome(step, FAILED, exc.message, {"exit_code": int(exc.exit_code)})
        record(outcome)
    return report
