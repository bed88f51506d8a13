"""``ds01 user new-project [PROJECT]`` (also ``new-project``): the streamlined project setup.

The same flow as ``project init`` (one code path), asking only for the name, the base, the
use case, extra packages and whether to create and start the container.
"""

from __future__ import annotations

from typing import Any

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option, yes_option
from ds01.cli.user._common import finish, project_options, run_project_flow


@click.command("new-project")
@click.argument("project", required=False)
@project_options
@click.option(
    "--shell/--no-shell", default=None, help="Open a shell in the container at the end (default: ask on a terminal)."
)
@yes_option
@json_option
@guided_option
@pass_app
def command(app: App, project: str | None, shell: bool | None, yes: bool, as_json: bool, **params: Any) -> int:
    """A new project in one go: folders, git, README, image, container.

    Concise questions with sensible defaults (General ML, Jupyter and data-science packages);
    every answer has a flag, and --yes takes the defaults. Same JSON as `project init`.
    """
    report = run_project_flow(app, project, params, yes=yes)
    return finish(app, report, as_json=as_json, shell=shell, yes=yes)
