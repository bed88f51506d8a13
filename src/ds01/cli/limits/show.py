"""``ds01 limits show [USER]``: the limits one user gets, each with the level it came from."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import json_option
from ds01.errors import UsageError

_WHY = {
    "member": "listed in groups.{group}.members",
    "default_group": "in no group; default_group is {group}",
    "defaults": "in no group and no default_group is set; defaults apply",
}


@click.command("show")
@click.argument("user", required=False)
@click.option("--docker-args", is_flag=True, help="Print the docker run flags the limits imply.")
@click.option("--group", "group_only", is_flag=True, help="Print the user's group name alone.")
@json_option
@pass_app
def command(app: App, user: str | None, docker_args: bool, group_only: bool, as_json: bool) -> None:
    """Show USER's resolved limits (default: you) and where each value comes from.

    Resolution: user_overrides > the user's group > default_group > defaults > built-in.
    --json keys: user, group, priority, limits (sizes in bytes, durations in seconds,
    null = unlimited/never), sources (field -> user_override, group:<g>,
    default_group:<g>, defaults or builtin).
    """
    from ds01.limits.resolver import PER_USER_FIELDS, docker_run_args, format_value, resolve

    term = app.terminal
    name = user if user is not None else app.identity.name
    if user is not None:
        from ds01.limits.schema import NAME_FORMS, USER_NAME_RE

        if not USER_NAME_RE.match(user):
            raise UsageError(f"{user!r} is not a user name; expected {NAME_FORMS}.")
    resolved = resolve(app.config, name)
    if as_json:
        term.json(resolved.to_json())
        return
    if group_only:
        term.out(resolved.group or "")
        return
    if docker_args:
        term.out(" ".join(docker_run_args(resolved)))
        return
    why = _WHY[resolved.group_source].format(group=resolved.group)
    term.out(f"{name}: group {resolved.group or '(none)'} ({why}); priority {resolved.priority}")
    rows = [(f, format_value(f, resolved.values[f]), resolved.sources[f]) for f in PER_USER_FIELDS]
    # Plain aligned text, not rich: `limits show` stays free of heavy imports.
    widths = [max(len(str(r[i])) for r in [("field", "value", "source"), *rows]) for i in range(3)]
    for row in [("field", "value", "source"), *rows]:
        term.out("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    res = resolved.reservation
    if res is not None:
        reason = f" ({res.reason})" if res.reason else ""
        term.out(
            f"reservation: slots {', '.join(res.slots)} from {res.start.isoformat()} to {res.end.isoformat()}{reason}"
        )
    term.hint(f"config: {app.config.path}")
