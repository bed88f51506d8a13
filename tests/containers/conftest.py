"""Fixtures for the container tests: a simulated-inventory config, callers and their folders.

Callers are ``sudo``-style identities (``SUDO_USER``/``SUDO_UID``/``SUDO_GID``) unknown to
the host's passwd, with workspaces chowned to their uid. Containers are named with the
session tag so that the session's cleanup removes them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import configs
from support.containers import Callers, ledger_rows, switch_caller, tagged_ids

SEVEN_SLOTS = configs.topology(configs.SEVEN, compute_capability="8.0")

USERS = {"alice": 4301, "bob": 4302, "boss": 4303}


@dataclass
class Env(Callers):
    root: Path
    config: Path
    tag: str

    @property
    def workspace_root(self) -> Path:
        return self.root

    def uid(self, user: str) -> int:
        return USERS.get(user) or 4400 + sum(map(ord, user)) % 500

    @property
    def db(self) -> Path:
        return Path(os.environ["DS01_STATE_DIR"]) / "ds01.db"

    def active_rows(self) -> list[tuple]:
        return ledger_rows("slot, container, user, confirmed_at IS NOT NULL, stopped_at", order="slot")

    def rewrite(
        self, *, device_requests: str = "auto", pending: str = "10m", topology: str = SEVEN_SLOTS, extra: str = ""
    ) -> None:
        configs.write(
            self.root,
            topology,
            extra=extra,
            defaults={
                "max_gpus_per_container": 2,
                "memory_swap": "512m",
                "shm_size": "64m",
                "max_containers_per_user": 3,
                "gpu_hold_after_stop": "1h",
            },
            default_group="student",
            groups={"student": {"members": [], "max_containers_per_user": 3}},
            admins=["boss"],
            gpu_allocation={"device_requests": device_requests},
            policies={"pending_allocation_timeout": pending},
        )


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
        switch_caller(monkeypatch, cenv, user)

    return switch


def tagged(client, tag: str) -> list:
    """Containers whose name contains ``tag``, as SDK objects."""
    return [client.containers.get(i) for i in tagged_ids(client, tag)]
