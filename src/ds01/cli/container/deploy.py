"""``ds01 container deploy NAME``: create the container, then open a shell in it."""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.container.create import create_options
from ds01.cli.creates import ask_first, progress_once_checked, report_created, request_from
from ds01.cli.options import guided_option, script_option


@click.command("deploy")
@create_options
@click.option("--no-shell", is_flag=True, help="Start it but open no shell (for scripts).")
@guided_option
@script_option
@pass_app
def command(
    app: App,
    name: str | None,
    framework: str | None,
    version: str | None,
    image: str | None,
    gpus: int,
    workspace: Path | None,
    data: Path | None,
    models: Path | None,
    project_dockerfile: bool,
    arch: str | None,
    wait: str | None,
    no_shell: bool,
) -> int:
    """Create container NAME (same options as `container create`) and open a shell in it."""
    from ds01.orchestrators.containers import deploy
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "deploy")
    guide(term, "create")
    req = request_from(
        app, name, framework, version, image, gpus, workspace, data, models, project_dockerfile, arch, wait
    )
    req, checked = ask_first(app, req)
    with progress_once_checked(app, f"Creating container {req.name}…") as update:
        done = deploy(app.config, req, progress=update, open_shell=False, preflight=checked is None)
    # Reported once the spinner is gone (it would share the line with the message otherwise).
    report_created(app, done.created.plan, next_step=False)
    if no_shell:
        term.success(f"{req.name} is running.")
        term.next_step(f"ds01 container run {req.name}", "open a shell in it")
        return 0
    from ds01.units.containers import lifecycle

    guide(term, "run")
    term.info(f"Opening a shell in {req.name}; `exit` or Ctrl-D leaves it.")
    target = lifecycle.locate(done.created.plan.docker_name, app.identity)
    from ds01.cli.container.run import after_shell, on_leaving

    result = lifecycle.run(app.config, target, on_others=on_leaving(app, req.name, target.owner.name))
    after_shell(app, req.name, result)
    return result.exit_code
