"""``ds01 mlc remove NAME [-f]``: remove a stopped container (ds01's or AIME's)."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.mlc._common import is_admin
from ds01.cli.options import script_option


@click.command("remove")
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Also remove it when it is running.")
@script_option
@pass_app
def command(app: App, name: str, force: bool) -> None:
    """Remove container NAME; your workspace, data and models directories are kept.

    A ds01 container's GPU slots go back to the pool at once and its saved definition is dropped.
    For a container made by AIME's own mlc, the image AIME committed for it is removed too,
    unless another container uses it.
    """
    from ds01.base import engine

    info = engine.find_container(name, app.identity, any_user=is_admin(app))
    removed = engine.remove_container(info, force=force)
    if info.ds01_managed:
        from ds01.gpu import service
        from ds01.units.containers import definitions
        from ds01.units.containers.common import owner_of

        service.release(info.docker_name, reason="container removed")
        definitions.delete(owner_of(info, app.identity), info.name)
    # AIME's own create commits an image for each container (<catalog image>:<name>._.<uid>) and
    # its remove deletes it; so does this one, unless another container still uses that image.
    committed = engine.aime_committed_image(info)
    if removed:
        app.terminal.success(f"Container {info.name} removed (its mounted directories are untouched).")
    else:
        app.terminal.info(f"Container {info.name} was already removed.")
    if committed is not None:
        if engine.remove_image_unless_used(committed):
            app.terminal.info(f"Removed the image {committed} that AIME's mlc made for it.")
        elif engine.image_present(committed):
            app.terminal.info(f"Kept the image {committed}: another container uses it.")
