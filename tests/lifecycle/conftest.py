"""Fixtures for the lifecycle tests: a simulated two-slot inventory (a whole GPU and a MIG
slice), short lifecycle limits, sudo-style callers unknown to passwd, and their workspaces.
Containers carry the session tag, so the session's cleanup removes whatever a test leaves."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import configs
from support.containers import Callers, remove_tagged, switch_caller

TOPOLOGY = configs.topology(None, ["3g.40gb", "3g.40gb"])

USERS = {"alice": 4351, "bob": 4352}


@dataclass
class Env(Callers):
    root: Path
    config: Path
    tag: str
    world: Path  # reachable by the dropped children that read workspaces as their owners

    @property
    def workspace_root(self) -> Path:
        return self.world

    def uid(self, user: str) -> int:
        return USERS[user]

    def rewrite(
        self,
        *,
        idle: str = "null",
        runtime: str = "null",
        gpu_hold: str = "1h",
        container_hold: str = "null",
        warning: str = "1h",
        max_keep_alive: str = "24h",
    ) -> None:
        def value(text: str) -> str | None:
            return None if text == "null" else text

        configs.write(
            self.root,
            TOPOLOGY,
            defaults={
                "gpu_hold_after_stop": value(gpu_hold),
                "container_hold_after_stop": value(container_hold),
                "idle_timeout": value(idle),
                "max_runtime": value(runtime),
            },
            admins=["boss"],
            policies={"idle_warning": value(warning), "max_keep_alive": value(max_keep_alive)},
        )

    def mark_busy(self, *slots: str) -> None:
        state = Path(os.environ["DS01_STATE_DIR"])
        state.mkdir(parents=True, exist_ok=True)
        (state / "simulated-gpu-activity.json").write_text(json.dumps({"busy": list(slots)}))


@pytest.fixture
def lenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_env, base_image, session_tag):
    import shutil

    from ds01.base import docker_client
    from support.users import world_dir

    docker_client.reset_client()
    env = Env(tmp_path, tmp_path / "resource-limits.yaml", session_tag, world_dir("ds01-lifecycle-"))
    env.rewrite()
    monkeypatch.setenv("DS01_CONFIG", str(env.config))
    monkeypatch.setenv("DS01_TEST_SESSION_TAG", session_tag)
    yield env
    docker_client.reset_client()
    remove_tagged(docker_env, session_tag)
    shutil.rmtree(env.world, ignore_errors=True)


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch, lenv: Env):
    def switch(user: str | None) -> None:
        switch_caller(monkeypatch, lenv, user)

    return switch
