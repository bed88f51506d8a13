"""``ds01 container run NAME``: start it (or remake it if its GPU was released) and open a shell."""

from __future__ import annotations

import sys

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, script_option


@click.command("run")
@click.argument("name", required=False)
@click.option(
    "--wait",
    metavar="DURATION",
    default=None,
    help="If it must be recreated and no GPU slot is free, keep trying this long.",
)
@guided_option
@script_option
@pass_app
def command(app: App, name: str | None, wait: str | None) -> int:
    """Open a shell in container NAME as you (`exit` leaves; the last shell out stops it,
    unless programs you started still run in it: then you are asked, and by default it keeps running).

    Inside its GPU hold a stopped container gets its slot back; after the hold it is
    recreated from its saved definition with a new slot (your workspace is untouched).
    """
    from ds01.cli.container._common import locate, pick_name
    from ds01.cli.gpu._common import parse_wait
    from ds01.units.containers import lifecycle
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "run")
    target = locate(app, pick_name(app, name))
    with term.progress(f"Preparing {target.name}…", steps=True) as status:
        started = lifecycle.ensure_running(app.config, target, progress=status.update, wait=parse_wait(wait))
    _say_started(app, started)
    _lifecycle_notices(app, target.name, target.owner.uid)
    result = lifecycle.run(app.config, target, on_others=on_leaving(app, target.name, target.owner.name))
    after_shell(app, target.name, result)
    return result.exit_code


def after_shell(app: App, name: str, result) -> None:  # type: ignore[no-untyped-def]
    """What became of the container when its last shell closed."""
    from ds01.cli.container._common import show_hold

    term = app.terminal
    if result.stopped and result.hold is not None:
        term.info(f"Container {name} stopped (last shell closed).")
        show_hold(app, name, result.hold)
    elif result.kept:
        term.info(
            f"Container {name} keeps running for {_count(result.kept)} ({idle_words(app, name)}); "
            f"`ds01 container stop {name}` stops it, `ds01 container run {name}` gets you back in."
        )


def _count(programs) -> str:  # type: ignore[no-untyped-def]
    return "1 program" if len(programs) == 1 else f"{len(programs)} programs"


def idle_words(app: App, name: str) -> str:
    """When idle detection will stop it, in the owner's own limits."""
    from ds01.limits.resolver import resolve
    from ds01.units.containers.common import human_duration

    try:
        timeout = resolve(app.config, app.identity.name).values.get("idle_timeout")
    except Exception:  # noqa: BLE001 - only the wording depends on it
        timeout = None
    if timeout is None:
        return "idle detection will not stop it: it runs until you stop it"
    return (
        f"idle detection stops it once it has done nothing for {human_duration(int(timeout))}; "
        f"`ds01 monitor idle` shows when"
    )


def on_leaving(app: App, name: str, user: str):  # type: ignore[no-untyped-def]
    """The last shell left while other programs still run: list them, ask whether to stop (on a
    terminal; default keep running); without a terminal keep it running."""
    import os

    def decide(programs) -> bool:  # type: ignore[no-untyped-def]
        from ds01.units.containers.common import human_duration

        term = app.terminal
        term.warning(f"{name}: your shell closed but {_count(programs)} still run in it:")
        for p in programs[:10]:
            command = p.command if len(p.command) <= 60 else p.command[:59] + "…"
            term.info(f"  {command}  (running {human_duration(max(1, p.seconds))})")
        if len(programs) > 10:
            term.info(f"  … and {len(programs) - 10} more (`ds01 container stats {name}`)")
        if not (term.can_prompt() and os.isatty(0)):
            return False
        return term.confirm(
            f"Stop {name} anyway (the programs end)?", default=False, what="whether to stop the container"
        )

    return decide


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

    from ds01.timefmt import iso
    from ds01.units.containers.activity import read_notices

    for n in read_notices(uid, container=name, newer_than=time.time() - 86400):
        app.terminal.warning(f"{iso(float(n['at']))}: {n.get('message')}")
