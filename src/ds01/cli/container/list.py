"""``ds01 container list``: your containers with state, GPU slots and hold times."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option


@click.command("list")
@click.option("-a", "--all", "show_all", is_flag=True,
              help="Also containers whose GPU was released (kept as definitions); admins: every user's.")
@guided_option
@json_option
@pass_app
def command(app: App, show_all: bool, as_json: bool) -> None:
    """List containers: name, status, image, GPU slots, held until, created, project.

    JSON: a list of objects with keys name, docker_name, user, status (running, stopped,
    created, paused, released), state, image, gpu_slots, held_until, held_indefinitely,
    created, project, ds01_managed.
    """
    from ds01.units.containers.listing import list_entries
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "list")
    everyone = show_all and app.is_admin()
    entries = list_entries(app.config, app.identity, include_released=True, all_users=everyone)
    released = [e for e in entries if e.status == "released"]
    if not show_all:
        entries = [e for e in entries if e.status != "released"]
    if as_json:
        term.json([e.to_json() for e in entries])
        return
    columns = ["NAME", "STATUS", "IMAGE", "GPU", "HELD UNTIL", "CREATED", "PROJECT"]
    if everyone:
        columns.insert(0, "USER")
    rows = []
    for e in entries:
        held = e.held_until or ("indefinitely" if e.held_indefinitely else "-")
        row = [e.name, e.status, e.image, ",".join(e.gpu_slots) or "-", held, e.created or "-", e.project or "-"]
        if everyone:
            row.insert(0, e.user)
        rows.append(row)
    hidden = len(released) if not show_all else 0
    if hidden and not rows:
        # Not "create one": the user still has containers, only their GPUs were released.
        term.info(f"No containers running or stopped; {hidden} released (GPU given back, definition kept): "
                  "see `ds01 container list --all`; `ds01 container run NAME` makes one again.")
        return
    term.table(columns, rows, empty="No containers; create one with `ds01 container create NAME`.")
    if hidden:
        term.info(f"+ {hidden} released (GPU given back, definition kept): `ds01 container list --all`.")
