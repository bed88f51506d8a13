"""Where ds01 reads its configuration and keeps its state and logs (SPEC §2).

``DS01_CONFIG`` (default ``/opt/ds01-infra/config/resource-limits.yaml``, falling back to
the packaged example), ``DS01_STATE_DIR`` (default ``/var/lib/ds01``) and ``DS01_LOG_DIR``
(default ``/var/log/ds01``). Every consumer asks here; no other module names these paths.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CONFIG = Path("/opt/ds01-infra/config/resource-limits.yaml")
DEFAULT_STATE_DIR = Path("/var/lib/ds01")
DEFAULT_LOG_DIR = Path("/var/log/ds01")


def packaged_config_dir() -> Path:
    """The ``config/`` folder shipped with ds01 (example config, topologies, catalog)."""
    here = Path(__file__).resolve().parent
    installed = here / "_config"
    if installed.is_dir():
        return installed
    # Source checkout / editable install: the repository's top-level config/.
    return here.parent.parent / "config"


def config_path(environ: os._Environ[str] | dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    explicit = env.get("DS01_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    if DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    return packaged_config_dir() / "resource-limits.yaml"


def state_dir(environ: os._Environ[str] | dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("DS01_STATE_DIR") or DEFAULT_STATE_DIR).expanduser()


def log_dir(environ: os._Environ[str] | dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("DS01_LOG_DIR") or DEFAULT_LOG_DIR).expanduser()
