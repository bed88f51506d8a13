"""The application object every command receives (``@pass_app`` in ``cli.app``), without click.

It carries the terminal, and resolves the caller's identity and the configuration on
first use (never at import time). Config is read fresh by each process, so an edit to
``resource-limits.yaml`` takes effect on the next command.

When that file is invalid, what a command may do depends on what it does with the config,
which each command declares with ``cli.app.read_only`` and nowhere else: a read-only command
(stop, cleanup, retire, list, status, gpu release, the lifecycle pass) runs on the last valid
config with one warning; every other command takes resources and is refused (exit 2).
See ``ds01.limits.last_good``. The click-free listings (``cli.listings``) use this object too.
"""

from __future__ import annotations

from functools import cached_property

from ds01 import identity as _identity
from ds01 import paths
from ds01.terminal import Terminal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
