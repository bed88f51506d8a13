"""``ds01 container run NAME``: start it (or remake it if its GPU was released) and open a shell."""

from __future__ import annotations

import sys

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, script_option


@click.command("run")
@click.argument("name", required=False)
@click.option("--wait", metavar="DURATION", default=None,
              help="If it must be recreated and no GPU slot is free, keep trying this long.")
@guided_option
@script_option
@pass_app
def command(app: App, name: str | None, wait: str | None) -> int:
    """Open a shell in container NAME as you (`exit` leaves; the last shell out stops it).

    Inside its GPU hold a stopped container gets its slot back; after the hold it is
    recreated from its saved definition with a new slot (your workspace is untouched).
    """
    from ds01.cli.container._common import locate, pick_name, show_hold
    from ds01.cli.gpu._common import parse_wait
    from ds01.units.containers import lifecycle
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "run")
    target = locate(app, pick_name(app, name))
    with term.progress(f"Preparing {target.name}…") as status:
        started = lifecycle.ensure_running(app.config, target, progress=status.update, wait=parse_wait(wait))
    _say_started(app, started)
    _lifecycle_notices(app, target.name, target.owner.uid)
    result = lifecycle.run(app.config, target)
    if result.stopped and result.hold is not None:
        term.info(f"Container {target.name} stopped (last shell closed).")
        show_hold(app, target.name, result.hold)
    return result.exit_code


def _say_started(app: App, started) -> None:  # type: ignore[no-untyped-def]
    term = app.terminal
    from ds01.cli.container._common import gpu_words

    gpu = gpu_words(started.slots)
    if started.recreated:
        term.success(f"Recreated {started.target.name} ({gpu}; your workspace is unchanged).")
    elif started.started:
        term.success(f"Started {started.target.name} ({gpu}).")
    if sys.stdin.isatty():
        term.info(f"Opening a shell in {started.target.name}; `exit` or Ctrl-D leaves it.")
    else:
        term.info(f"Running the commands from standard input in {started.target.name}.")


def _lifecycle_notices(app: App, name: str, uid: int) -> None:
    """What the lifecycle pass told the owner about this container in the last day (why it was
    stopped, or that it will be)."""
    import time

    from ds01.units.containers.activity import read_notices
    from ds01.units.containers.common import iso

    for n in read_notices(uid, container=name, newer_than=time.time() - 86400):
        app.terminal.warning(f"{iso(float(n['at']))}: {n.get('message')}")
