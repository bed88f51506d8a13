"""``ds01 mlc export NAME FILE``: the container's filesystem and definition in one tar file."""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.mlc._common import is_admin
from ds01.cli.options import json_option, script_option


@click.command("export")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@script_option
@json_option
@pass_app
def command(app: App, name: str, file: Path, as_json: bool) -> None:
    """Export container NAME to FILE (recreate it with `ds01 mlc import FILE`).

    FILE is written with your rights (only where you may write) and is readable only by you.
    """
    from ds01.base import engine, transfer

    term = app.terminal
    info = engine.find_container(name, app.identity, any_user=is_admin(app))
    with term.progress(f"Exporting {info.name}…") as status:
        defn, size = transfer.export_container(info, file, owner=app.identity, progress=status.update)
    if as_json:
        term.json({"file": str(file), "definition": defn})
        return
    term.success(f"Exported {info.name} to {file} ({size / 1e6:.1f} MB).")
