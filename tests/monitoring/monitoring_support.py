"""Helpers for the monitoring tests."""

from __future__ import annotations

import json
import os


def ds01_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a ds01 subprocess: this test's folders and config, no colour."""
    env = {k: v for k, v in os.environ.items() if k not in ("SUDO_USER", "SUDO_UID", "SUDO_GID")}
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def running(cli, menv, monkeypatch, name: str, user: str = "alice") -> str:
    """Create and start ``name`` as ``user`` (in process); its Docker name. The caller is root
    again afterwards."""
    for key, value in menv.caller(user).items():
        monkeypatch.setenv(key, value)
    r = cli("container", "create", name, "--image", "ds01-base:busybox", "--json")
    assert r.exit_code == 0, r
    assert cli("container", "start", name).exit_code == 0
    for key in ("SUDO_USER", "SUDO_UID", "SUDO_GID"):
        monkeypatch.delenv(key)
    return json.loads(r.stdout)["docker_name"]
