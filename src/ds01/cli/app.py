"""The application object every command receives (``@pass_app``).

It carries the terminal, and resolves the caller's identity and the configuration on
first use (never at import time). Config is read fresh by each process, so an edit to
``resource-limits.yaml`` takes effect on the next command.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

from ds01 import identity as _identity
from ds01 import paths
from ds01.terminal import Terminal

if TYPE_CHECKING:
    from ds01.limits.config import Config


class App:
    def __init__(self, terminal: Terminal | None = None):
        self.terminal = terminal or Terminal()

    @cached_property
    def identity(self) -> _identity.Identity:
        return _identity.current()

    @cached_property
    def config(self) -> Config:
        from ds01.limits.config import load_config

        return load_config(paths.config_path())

    def is_admin(self) -> bool:
        """Root (not via sudo) or a user listed in the config's ``admins``."""
        ident = self.identity
        if ident.is_root:
            return True
        return ident.name in self.config.admins

    def extra(self) -> dict[str, Any]:  # pragma: no cover - convenience for debugging
        return {"identity": self.identity, "config": str(paths.config_path())}


pass_app = click.make_pass_decorator(App, ensure=True)
