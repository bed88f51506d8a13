"""``ds01 image list``: the caller's images."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option


@click.command("list")
@json_option
@guided_option
@pass_app
def command(app: App, as_json: bool) -> None:
    """Your images: name, size, created, base framework, containers using them."""
    from ds01.base.names import display_name
    from ds01.terminal import human_size
    from ds01.units.images.listing import age, list_images

    term = app.terminal
    term.guide(
        "An image is the blueprint a container is made from: a framework image plus the packages "
        "you chose, built from a Dockerfile (the recipe) in ~/dockerfiles/<project>/. Images listed "
        "here are yours; CONTAINERS shows which of your containers were made from each, and an image "
        "in use cannot be deleted until they are cleaned up."
    )
    images = list_images(app.identity)
    if as_json:
        term.json([i.to_json() for i in images])
        return
    rows = [
        (
            i.name,
            human_size(i.size),
            age(i.created),
            i.framework or i.base_image or "-",
            ", ".join(display_name(c) for c in i.containers) or "-",
        )
        for i in images
    ]
    from ds01.terminal import Column

    columns = [
        Column("IMAGE", 1, name=True),
        Column("SIZE", 3),
        Column("CREATED", 4),
        Column("BASE", 5),
        Column("CONTAINERS", 2),
    ]
    term.table(columns, rows, empty="You have no images yet; create one with `ds01 image create PROJECT`.")
