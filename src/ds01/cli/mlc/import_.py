"""``ds01 mlc import FILE [NAME]``: recreate an exported container as yours."""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option, script_option


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("name", required=False)
@click.option("-w", "--workspace", type=click.Path(path_type=Path), help="Workspace directory to mount instead.")
@script_option
@json_option
@pass_app
def command(app: App, file: Path, name: str | None, workspace: Path | None, as_json: bool) -> None:
    """Import FILE (from `ds01 mlc export`) as container NAME (default: the exported name).

    Mounts are kept when they are yours; otherwise your ~/workspace is used and data/models
    are left out. GPU assignments are not carried over.
    """
    from ds01.base import engine, transfer
    from ds01.errors import UsageError

    term, me = app.terminal, app.identity
    overrides = {"workspace": workspace} if workspace else {}
    if not workspace:
        header = transfer.read_export(file, me)
        ws = (header["definition"].get("mounts") or {}).get("workspace")
        try:
            if not ws:
                raise UsageError("no workspace in the export")
            engine.validate_mount(Path(ws), me, "workspace", writable=True)
        except UsageError:  # not the importer's (or gone): use their own workspace
            overrides = {"workspace": engine.default_workspace(me)}
    with term.progress(f"Importing {file}…") as status:
        info = transfer.import_container(file, me, name=name, overrides=overrides, progress=status.update)
    if as_json:
        term.json(info.to_json())
        return
    term.success(f"Imported container {info.name} from {file}.")
    term.next_step(f"ds01 mlc open {info.name}", "open a shell in it")
