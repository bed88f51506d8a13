"""``ds01 admin install`` and ``ds01 admin uninstall``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option
from ds01.errors import OperationFailed, PolicyRefused

_ROOT = click.option(
    "--root",
    "--prefix",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    show_default=True,
    help="Install under this folder instead of / (staging, tests).",
)


def _links(plan, targets) -> None:
    from ds01.cli.admin import symlinks
    from ds01.cli.tree import symlink_names
    from ds01.ops import install as ops

    target = symlinks._entry_point()
    if not targets.bin.is_dir():
        plan.change(f"create {targets.bin}")
        if not plan.dry_run:
            ops.make_parents(plan, targets.bin)
    names = ["ds01", *symlink_names()]
    for name, action, detail in (
        symlinks.plan(targets.bin, target, names, remove=False)
        if targets.bin.is_dir()
        else [(n, "create", f"{targets.bin / n} -> {target}") for n in names]
    ):
        link = targets.bin / name
        if action == "refuse":
            plan.notes.append(f"left alone: {link} ({detail})")
            continue
        if action == "keep":
            continue
        plan.change(f"{'link' if action == 'create' else 'relink'} {link} -> {target}")
        if plan.dry_run:
            continue
        if action == "replace":
            link.unlink()
        link.symlink_to(target)
        plan.manifest.add("link", link)


def _sudoers(plan, targets) -> None:
    from ds01.cli.admin.sudoers import install_rule

    for folder in (targets.sudoers.parent, targets.entry.parent):
        if not folder.is_dir():
            plan.change(f"create {folder}")
            if not plan.dry_run:
                from ds01.ops.install import make_parents

                make_parents(plan, folder)
    result = install_rule(str(targets.entry), targets.sudoers, None, dry_run=plan.dry_run)
    for what, state, path in (
        ("entry point", result["entry_state"], targets.entry),
        ("sudoers rule (visudo -cf ok)", result["rule_state"], targets.sudoers),
    ):
        if state in ("create", "replace"):
            plan.change(f"{'write' if state == 'create' else 'update'} {what} {path}")
            if state == "create" and not plan.dry_run:
                plan.manifest.add("file", path)


@click.command("install")
@click.option(
    "--mode",
    "mode",
    type=click.Choice(["group", "secure"]),
    default=None,
    help="Security mode (default: the config's security.mode, else group).",
)
@_ROOT
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@json_option
@pass_app
def install(app: App, mode: str | None, root: Path, dry_run: bool, as_json: bool) -> None:
    """Install ds01 on this server: config, folders, commands, schedules, slices, sudoers.

    Idempotent: prints each change, and nothing at all when everything is in place. The
    config is copied from the example only when absent, then checked. The state and log
    folders get the mode's owners (group: root, the docker group, 2775; secure: root, 0755).
    What install creates is listed in <state>/install-manifest.json for `admin uninstall`.
    """
    from ds01.limits.config import load_config
    from ds01.ops import install as ops

    term = app.terminal
    if not dry_run and os.geteuid() != 0:
        raise PolicyRefused(
            "`ds01 admin install` sets owners and writes system files: run it as root (--dry-run shows the plan)."
        )
    targets = ops.Targets(root.absolute())
    if mode is None:
        from ds01.secure_entry import scan_mode

        found = scan_mode(targets.config.read_text()) if targets.config.exists() else "group"
        mode = found if found in ops.MODES else "group"
    plan = ops.begin(targets, mode, dry_run)
    try:
        ops.ensure_config(plan)
        ops.ensure_dir(plan, targets.state)
        ops.ensure_dir(plan, targets.logs)
        _links(plan, targets)
        for source, target in ops.schedule_files(targets):
            ops.ensure_file(plan, source, target)
        from ds01 import paths

        config = load_config(
            targets.config if targets.config.exists() else paths.packaged_config_dir() / "resource-limits.yaml"
        )
        ops.ensure_slices(plan, config)
        if mode == "secure":
            _sudoers(plan, targets)
    finally:
        if not dry_run and plan.changes and targets.state.is_dir():
            ops.finish(plan)
    if as_json:
        term.out(
            json.dumps(
                {
                    "root": str(targets.root),
                    "mode": mode,
                    "dry_run": dry_run,
                    "changes": plan.changes,
                    "notes": plan.notes,
                },
                indent=2,
            )
        )
        return
    for line in plan.changes:
        term.info(line)
    for note in plan.notes:
        term.warning(note)
    if plan.changes:
        term.success(f"{'dry run: ' if dry_run else ''}{len(plan.changes)} change(s); check with `ds01 admin doctor`")


@click.command("uninstall")
@_ROOT
@click.option("--purge", is_flag=True, help="Also remove the state folder (ledger, definitions) and the logs.")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; remove nothing.")
@json_option
@pass_app
def uninstall(app: App, root: Path, purge: bool, dry_run: bool, as_json: bool) -> None:
    """Remove what `ds01 admin install` made, and nothing else.

    The ledger, the logs and users' containers stay unless --purge (containers always stay:
    remove them with `ds01 container retire` first). A config edited since install is kept.
    """
    from ds01.ops import install as ops

    term = app.terminal
    if not dry_run and os.geteuid() != 0:
        raise PolicyRefused("`ds01 admin uninstall` removes system files: run it as root.")
    targets = ops.Targets(root.absolute())
    if not targets.manifest.exists():
        raise OperationFailed(
            f"No install manifest at {targets.manifest}: nothing installed by `ds01 admin install` here (check --root)."
        )
    changes, kept = ops.uninstall(targets, purge=purge, dry_run=dry_run)
    if as_json:
        term.out(
            json.dumps(
                {"root": str(targets.root), "dry_run": dry_run, "purge": purge, "changes": changes, "kept": kept},
                indent=2,
            )
        )
        return
    for line in changes:
        term.info(line)
    for line in kept:
        term.info(f"kept {line}")
    term.success(f"{'dry run: ' if dry_run else ''}{len(changes)} removal(s)")
