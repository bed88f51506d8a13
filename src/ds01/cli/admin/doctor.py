"""``ds01 admin doctor``: check the installation, one line per check, with the fix."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option
from ds01.errors import OperationFailed


@click.command("doctor")
@click.option(
    "--root",
    "--prefix",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    show_default=True,
    help="Check an installation made under this folder.",
)
@json_option
@pass_app
def command(app: App, root: Path, as_json: bool) -> None:
    """Check everything ds01 needs: config, Docker, slices, GPUs, ledger, folders, schedules.

    One line per check: ok, warn, fail or skip (with why), and the fix for each one not ok.
    Exit 0 when nothing fails, 1 otherwise. Changes nothing.
    """
    from ds01.ops import doctor
    from ds01.ops.install import Targets

    term = app.terminal
    checks = doctor.run(Targets(root.absolute()))
    failed = [c for c in checks if c.status == "fail"]
    if as_json:
        term.out(json.dumps({"ok": not failed, "checks": [c.to_json() for c in checks]}, indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            term.out(
                f"{c.status:<4}  {c.name:<{width}}  {c.detail}"
                + (f"\n      fix: {c.fix}" if c.fix and c.status in ("warn", "fail") else "")
            )
    if failed:
        raise OperationFailed(
            f"{len(failed)} check(s) failed: {', '.join(c.name for c in failed)}; each line above says how to fix it."
        )
