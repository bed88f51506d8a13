"""``ds01 image update PROJECT``: add/remove packages by category, then rebuild."""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option, yes_option

CATEGORIES = ["system", "jupyter", "data-science", "use-case", "custom"]


@click.command("update")
@click.argument("project", required=False)
@click.option("--add", "add_args", multiple=True, help='Specifiers to add, e.g. "pandas==2.2.0 polars".')
@click.option("--remove", "remove_args", multiple=True, help='Package names to remove, e.g. "seaborn".')
@click.option(
    "--category",
    type=click.Choice(CATEGORIES),
    default=None,
    help="Category for --add (default custom) and --remove (default: any category); "
    "system = Debian packages installed with apt.",
)
@click.option(
    "--system-packages",
    "system_args",
    multiple=True,
    help='Debian packages to add to the apt phase, e.g. "libgl1 ffmpeg".',
)
@click.option("--jupyter/--no-jupyter", default=None, help="Add or drop the whole Jupyter category.")
@click.option("--data-science/--no-data-science", default=None, help="Add or drop the Data Science category.")
@click.option(
    "--use-case",
    type=click.Choice(["general-ml", "cv", "nlp", "rl", "custom"]),
    default=None,
    help="Switch the Use Case category to another use case's packages.",
)
@click.option(
    "--project-dockerfile",
    "project_dockerfile",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The Dockerfile is in this project directory.",
)
@click.option("--build/--no-build", default=None, help="Rebuild the image now (default: yes).")
@yes_option
@json_option
@guided_option
@pass_app
def command(
    app: App,
    project: str | None,
    add_args: tuple[str, ...],
    remove_args: tuple[str, ...],
    category: str | None,
    system_args: tuple[str, ...],
    jupyter: bool | None,
    data_science: bool | None,
    use_case: str | None,
    project_dockerfile: Path | None,
    build: bool | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Change the packages of PROJECT-image by category (Jupyter, Data Science, Use Case, Custom)."""
    from ds01.cli.image._shared import build_progress, settings, show_categories
    from ds01.units.images import common, update
    from ds01.units.images.packages import SYSTEM, split_packages, split_system_packages

    term = app.terminal
    conf = settings(app)
    ident = app.identity
    if project_dockerfile is not None:
        project_dockerfile = common.caller_path(project_dockerfile, ident)
    asking = term.can_prompt() and not yes
    if not project:
        from ds01.units.images.listing import list_images

        # One entry per project: its current image (older builds are untagged).
        projects = list(
            dict.fromkeys(i.project for i in list_images(ident) if i.project and not i.name.startswith("<untagged>"))
        )
        project = term.choose("Which image?", projects, what="PROJECT")
    changes = update.Changes(jupyter=jupyter, data_science=data_science, use_case=use_case)
    adds = [s for text in add_args for s in split_packages(text)]
    removes = [s for text in remove_args for s in split_packages(text)]
    if adds:
        changes.add[category or "custom"] = adds
    system_adds = [s for text in system_args for s in split_system_packages(text)]
    if system_adds:
        changes.add[SYSTEM] = [*changes.add.get(SYSTEM, []), *system_adds]
    if removes:
        changes.remove[category] = removes

    if changes.empty() and asking:
        current = update.plan_update(project, changes, conf, ident, project_dockerfile)
        show_categories(term, current.categories_with_system())
        cat = term.choose("Category to change:", CATEGORIES, what="--category", default="custom")
        text = term.ask(f"Packages to add to {cat} (space-separated, empty for none):", what="--add")
        if split_packages(text):
            changes.add[cat] = split_packages(text)
        present = current.categories_with_system()[cat]
        if present:
            gone = term.checkbox(f"Packages to remove from {cat}:", present, what="--remove")
            if gone:
                changes.remove[cat] = gone

    plan = update.plan_update(project, changes, conf, ident, project_dockerfile)
    if plan.changed:
        update.write(plan, ident)
        term.success(f"Updated {plan.location.dockerfile}: +{len(plan.added)} / -{len(plan.removed)} package(s)")
    elif not changes.empty():
        term.info("Nothing to change: the Dockerfile already says that.")
    if not as_json:
        show_categories(term, plan.categories_with_system())

    do_build = build
    if do_build is None:
        do_build = term.confirm(f"Rebuild {plan.image} now?", default=True) if asking else True
    image_id = None
    if do_build:
        doc = plan.dockerfile
        with build_progress(app, plan.image) as on_line:
            image_id = common.build(
                project=plan.project,
                location=plan.location,
                identity=ident,
                base_image=doc.base_image or "",
                framework=doc.framework,
                on_line=on_line,
                settings=conf,
            )
        term.success(f"Built {plan.image}:latest ({image_id[7:19]})")
    if as_json:
        term.json(plan.to_json(built=bool(do_build), image_id=image_id))
    if do_build:
        term.info("Containers keep the image they were created from; to use the new one:")
        term.next_step(f"ds01 container create {plan.project}", "after removing the old container")
