"""Helpers the image commands share: the ``images`` settings and live build progress."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ds01.cli.app import App
from ds01.units.images.packages import ImageSettings

if TYPE_CHECKING:
    from ds01.terminal import Terminal


def settings(app: App) -> ImageSettings:
    """The ``images:`` section of the configuration (code defaults where it is absent)."""
    try:
        config = app.config
    except ImportError:
        # An installation without the limits package has no image settings to read.
        return ImageSettings()
    return ImageSettings.from_config(getattr(config, "images", None), getattr(config, "security", None))


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


def show_categories(term: Terminal, categories: dict[str, list[str]]) -> None:
    """The packages of each category as a table on stdout."""
    from ds01.units.images.packages import PHASE_TITLES, SYSTEM, SYSTEM_TITLE

    titles = {**PHASE_TITLES, SYSTEM: SYSTEM_TITLE}
    rows = [(titles[key], " ".join(specs) or "-") for key, specs in categories.items()]
    term.table(["CATEGORY", "PACKAGES"], rows)
