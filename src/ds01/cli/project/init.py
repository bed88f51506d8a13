"""``ds01 project init PROJECT`` (also ``project-init``, ``new-project``): set up a whole project.

dir-create -> git-init -> readme-create -> image create -> container create -> container run,
each skippable; re-running skips what is done and says so.
"""

from __future__ import annotations

from typing import Any

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option, yes_option
from ds01.cli.user._common import finish, project_options, run_project_flow


@click.command("init")
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
    """Set up PROJECT: folders, git, README, image, container, started.

    Every step can be skipped (--no-git, --no-readme, --no-image, --no-container, --no-run).
    On a terminal, choices no flag made are asked; --yes takes the defaults. Re-running is
    safe: what exists is reported as "already done" and left alone.

    JSON keys: project, directory, image, container, ok, error, exit_code, steps
    (each: step, status = done | already done | skipped | failed, message, details).
    """
    report = run_project_flow(app, project, params, yes=yes)
    return finish(app, report, as_json=as_json, shell=shell, yes=yes)
