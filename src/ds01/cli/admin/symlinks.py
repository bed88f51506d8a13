"""``ds01 admin symlinks``: install the ``noun-verb`` and dispatcher commands as symlinks."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option
from ds01.errors import OperationFailed, UsageError


def _entry_point() -> Path:
    """The installed ``ds01`` executable the symlinks point at."""
    found = shutil.which("ds01")
    if found:
        return Path(found).resolve()
    candidate = Path(sys.executable).parent / "ds01"
    if candidate.exists():
        return candidate.resolve()
    raise OperationFailed("Cannot find the installed `ds01` executable; install ds01 first (pip install .).")


def plan(prefix: Path, target: Path, names: list[str], remove: bool) -> list[tuple[str, str, str]]:
    """(name, action, detail) for every name: create, replace, remove, keep, refuse."""
    actions = []
    for name in names:
        link = prefix / name
        if link.is_symlink():
            current = Path(os.readlink(link))
            current_abs = (link.parent / current).resolve() if not current.is_absolute() else current.resolve()
            ours = current_abs == target or current_abs.name == "ds01"
            if not ours:
                actions.append((name, "refuse", f"points at {current}, which is not ds01"))
            elif remove:
                actions.append((name, "remove", str(link)))
            elif current_abs == target:
                actions.append((name, "keep", str(link)))
            else:
                actions.append((name, "replace", f"{current} -> {target}"))
        elif link.exists():
            actions.append((name, "refuse", f"{link} exists and was not made by ds01"))
        elif remove:
            actions.append((name, "keep", "not installed"))
        else:
            actions.append((name, "create", f"{link} -> {target}"))
    return actions


@click.command("symlinks")
@click.option(
    "--prefix",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/usr/local/bin"),
    show_default=True,
    help="Directory to install the commands into.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--remove", is_flag=True, help="Remove the symlinks ds01 installed.")
@json_option
@pass_app
def command(app: App, prefix: Path, dry_run: bool, remove: bool, as_json: bool) -> None:
    """Install `container-create`, `image-list`, `user-setup`, … as symlinks to ds01.

    Idempotent: existing correct links are kept. A file or link that ds01 did not create
    is never replaced (reported as refused, exit 1).
    """
    from ds01.cli.tree import symlink_names

    term = app.terminal
    if not prefix.is_dir():
        raise UsageError(f"{prefix} is not a directory; create it or pass another --prefix.")
    target = _entry_point()
    actions = plan(prefix, target, symlink_names(), remove)
    changed = 0
    for name, action, _detail in actions:
        if dry_run or action in ("keep", "refuse"):
            continue
        link = prefix / name
        try:
            if action in ("remove", "replace"):
                link.unlink()
            if action in ("create", "replace"):
                link.symlink_to(target)
        except OSError as exc:
            raise OperationFailed(f"Cannot change {link}: {exc.strerror}.") from exc
        changed += 1
    refused = [a for a in actions if a[1] == "refuse"]
    if as_json:
        term.out(
            json.dumps(
                {
                    "prefix": str(prefix),
                    "target": str(target),
                    "dry_run": dry_run,
                    "actions": [{"name": n, "action": a, "detail": d} for n, a, d in actions],
                },
                indent=2,
            )
        )
    else:
        for name, action, detail in actions:
            if action != "keep":
                verb = f"would {action}" if dry_run and action != "refuse" else action
                term.info(f"{verb:>14}  {name}  ({detail})")
        kept = sum(1 for a in actions if a[1] == "keep")
        summary = f"{changed} changed, {kept} unchanged, {len(refused)} refused in {prefix}"
        term.success(("dry run: " if dry_run else "") + summary)
    if refused:
        raise OperationFailed(f"{len(refused)} name(s) in {prefix} belong to something else and were left alone.")
