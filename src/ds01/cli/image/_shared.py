"""Helpers the image commands share: the ``images`` settings and live build progress."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ds01.cli.app import App
from ds01.units.images.packages import ImageSettings


def settings(app: App) -> ImageSettings:
    """The ``images:`` section of the configuration (code defaults where it is absent)."""
    try:
        config = app.config
    except ImportError:
        # An installation without the limits package has no image settings to read.
        return ImageSettings()
    return ImageSettings.from_config(getattr(config, "images", None))


@contextmanager
def build_progress(app: App, image: str) -> Iterator[Callable[[str], None]]:
    """Live progress: a spinner with the latest line on a terminal; each step line otherwise."""
    term = app.terminal
    with term.progress(f"Building {image} …") as status:

        def on_line(line: str) -> None:
            if line.startswith("Step ") or line.startswith("ERROR"):
                term.info("  " + line)
            status.update(f"Building {image}: {line[:100]}")

        yield on_line
