"""Fixtures for the project flow and the wizards: a caller acting through sudo.

The caller is a real login made for the test (``support.users.make_user``: under sudo the setup
steps run in a process dropped to its uid, and ssh-keygen and git want a passwd entry), acting
through ``SUDO_USER``/``SUDO_UID``/``SUDO_GID``; ``HOME`` points at its home. The configuration is a temporary one with
a simulated GPU inventory, so containers get GPU slots on a host without GPUs.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "config" / "topologies" / "demo-small.yaml"


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
        "security:\n"
        "  allowed_base_images: [ds01-base:busybox]\n"
    )
    monkeypatch.setenv("DS01_CONFIG", str(config))
    return config


@pytest.fixture
def caller(session_tag: str, sim_config: Path, monkeypatch: pytest.MonkeyPatch):
    """A real sudo caller with an empty home of its own; names carry the session tag (cleanup)."""
    from support.users import make_user

    with make_user(prefix=f"{session_tag}w") as ident:
        for skel in ident.home.iterdir():  # useradd's /etc/skel files: the tests start from an empty home
            shutil.rmtree(skel) if skel.is_dir() and not skel.is_symlink() else skel.unlink()
        # A git identity, so git-init makes its first commit (and a re-run must not make another).
        gitconfig = ident.home / ".gitconfig"
        gitconfig.write_text(f"[user]\n\tname = Test {ident.name}\n\temail = {ident.name}@example.org\n")
        os.chown(gitconfig, ident.uid, ident.gid)
        monkeypatch.setenv("SUDO_USER", ident.name)
        monkeypatch.setenv("SUDO_UID", str(ident.uid))
        monkeypatch.setenv("SUDO_GID", str(ident.gid))
        monkeypatch.setenv("HOME", str(ident.home))
        from ds01.base.docker_client import reset_client

        reset_client()
        yield Caller(ident.name, ident.uid, ident.gid, ident.home)
        reset_client()
        _remove_containers_of(ident.name)


def _remove_containers_of(name: str) -> None:
    """The test's containers go with its user: the next test's user may get the same uid back."""
    try:
        import docker

        client = docker.from_env(timeout=60)
        for container in client.containers.list(all=True, filters={"label": f"ds01.user={name}"}):
            container.remove(force=True)
    except Exception:  # noqa: BLE001 - no engine, nothing to remove; the session cleanup still runs
        pass
