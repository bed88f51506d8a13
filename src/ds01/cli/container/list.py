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
    from ds01.units.containers.listing import list_entries
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "list")
    everyone = show_all and app.is_admin()
    entries = list_entries(app.config, app.identity, include_released=True, all_users=everyone)
    released = [e for e in entries if e.status == "released"]
    if not show_all:
        entries = [e for e in entries if e.status != "released"]
    limits = _limits(app, everyone, entries)
    if as_json:
        term.json([{**e.to_json(), **limits.get(e.docker_name, _NO_LIMITS)} for e in entries])
        return
    from ds01.terminal import Column, relative

    columns = [
        Column("NAME", 1, name=True),
        Column("STATUS", 1),
        Column("IMAGE", 4),
        Column("GPU", 2),
        Column("HELD UNTIL", 3),
        Column("KEEP-ALIVE", 6),
        Column("STOP IN", 3),
        Column("CREATED", 5),
        Column("PROJECT", 7),
        Column("NOTEBOOK", 8),
    ]
    if everyone:
        columns.insert(0, Column("USER", 1, name=True))
    rows = []
    for e in entries:
        held = relative(e.held_until) if e.held_until else ("indefinitely" if e.held_indefinitely else "-")
        lim = limits.get(e.docker_name, _NO_LIMITS)
        row = [
            e.name,
            e.status,
            e.image,
            ",".join(e.gpu_slots) or "-",
            held,
            relative(lim["keep_alive_until"]),
            _stop_in(lim),
            relative(e.created),
            e.project or "-",
            e.notebook_text,
        ]
        if everyone:
            row.insert(0, e.user)
        rows.append(row)
    hidden = len(released) if not show_all else 0
    if hidden and not rows:
        # Not "create one": the user still has containers, only their GPUs were released.
        term.info(
            f"No containers running or stopped; {hidden} released (GPU given back, definition kept): "
            "see `ds01 container list --all`; `ds01 container run NAME` makes one again."
        )
        return
    term.table(columns, rows, empty="No containers; create one with `ds01 container create NAME`.")
    if hidden:
        term.info(f"+ {hidden} released (GPU given back, definition kept): `ds01 container list --all`.")


_NO_LIMITS = {"keep_alive_until": None, "idle_stop_at": None, "runtime_stop_at": None, "stop_in_seconds": None}


def _limits(app: App, everyone: bool, entries: list) -> dict[str, dict]:
    """Running containers' keep-alive and time left before each limit, from the idle monitor
    (what `ds01 status` and `ds01 monitor idle` show), by Docker name."""
    if not any(e.status == "running" for e in entries):
        return {}
    from ds01.errors import Ds01Error
    from ds01.orchestrators.lifecycle import monitor

    try:
        rows = monitor(app.config, app.identity, all_users=everyone)
    except Ds01Error as exc:
        app.terminal.warning(f"Idle and runtime limits not shown ({exc.message})")
        return {}
    return {r["container"]: {k: r[k] for k in _NO_LIMITS} for r in rows}


def _stop_in(lim: dict) -> str:
    from ds01.terminal import relative_in

    left = lim["stop_in_seconds"]
    if left is None:
        return "-"
    why = (
        "runtime"
        if lim["runtime_stop_at"]
        and lim["runtime_stop_at"] == min(t for t in (lim["idle_stop_at"], lim["runtime_stop_at"]) if t)
        else "idle"
    )
    return f"{relative_in(left)} ({why})"
