"""``ds01 mlc stop NAME [-f]``: stop a container (ds01's or AIME's)."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.mlc._common import is_admin
from ds01.cli.options import script_option


@click.command("stop")
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Kill it at once instead of asking it to stop.")
@script_option
@pass_app
def command(app: App, name: str, force: bool) -> None:
    """Stop container NAME; files outside /workspace, /data and /models stay in the container."""
    from ds01.base import engine

    info = engine.find_container(name, app.identity, any_user=is_admin(app))
    if engine.stop_container(info, force=force):
        app.terminal.success(f"Container {info.name} stopped.")
    else:
        app.terminal.info(f"Container {info.name} was not running.")
