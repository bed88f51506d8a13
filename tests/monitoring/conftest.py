"""Fixtures for the monitoring tests: a simulated inventory (a whole GPU and a MIG GPU cut
3g+2g+1g+1g), a config with a group, and the real engine for containers. Containers carry the
session tag, so the session's cleanup removes whatever a test leaves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

TOPOLOGY = """\
gpus:
  - name: NVIDIA A100-SXM4-80GB
    memory: 80g
    mig: null
  - name: NVIDIA A100-SXM4-80GB
    memory: 80g
    mig: [3g.40gb, 2g.20gb, 1g.10gb, 1g.10gb]
"""

CONFIG = """\
defaults:
  max_mig_instances: 3
  max_gpus_per_container: 1
  max_cpus: 1
  memory: 256m
  pids_limit: 200
  max_containers_per_user: 4
  gpu_hold_after_stop: 1h
  idle_timeout: 2h
  max_runtime: 48h
  priority: 10
groups:
  students:
    members: [alice, bob]
  staff:
    members: [carol]
admins: [boss]
gpu_allocation:
  inventory: simulated
  topology: {topology}
advanced:
  network_mode: none
  restart_policy: "no"
security:
  allowed_base_images: [ds01-base:busybox]
"""

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
    topo = tmp_path / "monitoring-topology.yaml"
    topo.write_text(TOPOLOGY)
    cfg = tmp_path / "resource-limits.yaml"
    cfg.write_text(CONFIG.format(topology=topo))
    monkeypatch.setenv("DS01_CONFIG", str(cfg))
    return Env(tmp_path, cfg)


@pytest.fixture
def tagged(docker_env, session_tag):
    """Names for this test's containers; whatever they leave is removed afterwards."""
    from ds01.base import docker_client

    docker_client.reset_client()
    yield lambda short: f"{session_tag}-{short}"
    docker_client.reset_client()
    for c in docker_env.api.containers(all=True):
        if any(session_tag in n for n in c.get("Names") or []):
            docker_env.api.remove_container(c["Id"], force=True, v=True)
