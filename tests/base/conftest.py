"""Fixtures for the engine tests: a non-root caller (uid 4242) and directories it owns."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ds01.identity import Identity

UID = GID = 4242
USER = "mlcuser"


@pytest.fixture
def owner(tmp_path: Path) -> Identity:
    return Identity(name=USER, uid=UID, gid=GID, home=tmp_path / "home-mlcuser", via_sudo=True)


@pytest.fixture
def owned_dir(tmp_path: Path):
    """Make a directory owned by the test caller: ``owned_dir("ws")``."""

    def make(name: str, uid: int = UID) -> Path:
        path = tmp_path / name
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, uid, GID)
        return path

    return make


@pytest.fixture
def caller_dir():
    """A directory the test caller owns and can reach (pytest's tmp_path is root's, mode 0700)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="ds01-caller-"))
    os.chmod(path, 0o700)
    os.chown(path, UID, GID)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def as_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run ``ds01`` commands as if ``sudo -u``-invoked by the test caller."""
    monkeypatch.setenv("SUDO_USER", USER)
    monkeypatch.setenv("SUDO_UID", str(UID))
    monkeypatch.setenv("SUDO_GID", str(GID))


@pytest.fixture
def fresh_client():
    """Forget the cached Docker client before and after (tests that change DOCKER_HOST)."""
    from ds01.base import docker_client

    docker_client.reset_client()
    yield
    docker_client.reset_client()
