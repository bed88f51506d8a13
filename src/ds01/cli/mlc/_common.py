"""What every ``ds01 mlc`` command needs from the configuration, with defaults when it is absent."""

from __future__ import annotations

from pathlib import Path

from ds01 import paths
from ds01.base.catalog import DEFAULT_AIME_CATALOG
from ds01.cli.context import App
from ds01.errors import ConfigError
from ds01.records import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class MlcSettings:
    aime_catalog: Path = DEFAULT_AIME_CATALOG
    last_shell_stops: bool = True
    network_mode: str = "bridge"
    restart_policy: str = "no"
    resources: dict[str, Any] = field(default_factory=dict)
    group: str | None = None


def _config(app: App) -> Any | None:
    """The loaded config, or None when no config file exists (a bare mlc install)."""
    try:
        return app.config
    except ImportError:
        return None
    except ConfigError:
        if not paths.config_path().exists():
            return None
        raise


def settings(app: App, *, with_limits: bool = False) -> MlcSettings:
    cfg = _config(app)
    if cfg is None:
        return MlcSettings()
    resources: dict[str, Any] = {}
    group = None
    if with_limits:
        try:
            from ds01.limits.resolver import container_resources, resolve
        except ImportError:
            pass
        else:
            resolved = resolve(cfg, app.identity.name)
            resources, group = container_resources(resolved), resolved.group
    return MlcSettings(
        aime_catalog=Path(cfg.images.aime_catalog),
        last_shell_stops=bool(cfg.policies.last_shell_stops_container),
        network_mode=str(cfg.advanced.network_mode),
        restart_policy=str(cfg.advanced.restart_policy),
        resources=resources,
        group=group,
    )


def is_admin(app: App) -> bool:
    if app.identity.is_root:
        return True
    return _config(app) is not None and app.is_admin()


DEFAULT_GPUS = "1"


def gpu_count(value: str) -> int:
    """AIME's ``-g`` value as a number of GPU slots for the allocator; ``all`` is refused.

    ds01 assigns slots itself (by UUID, under the caller's quotas), so ``-g`` is a count only.
    """
    from ds01.errors import UsageError

    text = value.strip().lower()
    if text == "all":
        raise UsageError(
            "-g all would claim every GPU on this shared server; ask for a number of GPU slots instead "
            "(-g 1, or -g 0 for a CPU-only container; `ds01 limits show` says how many you may have)."
        )
    if not (text.isascii() and text.isdigit()):
        raise UsageError(
            f"-g takes a number of GPU slots (got {value!r}); ds01 picks the GPUs itself, "
            "so ask for a count such as -g 1, or -g 0 for a CPU-only container."
        )
    return int(text)
