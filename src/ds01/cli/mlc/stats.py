"""``ds01 mlc stats``: CPU %, memory and PIDs of your running mlc containers."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.mlc._common import is_admin
from ds01.cli.options import json_option
from ds01.terminal import human_size


@click.command("stats")
@click.option("-au", "--all-users", is_flag=True, help="Every user's containers (admins).")
@json_option
@pass_app
def command(app: App, all_users: bool, as_json: bool) -> None:
    """One sample per running container (JSON keys: name, docker_name, user, cpu_percent,
    memory_usage, memory_limit, memory_percent, pids)."""
    from ds01.base import engine
    from ds01.base.stats import container_stats
    from ds01.errors import PolicyRefused

    if all_users and not is_admin(app):
        raise PolicyRefused("Only admins can see every user's containers; drop -au to see yours.")
    rows = container_stats(engine.list_containers(None if all_users else app.identity.name, running_only=True))
    if as_json:
        app.terminal.json(rows)
        return
    app.terminal.table(
        ["NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"],
        [
            [
                r["name"],
                f"{r['cpu_percent']:.2f}",
                f"{human_size(r['memory_usage'])} / {human_size(r['memory_limit'])}",
                f"{r['memory_percent']:.2f}",
                r["pids"],
            ]
            for r in rows
        ],
        empty="No running containers.",
    )
