"""``ds01 gpu mark-stopped CONTAINER``: start the hold-after-stop clock of a container."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.gpu._common import row_owner_filter
from ds01.cli.options import json_option


@click.command("mark-stopped")
@click.argument("container")
@json_option
@pass_app
def command(app: App, container: str, as_json: bool) -> None:
    """Record that CONTAINER stopped: its slots stay held for the user's gpu_hold_after_stop.

    JSON keys: container, slots (those whose clock started now; empty when already stopped).
    """
    from ds01.gpu import inputs, service

    holder = service.holder_of(container)
    if holder is None:
        from ds01.errors import NotFound

        raise NotFound(f"{container} holds no GPU slot; there is nothing to mark as stopped.")
    user = row_owner_filter(app, container, "mark containers stopped")
    rows = service.mark_stopped(container, user=user)
    if as_json:
        app.terminal.json({"container": container, "slots": [r.slot for r in rows]})
    elif rows:
        q = inputs.quota(app.config, holder)
        from ds01.limits.units import format_duration

        hold = "indefinitely" if q.gpu_hold_after_stop is None else f"for {format_duration(q.gpu_hold_after_stop)}"
        app.terminal.success(f"{container} marked stopped; its GPU slot(s) stay held {hold}.")
    else:
        app.terminal.info(f"{container} was already marked stopped.")
