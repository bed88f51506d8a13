"""``ds01 gpu status``: every slot, its state and holders (reconciles with Docker first)."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app, read_only
from ds01.cli.options import json_option


def _gib(n: int) -> str:
    return f"{n / 1024**3:.0f} GiB"


@click.command("status")
@read_only
@json_option
@pass_app
def command(app: App, as_json: bool) -> None:
    """Show every GPU slot: id, profile, memory, state (free/allocated/held/reserved), holders.
    Many warnings are summarised (the count, the first few); --json lists them all.

    JSON keys (--json): backend, slots[] {id, uuid, gpu_index, profile, memory_bytes,
    shared_memory_with (slot ids of compute instances sharing that memory), state, containers,
    users, held_until, reserved_for}, warnings[].
    """
    from ds01.gpu import service

    report = service.status(app.config)
    term = app.terminal
    if as_json:
        term.json(report.to_json())
        return
    from ds01.base.names import display_name
    from ds01.terminal import Column, relative

    rows = [
        [
            s["id"],
            s["profile"] or "whole GPU",
            _gib(s["memory_bytes"])
            + (f" shared with {', '.join(s['shared_memory_with'])}" if s.get("shared_memory_with") else ""),
            s["state"],
            ", ".join(s["users"]) or (f"(for {s['reserved_for']})" if s["reserved_for"] else ""),
            ", ".join(display_name(c) for c in s["containers"]),
            relative(s["held_until"]) if s["held_until"] else ("forever" if s["state"] == "held" else ""),
        ]
        for s in report.slots
    ]
    columns = [
        Column("slot", 1, name=True),
        Column("profile", 4),
        Column("memory", 5),
        Column("state", 1),
        Column("users", 1, name=True),
        Column("containers", 2, name=True),
        Column("held until", 3),
    ]
    term.table(columns, rows, title=f"GPU slots ({report.backend} inventory)", empty="No GPU slots are available.")
    term.warnings(report.warnings, full="ds01 gpu status --json")
    if len(report.warnings) > 5 and app.is_admin():
        term.info("  `ds01 gpu reconcile --dry-run` shows what reconciling the ledger with Docker would change.")
