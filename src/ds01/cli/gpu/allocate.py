"""``ds01 gpu allocate USER CONTAINER MAX_GPUS PRIORITY``: give a container GPU slots."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.gpu._common import parse_wait, require_self_or_admin
from ds01.cli.options import json_option


@click.command("allocate")
@click.argument("user")
@click.argument("container")
@click.argument("max_gpus", type=click.IntRange(min=1))
@click.argument("priority", type=click.IntRange(1, 100), required=False)
@click.option(
    "--wait",
    "wait",
    metavar="DURATION",
    default=None,
    help="When no slot is free, keep trying this long (e.g. 30m) before giving up.",
)
@json_option
@pass_app
def command(
    app: App, user: str, container: str, max_gpus: int, priority: int | None, wait: str | None, as_json: bool
) -> None:
    """Allocate MAX_GPUS slots to CONTAINER (its full Docker name, NAME._.UID of USER's uid) for USER.

    The priority is USER's from the configuration. PRIORITY overrides it and is for admins
    only: anyone else passing a priority other than their own is refused (exit 3).

    Prints the slot ids given, one per line. Exit 3 when policy refuses (quota,
    reservation), exit 4 when no slot is free. JSON keys: user, container, slots, uuids,
    existing, warnings.
    """
    from ds01.gpu import inputs, service
    from ds01.policy import priority as _priority

    require_self_or_admin(app, user, "allocate GPUs")
    admin = app.is_admin()
    if priority is not None:
        inputs.check_user_name(user)
        priority = _priority.effective(inputs.quota(app.config, user).priority, priority, admin=admin)
    # A user's rows name their own containers; an admin's rows for a login the host knows as well.
    uid = app.identity.uid if user == app.identity.name else None
    term = app.terminal

    def waiting(reason: str) -> None:
        term.info(f"{reason} Waiting up to {wait} for a slot to free (Ctrl-C to stop)…")

    result = service.allocate(
        app.config, user, container, max_gpus, priority, wait=parse_wait(wait), on_wait=waiting, uid=uid
    )
    for w in result.warnings:
        term.warning(w)
    if as_json:
        term.json(result.to_json())
        return
    for sid in result.slots:
        term.out(sid)
    what = "already held" if result.existing else "allocated"
    term.success(f"{container}: slot(s) {', '.join(result.slots)} {what} for {user}.")
