"""Fixtures for the lifecycle tests: a simulated two-slot inventory (a whole GPU and a MIG
slice), short lifecycle limits, sudo-style callers unknown to passwd, and their workspaces.
Containers carry the session tag, so the session's cleanup removes whatever a test leaves."""

from __future__ import annotations

import json
import os
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
    mig: [3g.40gb, 3g.40gb]
"""

CONFIG = """\
defaults:
  max_mig_instances: 2
  max_gpus_per_container: 1
  max_cpus: 1
  memory: 256m
  pids_limit: 200
  max_containers_per_user: 4
  gpu_hold_after_stop: {gpu_hold}
  container_hold_after_stop: {container_hold}
  idle_timeout: {idle}
  max_runtime: {runtime}
  priority: 10
admins: [boss]
gpu_allocation:
  inventory: simulated
  topology: {topology}
policies:
  idle_warning: {warning}
  max_keep_alive: {max_keep_alive}
advanced:
  network_mode: none
  restart_policy: "no"
security:
  allowed_base_images: [ds01-base:busybox]
"""

USERS = {"alice": 4351, "bob": 4352}


@dataclass
class Env:
    root: Path
    config: Path
    tag: str
    world: Path  # reachable by the dropped children that read workspaces as their owners

    def caller(self, user: str) -> dict[str, str]:
        uid = str(USERS[user])
        return {"SUDO_USER": user, "SUDO_UID": uid, "SUDO_GID": uid}

    def uid(self, user: str) -> int:
        return USERS[user]

    def workspace(self, user: str, name: str = "ws") -> Path:
        path = self.world / f"{user}-{name}"
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid(user), self.uid(user))
        return path

    def name(self, short: str) -> str:
        return f"{self.tag}-{short}"

    def docker_name(self, short: str, user: str) -> str:
        return f"{self.name(short)}._.{self.uid(user)}"

    def rewrite(self, *, idle: str = "null", runtime: str = "null", gpu_hold: str = "1h",
                container_hold: str = "null", warning: str = "1h", max_keep_alive: str = "24h") -> None:
        topo = self.root / "topology.yaml"
        topo.write_text(TOPOLOGY)
        self.config.write_text(CONFIG.format(topology=topo, idle=idle, runtime=runtime, gpu_hold=gpu_hold,
                                             container_hold=container_hold, warning=warning,
                                             max_keep_alive=max_keep_alive))

    def mark_busy(self, *slots: str) -> None:
        state = Path(os.environ["DS01_STATE_DIR"])
        state.mkdir(parents=True, exist_ok=True)
        (state / "simulated-gpu-activity.json").write_text(json.dumps({"busy": list(slots)}))


@pytest.fixture
def lenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_env, base_image, session_tag):
    import shutil

    from support.users import world_dir

    from ds01.base import docker_client

    docker_client.reset_client()
    env = Env(tmp_path, tmp_path / "resource-limits.yaml", session_tag, world_dir("ds01-lifecycle-"))
    env.rewrite()
    monkeypatch.setenv("DS01_CONFIG", str(env.config))
    monkeypatch.setenv("DS01_TEST_SESSION_TAG", session_tag)
    yield env
    docker_client.reset_client()
    ids = [c["Id"] for c in docker_env.api.containers(all=True)
           if any(session_tag in n for n in c.get("Names") or [])]
    for cid in ids:
        docker_env.api.remove_container(cid, force=True, v=True)
    shutil.rmtree(env.world, ignore_errors=True)


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch, lenv: Env):
    def switch(user: str | None) -> None:
        for var in ("SUDO_USER", "SUDO_UID", "SUDO_GID"):
            monkeypatch.delenv(var, raising=False)
        if user is not None:
            for key, value in lenv.caller(user).items():
                monkeypatch.setenv(key, value)

    return switch
