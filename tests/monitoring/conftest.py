"""Fixtures for the monitoring tests: a simulated inventory (a whole GPU and a MIG GPU cut
3g+2g+1g+1g), a config with a group, and the real engine for containers. Containers carry the
session tag, so the session's cleanup removes whatever a test leaves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from support import configs
from support.containers import remove_tagged

TOPOLOGY = configs.topology(None, ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"])

USERS = {"alice": 4361, "bob": 4362, "carol": 4363}


@dataclass
class Env:
    root: Path
    config: Path

    @staticmethod
    def caller(user: str) -> dict[str, str]:
        uid = str(USERS[user])
        return {"SUDO_USER": user, "SUDO_UID": uid, "SUDO_GID": uid}


@pytest.fixture
def menv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    cfg = configs.use(
        monkeypatch,
        configs.write(
            tmp_path,
            TOPOLOGY,
            topology_name="monitoring-topology.yaml",
            defaults={"max_mig_instances": 3, "gpu_hold_after_stop": "1h", "idle_timeout": "2h", "max_runtime": "48h"},
            groups={"students": {"members": ["alice", "bob"]}, "staff": {"members": ["carol"]}},
            admins=["boss"],
        ),
    )
    return Env(tmp_path, cfg)


@pytest.fixture
def tagged(docker_env, session_tag):
    """Names for this test's containers; whatever they leave is removed afterwards."""
    from ds01.base import docker_client

    docker_client.reset_client()
    yield lambda short: f"{session_tag}-{short}"
    docker_client.reset_client()
    remove_tagged(docker_env, session_tag)
