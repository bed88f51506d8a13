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
    from ds01.cli.starts import container_start

    container_start(app, name, wait=wait, as_json=as_json)
