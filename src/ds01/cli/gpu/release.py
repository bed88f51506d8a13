"""``ds01 gpu release CONTAINER``: free the slots a container holds, at once."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app, read_only
from ds01.cli.gpu._common import row_owner_filter
from ds01.cli.options import json_option


@click.command("release")
@read_only
@click.argument("container")
@json_option
@pass_app
def command(app: App, container: str, as_json: bool) -> None:
    """Release every GPU slot CONTAINER holds. Releasing nothing is not an error.

    Users release only their own rows of their own containers (NAME._.UID with their uid);
    admins release anyone's.

    JSON keys: container, released (slot ids).
    """
    from ds01.gpu import service

    user = row_owner_filter(app, container, "release GPUs")
    rows = service.release(container, reason="released by command", user=user)
    slots = [r.slot for r in rows]
    if as_json:
        app.terminal.json({"container": container, "released": slots})
    elif slots:
        app.terminal.success(f"Released slot(s) {', '.join(slots)} from {container}.")
    else:
        app.terminal.info(f"{container} holds no GPU slot; nothing to release.")
