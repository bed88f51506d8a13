"""``ds01 container start NAME``: start it in the background (no shell)."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option, script_option


@click.command("start")
@click.argument("name", required=False)
@click.option(
    "--wait",
    metavar="DURATION",
    default=None,
    help="If it must be recreated and no GPU slot is free, keep trying this long.",
)
@guided_option
@script_option
@json_option
@pass_app
def command(app: App, name: str | None, wait: str | None, as_json: bool) -> None:
    """Start container NAME (recreating it when its GPU was released).

    JSON keys: name, docker_name, started, recreated, gpu_slots.
    """
    from ds01.cli.container._common import gpu_words, locate, pick_name
    from ds01.cli.gpu._common import parse_wait
    from ds01.units.containers import lifecycle
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "start")
    target = locate(app, pick_name(app, name, running=False))
    with term.progress(f"Starting {target.name}…", steps=True) as status:
        s = lifecycle.ensure_running(app.config, target, progress=status.update, wait=parse_wait(wait))
    if as_json:
        term.json(
            {
                "name": target.name,
                "docker_name": target.docker_name,
                "started": s.started,
                "recreated": s.recreated,
                "gpu_slots": s.slots,
            }
        )
        return
    gpu = gpu_words(s.slots)
    if s.recreated:
        term.success(f"Recreated and started {target.name} ({gpu}).")
    elif s.started:
        term.success(f"Started {target.name} ({gpu}).")
    else:
        term.info(f"{target.name} was already running ({gpu}).")
    term.next_step(f"ds01 container run {target.name}", "open a shell in it")
