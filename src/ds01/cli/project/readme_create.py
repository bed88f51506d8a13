"""``ds01 readme-create [PATH]``: the project's README.md."""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option
from ds01.cli.project._common import absolute, as_caller, asker, force_option, report


@click.command("readme-create")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", "project", help="Project name used in the commands (default: the folder's name).")
@force_option
@json_option
@guided_option
@pass_app
def command(app: App, path: Path | None, project: str | None, force: bool, as_json: bool) -> None:
    """Write README.md in PATH (default: the current directory).

    It explains the folders, building the image, creating and entering the container,
    where data goes and how to give the GPU back. An existing README is never replaced
    without asking (or --force).
    """
    from ds01.units.project.readme import create_readme

    term = app.terminal
    term.guide(
        "The README is the first thing you (or your supervisor) read when coming back to the project: "
        "it lists the commands to rebuild and run everything."
    )
    result = as_caller(
        app.identity, create_readme, absolute(path) or Path.cwd(), project=project, force=force, ask=asker(term)
    )
    if as_json:
        term.json(result.to_json())
        return
    report(term, result)
    term.success(f"README for {result.project} in {result.path / 'README.md'}")
    term.next_step(f"ds01 image create {result.project}", "build the project's image")
