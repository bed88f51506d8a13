"""The README's demo command runs start to finish and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_and_cleans_up(docker_env, base_image, tmp_path):
    env = dict(os.environ, DS01_DEMO_DIR=str(tmp_path / "demo"))
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Container demo-notebook created" in proc.stderr
    # gpu status while they exist, with the names users gave them (never the internal NAME._.UID)
    status = out.split("== ds01 gpu status", 1)[1].split("==", 1)[0]
    assert "researcher1  demo-train" in status and "student1     demo-notebook" in status, status
    assert "._." not in status
    assert "Demo finished." in out
    leftovers = [c.name for c in docker_env.containers.list(all=True) if c.name.startswith("demo-")]
    assert leftovers == []
