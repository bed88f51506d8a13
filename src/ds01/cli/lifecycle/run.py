"""``ds01 lifecycle run``: one lifecycle pass (cron or a systemd timer, every 5 minutes)."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app, read_only
from ds01.cli.gpu._common import require_admin
from ds01.cli.options import json_option


@click.command("run")
@read_only
@click.option("--dry-run", is_flag=True, help="Show what the pass would do; change nothing.")
@json_option
@pass_app
def command(app: App, dry_run: bool, as_json: bool) -> None:
    """Sample every running container; warn users within policies.idle_warning of a stop;
    stop containers idle past idle_timeout and any past max_runtime (the GPU stays held for
    gpu_hold_after_stop); release expired holds; remove containers stopped longer than
    container_hold_after_stop (their definition is kept). A pass started while another runs
    skips and exits 0.

    JSON keys: dry_run, skipped, sampled, warned[], stopped_idle[], stopped_runtime[], released[],
    removed[] (each {user, container, reason}), failed[], warnings[].
    """
    from ds01.orchestrators.lifecycle import run_pass

    require_admin(app, "run the lifecycle pass")
    report = run_pass(app.config, dry_run=dry_run)
    term = app.terminal
    if as_json:
        term.json(report.to_json())
        return
    if report.skipped:
        term.info("Another lifecycle pass is running; this one skipped.")
        return
    would = "would " if dry_run else ""
    for label, entries in (
        ("warn", report.warned),
        ("stop (idle)", report.stopped_idle),
        ("stop (runtime)", report.stopped_runtime),
        ("release", report.released),
        ("remove", report.removed),
    ):
        for e in entries:
            term.info(f"{would}{label} {e['container']} ({e['user']}): {e['reason']}")
    for e in report.failed:
        term.warning(f"kept {e['container']} ({e['user']}): {e['reason']}")
    for w in report.warnings:
        term.warning(w)
    be = "would be " if dry_run else ""
    term.success(
        f"{'dry run: ' if dry_run else ''}{report.sampled} container(s) sampled; "
        f"{len(report.warned)} {be}warned, {len(report.stopped_idle) + len(report.stopped_runtime)} "
        f"{be}stopped, {len(report.released)} {be}released, {len(report.removed)} {be}removed."
    )
