"""``ds01 gpu reconcile``: make the allocation ledger agree with Docker and report the fixes."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.gpu._common import require_admin
from ds01.cli.options import json_option


@click.command("reconcile")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@json_option
@pass_app
def command(app: App, dry_run: bool, as_json: bool) -> None:
    """Release rows of containers that no longer exist, record stops/restarts done outside
    ds01, and report conflicts. A container is a row's only by the Docker id ds01 recorded when
    it created it: labelled containers ds01 did not create are reported, never adopted.

    JSON keys: dry_run, released[] {container, user, slot, reason},
    recorded[] {container, user, slot, container_id}, conflicts[] {container, user, slot,
    reason, kind: mismatch|unrecorded}, marked_stopped[], restarted[], warnings[].
    """
    from ds01.gpu import sync

    require_admin(app, "reconcile the GPU ledger")
    report = sync.reconcile(app.config, dry_run=dry_run, strict=True)
    term = app.terminal
    if as_json:
        term.json(report.to_json())
        return
    verbs = (
        ("would release", "would record", "would mark", "would clear the stop of")
        if dry_run
        else ("released", "recorded", "marked", "cleared the stop of")
    )
    for e in report.released:
        term.info(f"{verbs[0]} {e['slot']} from {e['container']} ({e['user']}): {e['reason']}")
    for e in report.recorded:
        term.info(f"{verbs[1]} container id {e['container_id']} of {e['container']} ({e['user']}) on slot {e['slot']}")
    for name in report.marked_stopped:
        term.info(f"{verbs[2]} {name} stopped (found stopped)")
    for name in report.restarted:
        term.info(f"{verbs[3]} {name} (found running)")
    for e in report.conflicts:
        term.warning(f"conflict: {e['container']} ({e['user']}): {e['reason']}")
    if not (report.changed() or report.conflicts):
        term.success("The ledger agrees with Docker; nothing to fix.")
    elif dry_run:
        term.success(
            f"dry run: {len(report.released)} to release, {len(report.conflicts)} conflict(s); nothing was changed."
        )
    else:
        term.success(f"ledger reconciled: {len(report.released)} released, {len(report.conflicts)} conflict(s).")
