"""``ds01 image bases``: the base images of this server, and what each contains."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option


@click.command("bases")
@json_option
@guided_option
@pass_app
def command(app: App, as_json: bool) -> None:
    """Base images you can build on: catalog images present here and the ones your admin allows."""
    from ds01.cli.image._shared import settings
    from ds01.terminal import human_size
    from ds01.units.images.bases import CATALOG, bases

    term = app.terminal
    term.guide(
        "A base image is what your own image starts from: an operating system, usually Python and a "
        "framework. `ds01 image create` adds your packages on top. ds01 never downloads one; these are "
        "the ones this server has (from the framework catalog, or allowed by your admin)."
    )
    found = bases(settings(app), app.identity)
    if as_json:
        term.json([b.to_json() for b in found])
        return
    rows = [
        (
            b.ref,
            "catalog" if b.source == CATALOG else "admin",
            human_size(b.size) if b.present else "absent",
            b.contains or "-" if b.present else "not on this server yet (your admin can load it)",
        )
        for b in found
    ]
    term.table(
        ["BASE IMAGE", "FROM", "SIZE", "CONTAINS"],
        rows,
        empty="This server offers no base images yet; ask your admin to add some (security.allowed_base_images).",
    )
    usable = [b for b in found if b.present]
    if usable:
        term.info("Next:")
        term.next_step(f"ds01 image create PROJECT --base-image {usable[0].ref}", "build your image on one")
