"""``ds01 container retire NAME``: stop the container, then remove it and release its GPU."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app, read_only
from ds01.cli.options import guided_option, json_option, script_option, stop_options


@click.command("retire")
@read_only
@click.argument("name", required=False)
@stop_options
@guided_option
@script_option
@json_option
@pass_app
def command(app: App, name: str | None, force: bool, timeout: int, as_json: bool) -> None:
    """Stop container NAME and clean it up (its GPU is released at once; workspace files stay).

    JSON keys: stopped (as `container stop --json`, or null), cleaned (as `container cleanup --json` items).
    """
    from ds01.cli.container._common import pick_name
    from ds01.orchestrators.containers import retire
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "retire")
    name = pick_name(app, name)
    done = retire(app.config, name, app.identity, admin=app.is_admin(), timeout=timeout, force=force)
    if as_json:
        term.json({"stopped": done.stopped.to_json() if done.stopped else None, "cleaned": done.cleaned.to_json()})
        return
    c = done.cleaned
    gpu = f"; GPU slot {', '.join(c.released)} released" if c.released else ""
    term.success(f"{c.name} retired: stopped and removed{gpu}. Your workspace files are untouched.")
