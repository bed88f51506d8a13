"""``ds01 admin add-user`` and ``ds01 admin users``."""

from __future__ import annotations

import json

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option
from ds01.errors import OperationFailed, PolicyRefused


@click.command("add-user")
@click.argument("user")
@click.option(
    "--group",
    "group",
    metavar="G",
    default=None,
    help="The config group to record the user in (default: default_group).",
)
@pass_app
def add_user(app: App, user: str, group: str | None) -> None:
    """Add USER: record them in groups.<G>.members and, in group mode, the docker group.

    The config is edited in place keeping its comments (and checked before it is replaced);
    when that cannot be done safely (a read-only file, a members list shared through a YAML
    anchor), the lines to add are printed, the file is left alone and the exit status is 1.
    """
    import pwd

    from ds01 import paths
    from ds01.gpu.inputs import check_user_name
    from ds01.ops import users

    term = app.terminal
    check_user_name(user)
    config = app.config
    group = group or config.default_group
    if group is None:
        from ds01.errors import UsageError

        raise UsageError("Say which group with --group G (the config has no default_group).")
    import os

    if not config.security.secure and os.geteuid() != 0:
        raise PolicyRefused(
            "In group mode `ds01 admin add-user` also adds the user to the docker group, "
            "which needs root; nothing was changed."
        )
    try:
        pwd.getpwnam(user)
    except KeyError:
        term.warning(f"{user} has no account on this host yet (create it with adduser)")
    path = paths.config_path()
    result = users.add_to_group(path, user, group)
    if result.already:
        term.info(f"{user} is already in groups.{group}.members")
    elif result.edited:
        term.success(f"added {user} to groups.{group}.members in {path} (comments kept)")
    else:
        term.warning(f"{path} was not changed: {result.reason}. Add these lines yourself:")
        term.out(result.lines.rstrip("\n"))
    if config.security.secure:
        term.info("secure mode: users stay out of the docker group; ds01 runs for them through sudo")
    else:
        state = users.add_to_docker_group(user)
        term.success(f"docker group: {user} {'added' if state == 'added' else state}")
    if not (result.edited or result.already):
        raise OperationFailed(f"groups.{group}.members in {path} does not list {user} yet: add the lines above.")


@click.command("users")
@json_option
@pass_app
def users(app: App, as_json: bool) -> None:
    """Every known user: group, priority, containers, GPU slots held, last activity."""
    from ds01.errors import Ds01Error
    from ds01.gpu.ledger import Ledger
    from ds01.ops import users as ops_users

    term = app.terminal
    try:
        from ds01.base import engine

        containers = engine.list_containers(None)
    except Ds01Error as exc:
        term.warning(f"containers not counted: {exc}")
        containers = None
    table = ops_users.users_table(app.config, containers=containers, ledger=Ledger(secure=app.config.security.secure))
    if as_json:
        term.out(json.dumps({"users": table}, indent=2))
        return
    term.table(
        ["user", "group", "priority", "containers", "slots", "last activity"],
        [
            [
                r["user"],
                r["group"] or "-",
                str(r["priority"]),
                "?" if r["containers"] is None else f"{r['running']}/{r['containers']}",
                ",".join(r["slots"]) or "-",
                r["last_activity"] or "-",
            ]
            for r in table
        ],
    )
