"""``ds01 mlc start [-d] NAME [COMMAND…]``: start a container; run COMMAND in it with argv intact."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.mlc._common import _config, is_admin
from ds01.cli.options import script_option


@click.command("start", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Run COMMAND in the background.")
@script_option
@click.argument("name")
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
@pass_app
def command(app: App, name: str, argv: tuple[str, ...], detach: bool) -> int:
    """Start container NAME; with COMMAND, run it inside as you (its exit code is ours).

    Options come before NAME; everything after NAME is the command and its arguments.
    """
    from ds01.base import engine
    from ds01.cli.starts import mlc_start

    info = engine.find_container(name, app.identity, any_user=is_admin(app))
    config = _config(app)
    mode = config.security.mode if config is not None else None  # None: the engine reads it
    return mlc_start(app.terminal, app.identity, info, mode=mode, argv=argv, detach=detach)
