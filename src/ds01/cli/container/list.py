"""``ds01 container list``: your containers with state, GPU slots and hold times."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app, read_only
from ds01.cli.options import guided_option, json_option


@click.command("list")
@read_only
@click.option(
    "-a",
    "--all",
    "show_all",
    is_flag=True,
    help="Also containers whose GPU was released (kept as definitions); admins: every user's.",
)
@guided_option
@json_option
@pass_app
def command(app: App, show_all: bool, as_json: bool) -> None:
    """List containers: name, status, image, GPU slots, held until, keep-alive, time left
    before the next stop (idle_timeout or max_runtime, as `ds01 monitor idle` says), created,
    project, and the notebook `ds01 container jupyter` started (localhost:PORT on the server,
    shown while it answers). Times are relative (`in 59m`, `5m ago`); on a narrow terminal the less important
    columns are left out before a name is cut.

    JSON (times in ISO 8601): a list of objects with keys name, docker_name, user, status
    (running, stopped, created, paused, released), state, image, gpu_slots, held_until, held_indefinitely,
    created, project, ds01_managed, notebook ({host, port} of a running notebook, else null),
    keep_alive_until, idle_stop_at, runtime_stop_at,
    stop_in_seconds (the last four null unless the container runs under such a limit).
    """
    from ds01.cli.listings import show_containers
    from ds01.units.containers.texts import guide

    guide(app.terminal, "list")
    _ = app.config  # validated first: an invalid one is reported here (and the last valid one used)
    show_containers(app, show_all=show_all, as_json=as_json)
