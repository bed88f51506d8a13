"""``ds01 mlc list``: your mlc containers (ds01's and AIME's) from one sparse Docker call."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.mlc._common import is_admin
from ds01.cli.options import json_option
from ds01.terminal import human_size


@click.command("list")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show every column (arch, GPUs, mounts).")
@click.option("-au", "--all-users", is_flag=True, help="Every user's containers (admins).")
# AIME's list uses -s for sizes; list never prompts, so it needs no script mode.
@click.option("-s", "--size", "sizes", is_flag=True, help="Also show disk sizes (slow on many containers).")
@json_option
@pass_app
def command(app: App, show_all: bool, all_users: bool, sizes: bool, as_json: bool) -> None:
    """List containers: name, framework, state (JSON keys in docs/mlc.md)."""
    from ds01.base import engine
    from ds01.errors import PolicyRefused

    if all_users and not is_admin(app):
        raise PolicyRefused("Only admins can list every user's containers; drop -au to see yours.")
    infos = engine.list_containers(None if all_users else app.identity.name, size=sizes)
    if as_json:
        app.terminal.json([i.to_json() for i in infos])
        return
    columns = ["NAME", "FRAMEWORK", "STATE", "STATUS"]
    if all_users:
        columns.insert(0, "USER")
    if show_all:
        columns += ["ARCH", "GPUS", "WORKSPACE", "DATA", "MODELS", "MANAGED"]
    if sizes:
        columns += ["SIZE"]
    rows = []
    for i in infos:
        j = i.to_json()
        row = [i.name, j["framework"] or "-", i.state, i.status]
        if all_users:
            row.insert(0, i.user)
        if show_all:
            row += [
                j["arch"] or "-",
                j["gpus"] or "-",
                j["workspace"] or "-",
                j["data"] or "-",
                j["models"] or "-",
                "ds01" if i.ds01_managed else "aime",
            ]
        if sizes:
            row += [f"{human_size(i.size_rw)} (virtual {human_size(i.size_root_fs)})"]
        rows.append(row)
    app.terminal.table(columns, rows, empty="No containers; create one with `ds01 mlc create NAME`.")
