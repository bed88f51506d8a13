"""``ds01 limits check [FILE]``: validate a resource-limits file without acting (like ``nginx -t``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ds01 import paths
from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option
from ds01.errors import ConfigError


@click.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=True))
@json_option
@pass_app
def command(app: App, file: Path | None, as_json: bool) -> None:
    """Check FILE (default: the active config) and list every problem in it.

    Exit 0 with a one-line summary when valid; exit 2 listing each problem (key path,
    bad value, accepted forms) when not. --json keys: file, valid, problems (file,
    key_path, value, message), warnings, summary.
    """
    from ds01.limits.config import check_file

    term = app.terminal
    path = file if file is not None else paths.config_path()
    config, problems, warnings = check_file(path)
    summary: dict[str, Any] | None = None
    if config is not None:
        ga = config.gpu_allocation
        summary = {
            "groups": len(config.groups),
            "users": config.user_count(),
            "overrides": len(config.user_overrides),
            "reservations": len(config.reservations()),
            "inventory": ga.inventory,
            "topology": str(ga.topology) if ga.topology else None,
        }
    if as_json:
        term.json(
            {
                "file": str(path),
                "valid": not problems,
                "problems": [
                    {"file": p.file, "key_path": p.key_path, "value": p.value, "message": p.message} for p in problems
                ],
                "warnings": warnings,
                "summary": summary,
            }
        )
    for warning in warnings:
        term.warning(warning)
    if len(problems) == 1 and not problems[0].key_path:
        # Missing, unreadable or not YAML: one sentence naming the file says it all.
        raise ConfigError(problems[0].format())
    if problems:
        raise ConfigError(
            f"{path} is not a valid ds01 configuration: {len(problems)} problem(s); nothing was changed.",
            details=[p.format() for p in problems] if not as_json else [],
        )
    if not as_json and summary is not None:
        inventory = summary["inventory"]
        if summary["topology"]:
            inventory += f" ({summary['topology']})"
        term.out(
            f"{path}: OK: {summary['groups']} groups, {summary['users']} users, "
            f"{summary['overrides']} overrides, {summary['reservations']} reservations, inventory {inventory}"
        )
