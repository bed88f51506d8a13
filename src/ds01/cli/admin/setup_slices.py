"""``ds01 admin setup-slices``: the group totals of the config as caps on the groups' cgroups."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option
from ds01.errors import PolicyRefused


@click.command("setup-slices")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option(
    "--root",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    show_default=True,
    help="Write systemd units under this root instead of / (staging, tests).",
)
@json_option
@pass_app
def command(app: App, dry_run: bool, root: Path, as_json: bool) -> None:
    """Cap each group's containers together: slice_cpus, slice_memory, slice_tasks.

    With Docker's systemd cgroup driver: ds01.slice and ds01-<group>.slice units in
    /etc/systemd/system (checked by systemd-analyze verify, then daemon-reload). With the
    cgroupfs driver: the same limits written into the cgroup folders Docker uses as the
    containers' parents (`ds01 lifecycle run` writes them again after a reboot). Running it
    after a config change changes the caps of running containers' groups. Idempotent.
    """
    from ds01.ops import slices

    term = app.terminal
    if not dry_run and os.geteuid() != 0:
        raise PolicyRefused(
            "`ds01 admin setup-slices` changes cgroup limits and must run as root (--dry-run shows the plan)."
        )
    outcome = slices.setup(app.config, unit_root=root, dry_run=dry_run)
    if as_json:
        term.out(
            json.dumps(
                {
                    "driver": outcome.driver,
                    "cgroup_version": outcome.version,
                    "dry_run": dry_run,
                    "changes": outcome.changes,
                    "uncapped_groups": outcome.uncapped,
                    "slices": [
                        {"unit": s.unit, "group": s.group, "cpus": s.cpus, "memory": s.memory, "tasks": s.tasks}
                        for s in slices.wanted(app.config)
                    ],
                },
                indent=2,
            )
        )
        return
    for line in outcome.changes:
        term.info(line)
    if outcome.uncapped:
        term.info(f"no slice totals, so no group cap: {', '.join(outcome.uncapped)}")
    what = f"{outcome.driver} driver, cgroup v{outcome.version}"
    if outcome.changes:
        term.success(f"{'dry run: ' if dry_run else ''}{len(outcome.changes)} change(s) ({what})")
    else:
        term.success(f"slices already carry the configured totals ({what})")
