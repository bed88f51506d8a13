"""What ``project init``, ``user new-project`` and ``user setup`` share: the project flags and
the one function that turns them into an ``InitRequest`` and runs the flow.

``project init`` and ``new-project`` are the same command under two names (the design treats
them as one flow); ``user setup`` wraps the same flow with SSH and VS Code around it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ds01.cli.app import App

if TYPE_CHECKING:
    from ds01.orchestrators.project_init import InitReport

F = TypeVar("F", bound=Callable[..., Any])

USE_CASE_CHOICES = ("general-ml", "cv", "nlp", "rl", "custom")

# (flag name, click parameter, help); each --X/--no-X is None unless given, so a prompt knows
# which steps the command line already decided.
_STEP_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("git", "--git/--no-git", "Make the project a git repository (default: yes)."),
    ("readme", "--readme/--no-readme", "Write the project's README.md (default: yes)."),
    ("image", "--image/--no-image", "Write the Dockerfile and build PROJECT-image (default: yes)."),
    ("container", "--container/--no-container", "Create the container PROJECT (default: yes)."),
    ("run", "--run/--no-run", "Start the container (default: yes)."),
)


def project_options(f: F) -> F:
    """The flags of the project flow, in the order its steps run."""
    options = [
        click.option(
            "--dir",
            "directory",
            type=click.Path(file_okay=False, path_type=Path),
            help="The project directory (default: ~/workspace/PROJECT).",
        ),
        *[click.option(decl, name, default=None, help=text) for name, decl, text in _STEP_FLAGS],
        click.option("--lfs", is_flag=True, help="Track large model and data files with Git LFS."),
        click.option(
            "--use-case",
            type=click.Choice(USE_CASE_CHOICES),
            default=None,
            help="Image packages for: general-ml (default), cv, nlp, rl, custom.",
        ),
        click.option("--framework", help="Framework from the catalog (e.g. Pytorch)."),
        click.option("--version", "fw_version", help="Framework version from the catalog (e.g. 2.5.0)."),
        click.option("--base-image", help="A local image to build on instead of a catalog framework."),
        click.option(
            "--packages",
            "package_args",
            multiple=True,
            help='Your own pip specifiers, e.g. "pandas==1.5.3 torch-geometric".',
        ),
        click.option("--jupyter/--no-jupyter", default=None, help="Jupyter in the image (default: yes)."),
        click.option(
            "--data-science/--no-data-science",
            default=None,
            help="pandas, scipy, scikit-learn, matplotlib, seaborn in the image (default: yes).",
        ),
        click.option("--arch", help="GPU architecture for the catalog (default: detected)."),
        click.option(
            "--gpus",
            type=click.IntRange(min=0),
            default=1,
            show_default=True,
            help="GPU slots for the container (0: none).",
        ),
        click.option(
            "--force",
            is_flag=True,
            help="Replace files (and a hand-edited Dockerfile) that differ from the ds01 version.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def build_request(app: App, project: str, params: dict[str, Any]) -> tuple[Any, set[str]]:
    """(InitRequest, the step flags given) from the parsed flags."""
    from ds01.orchestrators.project_init import InitRequest
    from ds01.units.images.packages import split_packages

    packages: list[str] = []
    for text in params.get("package_args") or ():
        packages.extend(split_packages(text))
    given = {name for name, _decl, _help in _STEP_FLAGS if params.get(name) is not None}

    def step(name: str) -> bool:
        value = params.get(name)
        return True if value is None else bool(value)

    request = InitRequest(
        project=project,
        owner=app.identity,
        directory=params.get("directory"),
        git=step("git"),
        lfs=bool(params.get("lfs")),
        readme=step("readme"),
        image=step("image"),
        container=step("container"),
        run=step("run"),
        use_case=params.get("use_case"),
        framework=params.get("framework"),
        version=params.get("fw_version"),
        base_image=params.get("base_image"),
        packages=packages,
        jupyter=params.get("jupyter"),
        data_science=params.get("data_science"),
        arch=params.get("arch"),
        gpus=int(params.get("gpus", 1)),
        force=bool(params.get("force")),
    )
    return request, given


def run_project_flow(
    app: App, project: str | None, params: dict[str, Any], *, yes: bool, educational: bool = False
) -> InitReport:
    """Ask (on a terminal, without --yes) for what the flags left open, then run ``project init``."""
    from ds01.orchestrators import project_init as orch
    from ds01.wizards import new_project

    term = app.terminal
    if yes:
        term.script_mode = True  # --yes: the defaults answer every question
    if not project:
        project = new_project.ask_name(term)
    request, given = build_request(app, project, params)
    config = app.config
    found = orch.survey(request, orch.image_settings(config))
    new_project.fill_request(term, request, found, config, given=given, educational=educational)
    return new_project.execute(term, request, config, ask_files=not yes)


def finish(app: App, report: InitReport, *, as_json: bool, shell: bool | None, yes: bool) -> int:
    """Show the result (JSON or next steps), fail with the step's error, or open a shell."""
    from ds01.wizards import new_project, texts

    term = app.terminal
    if as_json:
        term.json(report.to_json())
    if report.error is not None:
        raise report.error
    term.success(texts.DONE_SUMMARY.format(project=report.project))
    run_step = report.step("container-run")
    running = run_step is not None and run_step.status in ("done", "already done")
    if shell is None:
        shell = (
            running
            and not as_json
            and not yes
            and term.can_prompt()
            and term.confirm(f"Open a shell in {report.container} now?", default=False)
        )
    if shell and running:
        return new_project.open_shell(app.config, report, app.identity)
    if not as_json:
        new_project.next_steps(term, report)
    return 0
