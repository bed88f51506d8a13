"""``ds01 container keep-alive NAME [DURATION]``: postpone the idle stop, within policy."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option

_GUIDE = (
    "A container nobody uses (no CPU work, no GPU work, no shell open) is stopped after idle_timeout, "
    "so that its GPU goes back to others. A keep-alive postpones that stop, for at most "
    "policies.max_keep_alive; it never extends max_runtime. See `ds01 monitor idle`.",
)


@click.command("keep-alive")
@click.argument("name", required=False)
@click.argument("duration", required=False)
@click.option("--off", is_flag=True, help="Cancel the keep-alive.")
@guided_option
@json_option
@pass_app
def command(app: App, name: str | None, duration: str | None, off: bool, as_json: bool) -> None:
    """Keep container NAME from being stopped for idleness for DURATION (such as 3h; default and
    most: policies.max_keep_alive). It never extends max_runtime. A file `.keep-alive` in the
    workspace does the same (its first line may hold a duration; counted from the file's time).

    JSON keys: name, docker_name, keep_alive_until, capped, max_keep_alive_seconds.
    """
    from ds01.cli.container._common import locate, pick_name
    from ds01.errors import UsageError
    from ds01.limits.units import LimitsValueError, format_duration, parse_duration
    from ds01.units.containers import activity

    term = app.terminal
    for line in _GUIDE:
        term.guide(line)
    seconds = None
    if off:
        if duration:
            raise UsageError("Give either a DURATION or --off, not both.")
        seconds = 0
    elif duration is not None:
        try:
            seconds = int(parse_duration(duration, key="DURATION"))
        except LimitsValueError as exc:
            raise UsageError(str(exc)) from exc
        if seconds <= 0:
            raise UsageError("DURATION must be longer than 0s; use --off to cancel a keep-alive.")
    target = locate(app, pick_name(app, name, running=True))
    if target.info is None:
        raise UsageError(
            f"Container {target.name!r} is not running: its GPU was released; "
            f"`ds01 container run {target.name}` recreates it."
        )
    result = activity.keep_alive(app.config, target.docker_name, target.name, target.owner.name, seconds)
    if as_json:
        term.json(result.to_json())
        return
    if result.until is None:
        term.success(f"Keep-alive of {target.name} cancelled.")
        return
    if result.capped:
        term.warning(f"A keep-alive lasts at most {format_duration(result.max_seconds)} (policies.max_keep_alive).")
    from ds01.terminal import relative

    left = relative(result.to_json()["keep_alive_until"])
    when = f"in the next {left.removeprefix('in ')}" if left.startswith("in ") else f"until {left}"
    term.success(f"{target.name} will not be stopped for idleness {when} (max_runtime still applies).")
