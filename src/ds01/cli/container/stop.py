"""``ds01 container stop NAME``: stop it; its GPU stays held for gpu_hold_after_stop."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app, read_only
from ds01.cli.options import guided_option, json_option, script_option, stop_options


@click.command("stop")
@read_only
@click.argument("name", required=False)
@stop_options
@guided_option
@script_option
@json_option
@pass_app
def command(app: App, name: str | None, force: bool, timeout: int, as_json: bool) -> None:
    """Stop container NAME. Its GPU slot stays yours for a while (the hold), then is released.

    JSON keys: name, docker_name, was_running, slots, hold_seconds, held_until.
    """
    from ds01.cli.container._common import locate, pick_name, show_hold
    from ds01.units.containers import lifecycle
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "stop")
    target = locate(app, pick_name(app, name, include_released=False, running=True))
    result = lifecycle.stop(app.config, target, timeout=timeout, force=force)
    if as_json:
        term.json(result.to_json())
        return
    if result.was_running:
        term.success(f"Stopped {target.name}.")
    else:
        term.info(f"{target.name} was not running.")
    show_hold(app, target.name, result.hold)
