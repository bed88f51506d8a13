"""Benchmark `ds01 project init`: a whole project from nothing, and the re-run that finds it done.

On the real engine with the offline busybox base (every pip call is the stand-in, so the
build time is Docker's own overhead, not downloads), as a sudo caller with a fresh home:

1. `project init NAME --yes --base-image ds01-base:busybox` (folders, git, README, Dockerfile,
   image build, container create, start) wall time;
2. the re-run of the same command, where every step is "already done" (what a student pays
   to check that everything is still there), against `ds01 --version` (the start-up floor).

Run: .venv/bin/python bench/project_init.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DS01 = str(Path(sys.executable).parent / "ds01")
BASE = "ds01-base:busybox"


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from dev import engine

    engine.ensure_engine()
    engine.ensure_base_image()
    tag = "bench" + secrets.token_hex(3)
    tmp = Path(tempfile.mkdtemp(prefix="ds01-bench-"))
    user, uid = tag, 4900
    home = Path("/home") / user
    home.mkdir(parents=True)
    os.chown(home, uid, uid)
    # Its own topology file: simulated UUIDs derive from the file name, so containers of other
    # runs on this engine (adopted by reconcile) cannot hold the benchmark's slots.
    topology = tmp / f"{tag}.yaml"
    topology.write_text((ROOT / "config/topologies/dgx-a100-80gb.yaml").read_text())
    config = tmp / "config.yaml"
    config.write_text(
        "defaults: {max_mig_instances: null, max_containers_per_user: null, max_cpus: 1, memory: 1g, "
        "memory_swap: 1g, shm_size: 64m}\n"
        f"gpu_allocation: {{inventory: simulated, topology: {topology}}}\n"
    )
    env = dict(
        os.environ,
        DS01_CONFIG=str(config),
        DS01_STATE_DIR=str(tmp / "state"),
        DS01_LOG_DIR=str(tmp / "log"),
        SUDO_USER=user,
        SUDO_UID=str(uid),
        SUDO_GID=str(uid),
        HOME=str(home),
        NO_COLOR="1",
    )
    fresh, rerun, floor = [], [], []
    try:
        for i in range(args.repeat):
            argv = [DS01, "project", "init", f"{tag}-{i}", "--yes", "--base-image", BASE, "--no-git"]
            fresh.append(timed(argv, env))
            rerun.append(timed(argv, env))
            floor.append(timed([DS01, "--version"], env))
    finally:
        engine.cleanup(tag)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    f, r, v = (statistics.median(x) for x in (fresh, rerun, floor))
    print(
        f"project init, fresh (dir, README, Dockerfile, build, create, start): {f * 1000:8.0f} ms (median of "
        f"{args.repeat})"
    )
    print(f"project init, re-run (every step already done):                   {r * 1000:8.0f} ms")
    print(f"ds01 --version (start-up floor):                                  {v * 1000:8.0f} ms")
    print(f"re-run / fresh: {r / f:.2f}    re-run / start-up floor: {r / v:.1f}")


if __name__ == "__main__":
    main()
