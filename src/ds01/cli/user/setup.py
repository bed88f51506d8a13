"""``ds01 user setup`` (also ``user-setup``, ``new-user``, ``user new``): first-time onboarding.

Explains containers, images and GPU slots, then ssh-setup -> project init -> vscode-setup.
Guided by default; every question has a flag and --yes takes the defaults.
"""

from __future__ import annotations

from typing import Any

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option, yes_option
from ds01.cli.user._common import build_request, project_options


@click.command("setup")
@click.argument("project", required=False)
@project_options
@click.option("--ssh/--no-ssh", default=None, help="Set up an SSH key and this server's entry (default: yes).")
@click.option("--vscode/--no-vscode", default=None, help="Write the project's VS Code settings (default: yes).")
@click.option("--host-alias", help="This server's name in your laptop's ~/.ssh/config (default: its host name).")
@click.option("--hostname", help="This server's address as your laptop reaches it (default: its FQDN).")
@click.option(
    "--guided/--no-guided",
    default=None,
    help="Explain containers, images, GPUs and each step in plain words (default: the config's "
    "wizard.guided, normally yes).",
)
@yes_option
@json_option
@pass_app
def command(
    app: App,
    project: str | None,
    ssh: bool | None,
    vscode: bool | None,
    host_alias: str | None,
    hostname: str | None,
    guided: bool | None,
    yes: bool,
    as_json: bool,
    **params: Any,
) -> None:
    """Your first project on this server, from an empty home directory to a running container.

    JSON keys: ok, ssh, project (the `project init` object), vscode; each step has
    step, status (done | already done | skipped | failed), message, details.
    """
    from ds01.wizards import new_project, texts
    from ds01.wizards.new_project import wizard_defaults
    from ds01.wizards.user_setup import Server, run_user_setup

    term = app.terminal
    term.guided = bool(wizard_defaults(app.config).get("guided", True)) if guided is None else guided
    if yes:
        term.script_mode = True
    given: set[str] = set()

    def make_request(name: str) -> Any:
        # The step flags given on the command line are questions the wizard must not ask.
        request, flags = build_request(app, name, params)
        given.update(flags)
        return request

    report = run_user_setup(
        term,
        app.config,
        app.identity,
        project=project,
        make_request=make_request,
        given=given,
        ssh=ssh,
        vscode=vscode,
        server=Server.resolve(host_alias, hostname),
        yes=yes,
        force=bool(params.get("force")),
        show_data=not as_json,
    )
    if as_json:
        term.json(report.to_json())
    if report.error is not None:
        raise report.error
    assert report.project is not None
    term.success(texts.DONE_SUMMARY.format(project=report.project.project))
    if not as_json:
        new_project.next_steps(term, report.project)
