"""Fixtures for the project flow and the wizards: a caller acting through sudo.

The caller is a login the host does not know (``SUDO_USER``/``SUDO_UID``/``SUDO_GID``), so its
home is ``/home/<login>``: the fixture makes that directory for the test, owned by the caller's
uid, points ``HOME`` at it, and removes it afterwards. The configuration is a temporary one with
a simulated GPU inventory, so containers get GPU slots on a host without GPUs.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "config" / "topologies" / "demo-small.yaml"
_counter = itertools.count(1)


@dataclass
class Caller:
    name: str
    uid: int
    gid: int
    home: Path

    def project(self, suffix: str) -> str:
        return f"{self.name}-{suffix}"

    def workspace(self, project: str) -> Path:
        return self.home / "workspace" / project


@pytest.fixture
def sim_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # A topology of its own: simulated UUIDs derive from the file's name, so no other
    # ds01 container on this engine (adopted by reconcile) can hold this test's slots.
    topology = tmp_path / f"wizard-{secrets.token_hex(6)}.yaml"
    topology.write_text(TOPOLOGY.read_text())
    config = tmp_path / "resource-limits.yaml"
    config.write_text(
        "defaults:\n"
        "  max_mig_instances: 2\n"
        "  max_gpus_per_container: 1\n"
        "  max_containers_per_user: 4\n"
        "  max_cpus: 1\n"
        "  memory: 1g\n"
        "  memory_swap: 1g\n"
        "  shm_size: 64m\n"
        "  gpu_hold_after_stop: 1h\n"
        "gpu_allocation:\n"
        "  inventory: simulated\n"
        f"  topology: {topology}\n"
        "wizard:\n"
        "  default_use_case: general-ml\n"
        "  default_framework: null\n"
        "  guided: true\n"
    )
    monkeypatch.setenv("DS01_CONFIG", str(config))
    return config


@pytest.fixture
def caller(session_tag: str, sim_config: Path, monkeypatch: pytest.MonkeyPatch):
    """A sudo caller with an empty home of its own; names carry the session tag (cleanup)."""
    n = next(_counter)
    name = f"{session_tag}w{n}"
    uid = gid = 4500 + (os.getpid() % 400) * 10 + n
    home = Path("/home") / name
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    os.chown(home, uid, gid)
    # A git identity, so git-init makes its first commit (and a re-run must not make another).
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(f"[user]\n\tname = Test {name}\n\temail = {name}@example.org\n")
    os.chown(gitconfig, uid, gid)
    monkeypatch.setenv("SUDO_USER", name)
    monkeypatch.setenv("SUDO_UID", str(uid))
    monkeypatch.setenv("SUDO_GID", str(gid))
    monkeypatch.setenv("HOME", str(home))
    from ds01.base.docker_client import reset_client

    reset_client()
    yield Caller(name, uid, gid, home)
    reset_client()
    shutil.rmtree(home, ignore_errors=True)
