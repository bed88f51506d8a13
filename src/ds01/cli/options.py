"""Option decorators shared by every command, so flags mean the same thing everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ds01.cli.app import App

F = TypeVar("F", bound=Callable[..., Any])


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout (stable keys).")(
        f
    )


def _set_guided(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(App).terminal.guided = True


def guided_option(f: F) -> F:
    return click.option(
        "--guided",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_guided,
        help="Explain each step in plain words (for people new to containers).",
    )(f)


def _set_script(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(App).terminal.script_mode = True


def script_option(f: F) -> F:
    """``-s/--script``: never prompt; a question that would be asked is an error (exit 2)."""
    return click.option(
        "-s",
        "--script",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_script,
        help="Script mode: never prompt; anything that would be asked is an error.",
    )(f)


def yes_option(f: F) -> F:
    return click.option("-y", "--yes", is_flag=True, help="Accept the defaults; ask nothing.")(f)


def stop_options(f: F) -> F:
    """``--force`` and ``--timeout``: how a container is stopped (``container stop`` and ``retire``)."""
    f = click.option(
        "-t",
        "--timeout",
        type=click.IntRange(min=0),
        default=10,
        show_default=True,
        help="Seconds programs get to end before they are killed.",
    )(f)
    return click.option("-f", "--force", is_flag=True, help="Kill at once instead of asking programs to end.")(f)
