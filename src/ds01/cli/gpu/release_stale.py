"""``ds01 gpu release-stale``: release holds past their time (idempotent; cron every minute is fine)."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.gpu._common import require_admin
from ds01.cli.options import json_option


@click.command("release-stale")
@click.option("--dry-run", is_flag=True, help="Show what would be released; change nothing.")
@json_option
@pass_app
def command(app: App, dry_run: bool, as_json: bool) -> None:
    """Reconcile with Docker, then release the slots of stopped containers whose
    gpu_hold_after_stop has passed, and pending allocations whose container never appeared.

    JSON keys: dry_run, released[] {container, user, slots, stopped_at, reason}, failed[],
    reconcile {…as `gpu reconcile --json`}.
    """
    from ds01.gpu import housekeeping

    require_admin(app, "release stale GPU holds")
    from ds01.units.containers.lifecycle import remove_for_release

    # A stopped container keeps its device request, so it is removed (its definition kept, so
    # `container run NAME` recreates it) before its slot goes back to the pool.
    report = housekeeping.release_stale(app.config, dry_run=dry_run, remove_container=remove_for_release)
    term = app.terminal
    if as_json:
        term.json(report.to_json())
        return
    verb = "would release" if dry_run else "released"
    for e in report.released:
        term.info(f"{verb} {', '.join(e['slots'])} from {e['container']} ({e['user']}): {e['reason']}")
    for e in report.reconcile.released:
        term.info(f"{verb} {e['slot']} from {e['container']} ({e['user']}): {e['reason']}")
    for e in report.failed:
        term.warning(f"kept {', '.join(e['slots'])} of {e['container']}: {e['reason']}")
    for w in report.reconcile.warnings:
        term.warning(w)
    total = len(report.released) + len(report.reconcile.released)
    done = "would be released" if dry_run else "released"
    term.success(f"{'dry run: ' if dry_run else ''}{total} stale allocation(s) {done}.")
