"""``ds01 container cleanup NAME…``: remove containers and give their GPUs back at once."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app, read_only
from ds01.cli.options import guided_option, json_option, script_option


@click.command("cleanup")
@read_only
@click.argument("names", nargs=-1)
@click.option("--all-stopped", is_flag=True, help="Every stopped (or released) container of yours.")
@click.option("-f", "--force", is_flag=True, help="Also remove running containers.")
@guided_option
@script_option
@json_option
@pass_app
def command(app: App, names: tuple[str, ...], all_stopped: bool, force: bool, as_json: bool) -> None:
    """Remove containers, release their GPU slots now and forget their definitions.

    Files in your workspace stay. JSON: a list of {name, docker_name, user, removed,
    released, definition_removed}.
    """
    from ds01.cli.container._common import locate, pick_name
    from ds01.errors import UsageError
    from ds01.units.containers import lifecycle
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "cleanup")
    if names and all_stopped:
        raise UsageError("Give container names or --all-stopped, not both.")
    if all_stopped:
        targets = lifecycle.stopped_targets(app.identity)
    else:
        wanted = list(names) or [pick_name(app, None)]
        targets = [locate(app, n) for n in dict.fromkeys(wanted)]
    lifecycle.check_cleanup(targets, force=force)  # all or nothing: refuse before removing any
    done = [lifecycle.cleanup(t, force=force) for t in targets]
    if as_json:
        term.json([d.to_json() for d in done])
        return
    for d in done:
        gpu = f", GPU slot {', '.join(d.released)} released" if d.released else ""
        what = "removed" if d.removed else "forgotten (it was already removed)"
        term.success(f"{d.name} {what}{gpu}.")
    if not done:
        term.info("Nothing to clean up.")
