"""``ds01 dir-create PROJECT [--dir PATH]``: the folder layout of a project."""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option
from ds01.cli.project._common import absolute, as_caller, asker, force_option, report


@click.command("dir-create")
@click.argument("project", required=False)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project directory itself (default: ~/workspace/PROJECT).",
)
@force_option
@json_option
@guided_option
@pass_app
def command(app: App, project: str | None, directory: Path | None, force: bool, as_json: bool) -> None:
    """Create PROJECT's folders: data/, notebooks/, src/, models/, outputs/.

    Each folder gets a README.md saying what belongs there. Re-running completes a
    layout and changes nothing that is already there.
    """
    from ds01.units.project.files import home_of, validate_project_name
    from ds01.units.project.layout import FOLDERS, create_layout

    term = app.terminal
    if project is None:
        project = term.ask("Project name (lowercase letters, digits, ., _ and -):", what="PROJECT").strip()
    term.guide(
        "A project is one folder in your workspace (~/workspace). ds01 containers mount the workspace "
        "at /workspace, so what you put here is visible inside your containers and survives them."
    )
    for name, purpose in FOLDERS.items():
        term.guide(f"{name}/: {purpose}")
    validate_project_name(project)
    result = as_caller(
        app.identity,
        create_layout,
        project,
        directory=absolute(directory),
        home=home_of(app.identity),
        force=force,
        ask=asker(term),
    )
    if as_json:
        term.json(result.to_json())
        return
    report(term, result)
    term.success(f"Project folders ready in {result.path}")
    term.guide("Next: make it a git repository, so every change to your code is kept.")
    term.next_step(f"ds01 git-init {result.path}")
