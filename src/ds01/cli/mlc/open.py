"""``ds01 mlc open NAME``: an interactive shell in the container, as you; starts it when needed."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.mlc._common import is_admin, settings
from ds01.cli.options import script_option


@click.command("open")
@click.argument("name", required=False)
@script_option
@pass_app
def command(app: App, name: str | None) -> int:
    """Open a shell in container NAME (the last shell to exit stops it, like AIME)."""
    from ds01.base import engine
    from ds01.base.shell import open_shell

    term, me = app.terminal, app.identity
    if not name:
        mine = [i.name for i in engine.list_containers(me.name)]
        name = term.choose("Container:", mine, what="a container NAME")
    info = engine.find_container(name, me, any_user=is_admin(app))
    term.info(f"Opening a shell in {info.name}{'' if info.running else ' (starting it)'}; `exit` leaves it.")
    code, stopped = open_shell(info, me, last_shell_stops=settings(app).last_shell_stops)
    if stopped:
        term.info(f"Container {info.name} stopped (last shell closed).")
    return code
