"""``ds01 mlc list``: your mlc containers (ds01's and AIME's) from one sparse Docker call."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option


@click.command("list")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show every column (arch, GPUs, mounts).")
@click.option("-au", "--all-users", is_flag=True, help="Every user's containers (admins).")
# AIME's list uses -s for sizes; list never prompts, so it needs no script mode.
@click.option("-s", "--size", "sizes", is_flag=True, help="Also show disk sizes (slow on many containers).")
@json_option
@pass_app
def command(app: App, show_all: bool, all_users: bool, sizes: bool, as_json: bool) -> None:
    """List containers: name, framework, state (JSON keys in docs/mlc.md)."""
    from ds01.cli.listings import show_mlc

    show_mlc(app, show_all=show_all, all_users=all_users, sizes=sizes, as_json=as_json)
