"""``ds01 monitor idle``: what the next lifecycle pass would do with each running container."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option


@click.command("idle")
@click.option("--all", "all_users", is_flag=True, help="Every user's containers (admins; the default for root).")
@json_option
@pass_app
def command(app: App, all_users: bool, as_json: bool) -> None:
    """Each running container with its owner, whether and since when it is idle, the evidence
    (CPU over the idle window, each GPU slot's activity, shells), and the time left before a
    warning and a stop. Your own containers; admins see everyone's with --all.

    JSON: a list of {name, container, user, gpu_slots, action, reason, evidence, idle, idle_since,
    keep_alive_until, idle_stop_at, runtime_stop_at, stop_at, warn_in_seconds, stop_in_seconds}.
    """
    from ds01.errors import PolicyRefused
    from ds01.orchestrators.lifecycle import monitor
    from ds01.terminal import relative, relative_in

    admin = app.is_admin()
    if all_users and not admin:
        raise PolicyRefused("Only an admin can see every user's containers; leave out --all.")
    rows = monitor(app.config, app.identity, all_users=all_users or app.identity.is_root)
    term = app.terminal
    if as_json:
        term.json(rows)
        return

    term.table(
        ["CONTAINER", "USER", "IDLE SINCE", "EVIDENCE", "WARN IN", "STOP IN", "NEXT PASS"],
        [
            [
                r["name"],
                r["user"],
                relative(r["idle_since"]),
                r["evidence"],
                relative_in(r["warn_in_seconds"]),
                relative_in(r["stop_in_seconds"]),
                r["action"],
            ]
            for r in rows
        ],
        empty="No running containers.",
    )
