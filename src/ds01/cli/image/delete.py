"""``ds01 image delete NAME…``: delete the caller's images."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option, yes_option


@click.command("delete")
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True, help="Also remove the containers that use the image.")
@yes_option
@json_option
@guided_option
@pass_app
def command(app: App, names: tuple[str, ...], force: bool, yes: bool, as_json: bool) -> None:
    """Delete images (PROJECT or PROJECT-image). Refused while a container uses one, unless --force."""
    from ds01.units.images import delete
    from ds01.units.images.listing import list_images

    term = app.terminal
    chosen = list(names)
    if not chosen:
        mine = [i.name.split(":", 1)[0] for i in list_images(app.identity)]
        chosen = term.checkbox("Images to delete:", mine, what="NAME")
        if not chosen:
            term.info("Nothing selected; nothing deleted.")
            return
    plan = delete.plan_delete(chosen, app.identity)
    if force and plan.blocked and not yes and term.can_prompt():
        victims = sorted({c for cs in plan.blocked.values() for c in cs})
        if not term.confirm(f"Remove container(s) {', '.join(victims)} too?", default=False):
            term.info("Nothing deleted.")
            return
    term.guide("Deleting an image frees disk space; its Dockerfile stays, so you can rebuild it.")
    result = delete.delete(plan, force=force)
    if as_json:
        term.json(result.to_json())
    for warning in result.warnings:
        term.warning(warning)
    for name in result.containers_removed:
        term.info(f"removed container {name}")
    for name in result.deleted:
        term.success(f"deleted {name}")
