"""``new-project`` (and ``project init``): the one flow that sets up a project.

The prompts here only fill in an ``InitRequest``, the same object the flags fill; the
``project_init`` orchestrator then does the work. A question is asked only on a terminal,
only without ``--yes``, only for a choice no flag made, and only for a step that is not
already done, so a re-run asks almost nothing and changes nothing.

``educational`` (``user setup``) asks a little more (git, Jupyter, data-science packages) and
explains each step; the streamlined form asks for the name, the base, the use case, the
extra packages and whether to create and start the container.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from ds01.errors import UsageError
from ds01.orchestrators import project_init as orch
from ds01.wizards import texts

if TYPE_CHECKING:
    from ds01.limits.config import Config
    from ds01.terminal import Terminal


def ask_name(term: Terminal, *, default: str = "") -> str:
    """Ask for a project name until it is one ds01 accepts (Ctrl-C cancels)."""
    while True:
        name = term.ask(
            "Project name (lowercase letters, digits, ., _ and -):", default=default, what="PROJECT"
        ).strip()
        try:
            return orch.validate_project(name)
        except UsageError as exc:
            term.error(exc.message)


def wizard_defaults(config: Config | None) -> dict[str, Any]:
    """The ``wizard:`` section of the configuration (empty when there is none)."""
    return dict(getattr(config, "wizard", None) or {})


def fill_request(
    term: Terminal,
    request: orch.InitRequest,
    found: orch.Survey,
    config: Config | None,
    *,
    given: Collection[str],
    educational: bool = False,
) -> None:
    """Ask for what no flag decided. ``given`` names the step flags set on the command line
    (``git``, ``image``, ``container``, ``run``)."""
    from ds01.units.images.create import CreateRequest
    from ds01.wizards.image_prompts import ask_phases

    if request.container and not found.container_exists and config is not None:
        # The container limit, the GPU quota and a free slot: refused before any question or build.
        orch.check_container_room(request, config)
    defaults = wizard_defaults(config)
    if request.image and not (request.base_image or request.framework) and defaults.get("default_framework"):
        # The admin's default framework: a sensible default, never a question.
        request.framework = str(defaults["default_framework"])
    if not term.can_prompt():
        return
    if educational and "git" not in given and not found.repo_exists:
        request.git = term.confirm("Make the project a git repository?", default=True)
    if "image" not in given and not found.image_exists:
        request.image = term.confirm(f"Build the image {request.project}-image now?", default=True)
    if request.image and not (found.dockerfile_exists and not request.image_choices_given()):
        image = CreateRequest(
            project=request.project,
            base_image=request.base_image,
            framework=request.framework,
            version=request.version,
            use_case=request.use_case or str(defaults.get("default_use_case") or "general-ml"),
            packages=list(request.packages),
            arch=request.arch,
        )
        ask_phases(
            term,
            image,
            orch.image_settings(config),
            ask_jupyter=educational and request.jupyter is None,
            ask_data_science=educational and request.data_science is None,
            ask_use_case=request.use_case is None,
            ask_packages=not request.packages,
        )
        request.base_image, request.framework, request.version = image.base_image, image.framework, image.version
        request.use_case, request.packages = image.use_case, list(image.packages)
        if educational:
            request.jupyter, request.data_science = image.jupyter, image.data_science
    if "container" not in given and not found.container_exists:
        request.container = term.confirm(f"Create the container {request.project} (it gets a GPU slot)?", default=True)
    if request.container and "run" not in given and not found.container_running:
        request.run = term.confirm("Start it now?", default=True)


def show_step(term: Terminal, outcome: orch.StepOutcome) -> None:
    mark = texts.STATUS_MARK.get(outcome.status, "?")
    line = f"{mark} {outcome.step}: {outcome.message}"
    if outcome.status == orch.DONE:
        term.info(term.style(line, "green"))
    elif outcome.status == orch.FAILED:
        term.info(term.style(line, "red", "bold"))
    elif outcome.status == orch.ALREADY:
        term.info(line)
    else:
        term.info(term.style(line, "dim"))
    for note in outcome.details.get("notes") or ():
        term.info("    " + note)


def execute(term: Terminal, request: orch.InitRequest, config: Config, *, ask_files: bool) -> orch.InitReport:
    """Check, then run the orchestrator with the steps shown as they finish."""
    prepared = orch.prepare(request, config)

    def on_start(step: str) -> None:
        if step in texts.STEP_GUIDE:
            term.guide(texts.STEP_GUIDE[step].replace("<project>", request.project))

    def on_build_line(line: str) -> None:
        if line.startswith(("Step ", "ERROR")):
            term.info("    " + line)

    ask: Callable[[str], bool] | None = None
    if ask_files and term.can_prompt():
        term.load_prompts()  # asked by the steps, which under sudo run dropped to the caller

        def ask(question: str) -> bool:
            return term.confirm(question, default=False, what="permission to replace a file")

    return orch.run_init(
        request,
        config,
        ask=ask,
        notify=lambda m: term.info("    " + m),
        on_start=on_start,
        on_step=lambda o: show_step(term, o),
        on_build_line=on_build_line,
        prepared=prepared,
    )


def next_steps(term: Terminal, report: orch.InitReport) -> None:
    """The commands that continue from where the project now stands."""
    project = report.project
    image = report.step("image-create")
    container = report.step("container-create")
    run = report.step("container-run")
    term.info(texts.NEXT_STEPS_TITLE)
    if image is not None and image.status == orch.SKIPPED:
        term.next_step(f"ds01 image create {project} --project-dockerfile", "build the image")
    if container is not None and container.status == orch.SKIPPED:
        term.next_step(f"ds01 container create {project}", "a container with a GPU slot")
    elif run is not None and run.status == orch.SKIPPED:
        term.next_step(f"ds01 container start {project}", "start it")
    term.next_step(f"ds01 container run {project}", "open a shell in it")
    term.next_step(f"ds01 vscode-setup {project}", "work on it from VS Code")


def open_shell(config: Config, report: orch.InitReport, owner: Any) -> int:
    """``container run``: a shell in the project's container (it is running after ``project init``)."""
    from ds01.units.containers.lifecycle import locate, run

    result = run(config, locate(report.container, owner))
    return result.exit_code
