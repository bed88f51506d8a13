"""``ds01 container exit``: how to leave a container shell, and what happens to the container."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app, read_only
from ds01.cli.options import guided_option


@click.command("exit")
@read_only
@guided_option
@pass_app
def command(app: App) -> None:
    """Explain how to leave a container shell and what happens to the container and its GPU."""
    from ds01.units.containers.texts import EXIT_TEXT

    app.terminal.prose(EXIT_TEXT.rstrip("\n"), err=False)
