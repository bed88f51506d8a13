"""Fixtures for the container tests: a simulated-inventory config, callers and their folders.

Callers are ``sudo``-style identities (``SUDO_USER``/``SUDO_UID``/``SUDO_GID``) unknown to
the host's passwd, with workspaces chowned to their uid. Containers are named with the
session tag so that the session's cleanup removes them.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

SEVEN_SLOTS = """\
gpus:
  - name: NVIDIA A100-SXM4-80GB
    memory: 80g
    compute_capability: "8.0"
    mig: [1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb]
"""

CONFIG = """\
defaults:
  max_mig_instances: 2
  max_gpus_per_container: 2
  max_cpus: 1
  memory: 256m
  memory_swap: 512m
  shm_size: 64m
  pids_limit: 200
  max_containers_per_user: 3
  gpu_hold_after_stop: 1h
  priority: 10
default_group: student
groups:
  student:
    members: []
    max_containers_per_user: 3
admins: [boss]
gpu_allocation:
  inventory: simulated
  topology: {topology}
  device_requests: {device_requests}
policies:
  pending_allocation_timeout: {pending}
advanced:
  network_mode: none
  restart_policy: "no"
security:
  allowed_base_images: [ds01-base:busybox]
"""

USERS = {"alice": 4301, "bob": 4302, "boss": 4303}


@dataclass
class Env:
    root: Path
    config: Path
    tag: str

    def caller(self, user: str) -> dict[str, str]:
        uid = str(USERS.get(user) or 4400 + sum(map(ord, user)) % 500)
        return {"SUDO_USER": user, "SUDO_UID": uid, "SUDO_GID": uid}

    def uid(self, user: str) -> int:
        return int(self.caller(user)["SUDO_UID"])

    def workspace(self, user: str, name: str = "ws") -> Path:
        path = self.root / f"{user}-{name}"
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid(user), self.uid(user))
        return path

    def name(self, short: str) -> str:
        return f"{self.tag}-{short}"

    def docker_name(self, short: str, user: str) -> str:
        return f"{self.name(short)}._.{self.uid(user)}"

    @property
    def db(self) -> Path:
        return Path(os.environ["DS01_STATE_DIR"]) / "ds01.db"

    def active_rows(self) -> list[tuple]:
        if not self.db.exists():
            return []
        conn = sqlite3.connect(self.db)
        try:
            return conn.execute("SELECT slot, container, user, confirmed_at IS NOT NULL, stopped_at "
                                "FROM allocations WHERE released_at IS NULL ORDER BY slot").fetchall()
        finally:
            conn.close()

    def rewrite(self, *, device_requests: str = "auto", pending: str = "10m", topology: str = SEVEN_SLOTS,
                extra: str = "") -> None:
        topo = self.root / "topology.yaml"
        topo.write_text(topology)
        self.config.write_text(CONFIG.format(topology=topo, device_requests=device_requests, pending=pending)
                               + extra)


@pytest.fixture
def cenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_env, base_image, session_tag) -> Env:
    from ds01.base import docker_client

    docker_client.reset_client()
    env = Env(tmp_path, tmp_path / "resource-limits.yaml", session_tag)
    env.rewrite()
    monkeypatch.setenv("DS01_CONFIG", str(env.config))
    yield env
    docker_client.reset_client()
    # Each test has its own ledger: containers left from it would be adopted by the next
    # test's reconcile, so they go now rather than at the end of the session.
    for container in tagged(docker_env, session_tag):
        container.remove(force=True, v=True)


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch, cenv: Env):
    """Switch the in-process caller: ``as_user("alice")``; ``as_user(None)``: plain root."""

    def switch(user: str | None) -> None:
        if user is None:
            for var in ("SUDO_USER", "SUDO_UID", "SUDO_GID"):
                monkeypatch.delenv(var, raising=False)
            return
        for key, value in cenv.caller(user).items():
            monkeypatch.setenv(key, value)

    return switch


def tagged(client, tag: str) -> list:
    """Containers whose name contains ``tag``, as SDK objects."""
    ids = [c["Id"] for c in client.api.containers(all=True) if any(tag in n for n in c.get("Names") or [])]
    return [client.containers.get(i) for i in ids]
