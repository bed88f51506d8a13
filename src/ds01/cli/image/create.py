"""``ds01 image create PROJECT``: choose packages phase by phase, write the Dockerfile, build."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option, yes_option

if TYPE_CHECKING:
    from ds01.terminal import Terminal


def ask_project(term: Terminal) -> str:
    """Ask for the project name until it is a valid one (Ctrl-C cancels; no terminal: usage error)."""
    from ds01.errors import UsageError
    from ds01.units.images.common import validate_project

    while True:
        name = term.ask("Project name (lowercase letters, digits, ., _ and -):", what="PROJECT").strip()
        try:
            return validate_project(name)
        except UsageError as exc:
            if not term.can_prompt():
                raise
            term.error(exc.message)


@click.command("create")
@click.argument("project", required=False)
@click.option("--framework", help="Framework from the catalog (e.g. Pytorch).")
@click.option("--version", "fw_version", help="Framework version from the catalog (e.g. 2.5.0).")
@click.option("--arch", help="GPU architecture for the catalog (default: MLC_ARCH or detected).")
@click.option("--base-image", help="A local image to build on instead of a catalog framework (never pulled).")
@click.option(
    "--jupyter/--no-jupyter", default=None, help="Phase 2: Jupyter (jupyter, jupyterlab, ipykernel, ipywidgets)."
)
@click.option(
    "--data-science/--no-data-science",
    default=None,
    help="Phase 3: data science (pandas, scipy, scikit-learn, matplotlib, seaborn).",
)
@click.option(
    "--use-case",
    type=click.Choice(["general-ml", "cv", "nlp", "rl", "custom"]),
    default=None,
    help="Phase 4: use-case packages (default general-ml).",
)
@click.option(
    "--packages",
    "package_args",
    multiple=True,
    help='Phase 5: your own pip specifiers, e.g. "pandas==1.5.3 torch-geometric".',
)
@click.option(
    "--requirements", type=click.Path(path_type=Path), help="Phase 5: read specifiers from a requirements file."
)
@click.option(
    "--system-packages",
    "system_args",
    multiple=True,
    help='Debian packages installed with apt first, e.g. "libgl1 ffmpeg".',
)
@click.option(
    "--project-dockerfile",
    "project_dockerfile",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[DIR]",
    help="Keep the Dockerfile in the project directory (default ~/workspace/PROJECT).",
)
@click.option("--build/--no-build", default=None, help="Build the image now (default: yes).")
@yes_option
@json_option
@guided_option
@pass_app
def command(
    app: App,
    project: str | None,
    framework: str | None,
    fw_version: str | None,
    arch: str | None,
    base_image: str | None,
    jupyter: bool | None,
    data_science: bool | None,
    use_case: str | None,
    package_args: tuple[str, ...],
    requirements: Path | None,
    system_args: tuple[str, ...],
    project_dockerfile: str | None,
    build: bool | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Write a Dockerfile for PROJECT and build the image PROJECT-image.

    On a terminal, missing choices are asked phase by phase; every choice also has a flag.
    """
    from ds01 import privsep
    from ds01.cli.image._shared import build_progress, settings
    from ds01.units.images import common, create
    from ds01.units.images.packages import (
        read_requirements,
        split_packages,
        split_system_packages,
        validate_system_packages,
    )
    from ds01.wizards import image_prompts

    term = app.terminal
    conf = settings(app)
    ident = app.identity
    asking = term.can_prompt() and not yes
    if not project:
        project = ask_project(term)
    common.validate_project(project)
    term.guide(
        "An image is a recipe's result: a framework base plus the packages you choose. Containers are started from it."
    )

    system = validate_system_packages([s for text in system_args for s in split_system_packages(text)])
    items: list[str] = []
    for text in package_args:
        items.extend(split_packages(text))
    if requirements is not None:
        # Read as the caller: a file they cannot read fails as it would at their own shell.
        items.extend(privsep.run_as(ident, read_requirements, common.caller_path(requirements, ident)))

    request = create.CreateRequest(
        project=project,
        base_image=base_image,
        framework=framework,
        version=fw_version,
        jupyter=True if jupyter is None else jupyter,
        data_science=True if data_science is None else data_science,
        use_case=use_case or "general-ml",
        packages=items,
        arch=arch,
        system_packages=system,
    )
    if project_dockerfile is not None:
        request.project_dockerfile = (
            common.caller_path(project_dockerfile, ident)
            if project_dockerfile
            else common.default_project_dir(project, ident)
        )
    # Preflight: a base given as flags (framework/version/architecture, or a local image) and the
    # image name are checked before the first question, not after the fifth.
    create.preflight(request, conf, ident)
    if asking:
        image_prompts.ask_phases(
            term,
            request,
            conf,
            ask_jupyter=jupyter is None,
            ask_data_science=data_science is None,
            ask_use_case=use_case is None,
            ask_packages=not package_args and requirements is None,
            ask_system=not system_args,
            identity=ident,
        )

    plan = create.plan_create(request, conf, ident)
    state = create.existing_state(plan, ident)
    overwrite = yes
    if state == "edited" and asking:
        overwrite = term.confirm(f"{plan.location.dockerfile} was changed by hand. Replace it?", default=False)
    create.write_dockerfile(plan, ident, overwrite_edited=overwrite)
    term.success(f"Dockerfile written: {plan.location.dockerfile}")

    do_build = build
    if do_build is None:
        do_build = term.confirm(f"Build {plan.image} now?", default=True) if asking else True
    image_id = None
    if do_build:
        term.guide("Building runs each RUN line in order; the first build of a framework takes longest.")
        with build_progress(app, plan.image) as on_line:
            image_id = common.build(
                project=plan.project,
                location=plan.location,
                identity=ident,
                base_image=plan.base_image,
                framework=plan.framework,
                on_line=on_line,
                settings=conf,
            )
        term.success(f"Built {plan.image}:latest ({image_id[7:19]})")
    if as_json:
        term.json(plan.to_json(built=bool(do_build), image_id=image_id))
    term.info("Next:")
    if do_build:
        term.next_step(f"ds01 container create {plan.project}", "a container from this image")
    else:
        term.next_step(f"ds01 image update {plan.project} --build", "build it later")
