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
    term.table(["slot", "container", "state", "allocated", "held until"],
               [[a["slot"], a["container"], a["state"], a["allocated_at"], a["held_until"] or ""]
                for a in info["allocations"]], empty=f"{user} holds no GPU slot.")
