"""``ds01 limits migrate FILE [--write]``: rewrite an original DS01 config into ds01's format."""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.errors import ConfigError, OperationFailed


@click.command("migrate")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--write", is_flag=True, help="Rewrite FILE in place (a backup FILE.orig is kept).")
@pass_app
def command(app: App, file: Path, write: bool) -> None:
    """Translate FILE's original DS01 keys and forms into ds01's, printing a diff.

    max_gpus_per_user becomes max_mig_instances, idle_timeout_h: 48 becomes
    idle_timeout: 48h (likewise max_runtime_h, gpu_hold_after_stop_h,
    container_hold_after_stop_h), never/unlimited become null, a per-group policies:
    mapping is moved up into its group, and slot ids are quoted. Without --write
    nothing is changed. With --write, FILE is replaced at once (comments, order and
    quoting kept) after a copy is saved as FILE.orig. Anything without a translation
    is named and nothing is written (exit 2).
    """
    import difflib

    from ds01.limits.legacy import migrate_text

    term = app.terminal
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file} cannot be read as YAML text ({getattr(exc, 'strerror', None) or exc}).") from None
    try:
        mig = migrate_text(text)
    except Exception as exc:  # noqa: BLE001 - a YAML syntax error becomes one sentence
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{file} is not valid YAML{where}; fix the syntax first.") from None
    if mig.refusals:
        raise ConfigError(
            f"{file} has {len(mig.refusals)} value(s) with no translation; nothing was changed.", details=mig.refusals
        )
    if not mig.changes:
        term.out(f"{file}: nothing to migrate (no original DS01 keys or forms).")
        return
    diff = difflib.unified_diff(
        text.splitlines(keepends=True),
        mig.text.splitlines(keepends=True),
        fromfile=str(file),
        tofile=f"{file} (migrated)",
    )
    term.out("".join(diff).rstrip("\n"))
    if not write:
        term.hint(f"{len(mig.changes)} change(s); run `ds01 limits migrate {file} --write` to apply them.")
        return
    import os
    import shutil

    from ds01.fsutil import write_atomic

    backup = file.with_name(file.name + ".orig")
    if backup.exists():
        raise OperationFailed(
            f"{backup} already exists; move it away first (it may be an earlier backup). {file} was not changed."
        )
    try:
        shutil.copy2(file, backup)
    except OSError as exc:
        raise OperationFailed(
            f"Cannot save the backup {backup}: {exc.strerror or exc}; {file} was not changed."
        ) from None
    write_atomic(file, mig.text, mode=os.stat(file).st_mode & 0o777)
    term.out(
        f"{file}: migrated ({len(mig.changes)} change(s)); the original is saved as {backup}. "
        f"Check it with `ds01 limits check {file}`."
    )
