"""``container deploy`` (create -> run) and ``container retire`` (stop -> cleanup).

Tier 3: these only order calls to the container units and report what each step did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ds01.records import dataclass
from ds01.units.containers import create as create_unit
from ds01.units.containers import lifecycle

if TYPE_CHECKING:
    from ds01.identity import Identity
    from ds01.limits.config import Config


@dataclass
class Deployed:
    created: create_unit.CreateResult
    run: lifecycle.RunResult | None  # None with open_shell=False


def deploy(
    config: Config,
    req: create_unit.CreateRequest,
    *,
    progress: Callable[[str], None] | None = None,
    open_shell: bool = True,
    on_created: Callable[[create_unit.CreateResult], None] | None = None,
    preflight: bool = False,
) -> Deployed:
    """Create the container, then start it and open a shell in it (the shell's exit code is in ``run``).
    ``preflight``: as ``create``'s (no question came before, so it makes the preflight's checks)."""
    created = create_unit.create(config, req, progress=progress, preflight=preflight)
    if on_created:
        on_created(created)
    target = lifecycle.locate(created.plan.docker_name, req.owner)
    if not open_shell:
        lifecycle.ensure_running(config, target, progress=progress)
        return Deployed(created, None)
    return Deployed(created, lifecycle.run(config, target, progress=progress))


@dataclass
class Retired:
    stopped: lifecycle.Stopped | None  # None: it was already released (only a definition)
    cleaned: lifecycle.Cleaned


def retire(
    config: Config, name: str, caller: Identity, *, admin: bool = False, timeout: int = 10, force: bool = False
) -> Retired:
    """Stop the container (if it exists), then remove it, release its GPU and drop its definition."""
    target = lifecycle.locate(name, caller, admin=admin)
    stopped = lifecycle.stop(config, target, timeout=timeout, force=force) if target.exists else None
    target = lifecycle.locate(name, caller, admin=admin)  # its state changed: look again
    return Retired(stopped, lifecycle.cleanup(target, force=force))
