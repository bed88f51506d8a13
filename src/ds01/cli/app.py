"""The application object every command receives (``@pass_app``).

It carries the terminal, and resolves the caller's identity and the configuration on
first use (never at import time). Config is read fresh by each process, so an edit to
``resource-limits.yaml`` takes effect on the next command.

When that file is invalid, what a command may do depends on what it does with the config,
which each command declares here and nowhere else: ``@read_only`` (it only reads or gives
back: stop, cleanup, retire, list, status, gpu release, the lifecycle pass) runs on the last
valid config with one warning; every other command takes resources and is refused (exit 2).
See ``ds01.limits.last_good``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ds01 import identity as _identity
from ds01 import paths
from ds01.terminal import Terminal

if TYPE_CHECKING:
    from ds01.limits.config import Config


class App:
    def __init__(self, terminal: Terminal | None = None):
        self.terminal = terminal or Terminal()
        self.config_use = "take"  # "read" under @read_only

    @cached_property
    def identity(self) -> _identity.Identity:
        return _identity.current()

    @cached_property
    def config(self) -> Config:
        from ds01.limits import last_good

        return last_good.load(
            paths.config_path(), use=self.config_use, is_admin=self._admin_in, warn=self.terminal.warning
        )

    def _admin_in(self, config: Config | None) -> bool:
        ident = self.identity
        return ident.is_root or (config is not None and ident.name in config.admins)

    def is_admin(self) -> bool:
        """Root (not via sudo) or a user listed in the config's ``admins``."""
        return self._admin_in(self.config)

    def extra(self) -> dict[str, Any]:  # pragma: no cover - convenience for debugging
        return {"identity": self.identity, "config": str(paths.config_path())}


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
