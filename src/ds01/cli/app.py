"""``@pass_app`` and ``@read_only``: how click commands receive the application object.

``App`` itself lives in ``cli.context`` (no click there, so the click-free listings use it
too). When ``resource-limits.yaml`` is invalid, what a command may do depends on what it does
with the config, which each command declares here and nowhere else: ``@read_only`` (it only
reads or gives back: stop, cleanup, retire, list, status, gpu release, the lifecycle pass)
runs on the last valid config with one warning; every other command takes resources and is
refused (exit 2). See ``ds01.limits.last_good``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ds01.cli.context import App

__all__ = ["App", "pass_app", "read_only"]

pass_app = click.make_pass_decorator(App, ensure=True)

F = TypeVar("F", bound=Callable[..., Any])


def read_only(f: F) -> F:
    """Mark a command that only reads or gives back (put it under ``@click.command``).

    With an invalid config file it runs on the last valid config, with one warning line,
    instead of failing: a typo in the file must not stop anyone from giving a GPU back.
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        click.get_current_context().ensure_object(App).config_use = "read"
        return f(*args, **kwargs)

    wrapper.ds01_config_use = "read"  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
