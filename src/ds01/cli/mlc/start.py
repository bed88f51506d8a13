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
    from ds01.base import engine, execs

    term, me = app.terminal, app.identity
    info = engine.find_container(name, me, any_user=is_admin(app))
    config = _config(app)
    mode = config.security.mode if config is not None else None  # None: the engine reads it
    if engine.start_container(info, mode=mode):
        term.success(f"Container {info.name} started.")
    else:
        term.info(f"Container {info.name} is already running.")
    if not argv:
        return 0

    def write(stream):  # the command's output is data: stdout stays stdout, stderr stays stderr
        return lambda chunk: (stream.write(chunk.decode(errors="replace")), stream.flush())

    return execs.run_command(
        info, me, list(argv), detach=detach, out=write(term.stdout), err=write(term.stderr), mode=mode
    )
