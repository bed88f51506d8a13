"""Fixtures shared by the whole suite.

Every test runs with its own ``DS01_CONFIG``/``DS01_STATE_DIR``/``DS01_LOG_DIR``/``HOME``
and without colours. Docker tests use the real engine (started when none answers) and the
offline busybox base image; whatever a session creates carries its tag and is removed
by label/tag at the end.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for dev.engine
sys.path.insert(0, str(ROOT / "tests"))

from support.cli import invoke  # noqa: E402

PACKAGED_CONFIG = ROOT / "config" / "resource-limits.yaml"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DS01_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DS01_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setenv("DS01_CONFIG", str(PACKAGED_CONFIG))
    monkeypatch.setenv("NO_COLOR", "1")
    for var in ("SUDO_USER", "SUDO_UID", "SUDO_GID", "DS01_DEBUG", "MLC_ARCH"):
        monkeypatch.delenv(var, raising=False)
    from ds01 import paths

    paths.forget()  # each test's folders and users are judged afresh
    return tmp_path


@pytest.fixture
def cli():
    """Run a ds01 command line in-process: ``cli("limits", "show", "alice")``."""
    return invoke


@pytest.fixture(scope="session")
def session_tag() -> str:
    return "t" + secrets.token_hex(3)


@pytest.fixture(scope="session")
def docker_engine(session_tag: str):
    """The real Docker engine (started when none answers); cleans up this session's objects."""
    from dev import engine

    engine.ensure_engine()
    import docker

    client = docker.from_env(timeout=120)
    yield client
    engine.cleanup(session_tag)


@pytest.fixture(scope="session")
def base_image(docker_engine) -> str:
    """The offline busybox base image (imported once per machine)."""
    from dev import engine

    return engine.ensure_base_image()


@pytest.fixture
def docker_env(docker_engine, base_image):
    """Both docker fixtures at once, for tests that only need them to exist."""
    return docker_engine


@pytest.fixture(autouse=True)
def _engine_for_docker_tests(request):
    """A test marked ``docker`` (one that reaches the engine through ds01 itself, a subprocess or the
    CLI, not through the fixtures) gets the engine started and this session's cleanup all the same."""
    if request.node.get_closest_marker("docker") is not None:
        request.getfixturevalue("docker_engine")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "docker_engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)


os.environ.setdefault("DS01_TEST_ROOT", str(ROOT))
