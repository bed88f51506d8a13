"""Helpers for the monitoring tests."""

from __future__ import annotations

import os


def ds01_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a ds01 subprocess: this test's folders and config, no colour."""
    env = {k: v for k, v in os.environ.items() if k not in ("SUDO_USER", "SUDO_UID", "SUDO_GID")}
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env
