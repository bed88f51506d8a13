"""``ds01 gpu user-status USER``: what one user holds, against their quota."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app, read_only
from ds01.cli.options import json_option


@click.command("user-status")
@read_only
@click.argument("user")
@json_option
@pass_app
def command(app: App, user: str, as_json: bool) -> None:
    """Show USER's GPU slots (allocated, pending, held) and their quota.

    JSON keys: user, priority, count, max_mig_instances, max_gpus_per_container,
    allocations[] {slot, uuid, container, priority, state, allocated_at, stopped_at, held_until}.
    """
    from ds01.gpu import service

    info = service.user_status(app.config, user)
    term = app.terminal
    if as_json:
        term.json(info)
        return
    limit = "unlimited" if info["max_mig_instances"] is None else str(info["max_mig_instances"])
    term.info(f"{user}: {info['count']} of {limit} GPU slot(s) held, priority {info['priority']}.")
    from ds01.base.names import display_name
    from ds01.terminal import Column, relative

    term.table(
        [
            Column("slot", 1, name=True),
            Column("container", 1, name=True),
            Column("state", 1),
            Column("allocated", 3),
            Column("held until", 2),
        ],
        [
            [
                a["slot"],
                display_name(a["container"]),
                a["state"],
                relative(a["allocated_at"]),
                relative(a["held_until"], none=""),
            ]
            for a in info["allocations"]
        ],
        empty=f"{user} holds no GPU slot.",
    )
