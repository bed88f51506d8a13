"""Setup shared by the benchmark scripts that fill the real engine with ds01-labelled containers."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dev import engine as dev_engine  # noqa: E402


def engine():
    """(base image, low-level Docker API, a fresh name tag, a fresh work folder) on a running engine."""
    dev_engine.ensure_engine()
    image = dev_engine.ensure_base_image()
    import docker

    api = docker.from_env(timeout=300).api
    return image, api, "bench-" + secrets.token_hex(3), Path(tempfile.mkdtemp(prefix="ds01-bench-"))


def bench_env(work: Path, *, drop: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
    """The environment for ds01 processes (state and log under ``work``, plus ``extra``, less
    ``drop``); this process gets the same state, log and ``extra`` settings."""
    own = {"DS01_STATE_DIR": str(work / "state"), "DS01_LOG_DIR": str(work / "log"), **extra}
    env = dict(os.environ, **own, NO_COLOR="1")
    for key in drop:
        env.pop(key, None)
    os.environ.update(own)
    return env


def labels(name: str, user: str, uid: int, tag: str, **more: str) -> dict[str, str]:
    """The labels ds01 gives a container, plus the engine's test label so cleanup finds it."""
    return {
        "aime.mlc": user,
        "aime.mlc.NAME": name,
        "aime.mlc.USER": user,
        "aime.mlc.MLC_VERSION": "4",
        "aime.mlc.DS01_MANAGED": "true",
        "aime.mlc.WORK_MOUNT": "/tmp",
        "aime.mlc.FRAMEWORK": "custom",
        "ds01.user": user,
        "ds01.uid": str(uid),
        "ds01.project": name,
        "ds01.created_at": "2026-01-01T00:00:00Z",
        dev_engine.TEST_LABEL: tag,
        **more,
    }


def remove(api, ids: list[str], work: Path) -> None:
    import docker

    for cid in ids:
        try:
            api.remove_container(cid, force=True)
        except docker.errors.DockerException:
            pass
    shutil.rmtree(work, ignore_errors=True)
