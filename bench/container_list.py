"""Measure ``ds01 container list --json`` on many containers against a bare ``docker ps -a``.

    python bench/container_list.py [--count 200] [--runs 9]

Creates COUNT containers cheaply with the Docker SDK (not started), labelled like ds01's
containers of one user, with a ledger row for every other one; then times, as whole
processes (interpreter start included), ``ds01 container list --json`` against
``docker ps -a`` (the CLI, when installed), and the in-process listing against one raw
SDK listing. Prints medians and ratios. Everything it makes is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import median_call, median_run

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USER, UID = "benchuser", 4999


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    from dev import engine as dev_engine

    dev_engine.ensure_engine()
    image = dev_engine.ensure_base_image()
    import docker

    api = docker.from_env(timeout=300).api
    tag = "bench-" + secrets.token_hex(3)
    work = Path(tempfile.mkdtemp(prefix="ds01-bench-"))
    env = dict(os.environ, DS01_STATE_DIR=str(work / "state"), DS01_LOG_DIR=str(work / "log"),
               SUDO_USER=USER, SUDO_UID=str(UID), SUDO_GID=str(UID), NO_COLOR="1")
    os.environ.update({k: env[k] for k in ("DS01_STATE_DIR", "DS01_LOG_DIR", "SUDO_USER", "SUDO_UID", "SUDO_GID")})
    ids = []
    try:
        t0 = time.perf_counter()
        from ds01.gpu.ledger import Ledger

        led = Ledger()
        with led.write() as conn:
            for i in range(args.count):
                name = f"{tag}-{i}"
                labels = {
                    "aime.mlc": USER, "aime.mlc.NAME": name, "aime.mlc.USER": USER, "aime.mlc.MLC_VERSION": "4",
                    "aime.mlc.DS01_MANAGED": "true", "aime.mlc.WORK_MOUNT": "/tmp", "aime.mlc.FRAMEWORK": "custom",
                    "ds01.user": USER, "ds01.uid": str(UID), "ds01.project": name,
                    "ds01.created_at": "2026-01-01T00:00:00Z",
                    "ds01.gpu.slots": f"{i % 7}" if i % 2 == 0 else "", dev_engine.TEST_LABEL: tag,
                }
                ids.append(api.create_container(image, ["true"], name=f"{name}._.{UID}", labels=labels)["Id"])
                if i % 2 == 0:
                    Ledger.insert(conn, slot=f"{i}", uuid=f"GPU-{i}", container=f"{name}._.{UID}", user=USER,
                                  priority=10, at=time.time(), confirmed=True, exclusive=False)
        led.close()
        print(f"created {args.count} containers in {time.perf_counter() - t0:.1f}s")

        ds01 = [str(Path(sys.executable).parent / "ds01"), "container", "list", "--json"]
        out = subprocess.run(ds01, env=env, capture_output=True, text=True, check=True).stdout
        import json

        listed = [e for e in json.loads(out) if e["name"].startswith(tag)]
        assert len(listed) == args.count, f"listed {len(listed)} of {args.count}"
        ds01_s = median_run(ds01, env, args.runs)
        print(f"ds01 container list --json ({args.count} containers): median {ds01_s * 1000:.0f} ms "
              f"over {args.runs} runs")
        docker_cli = shutil.which("docker")
        if docker_cli:
            ps_s = median_run([docker_cli, "ps", "-a"], env, args.runs)
            print(f"docker ps -a:                                  median {ps_s * 1000:.0f} ms")
            print(f"ratio ds01 / docker ps -a:                     {ds01_s / ps_s:.2f}x")
        from ds01.identity import current
        from ds01.limits.config import load_config
        from ds01.units.containers.listing import list_entries

        config, me = load_config(), current()
        inproc = median_call(lambda: list_entries(config, me), args.runs)
        raw = median_call(lambda: api.containers(all=True), args.runs)
        print(f"in process: list_entries {inproc * 1000:.0f} ms, raw SDK listing {raw * 1000:.0f} ms, "
              f"ratio {inproc / raw:.2f}x")
    finally:
        for cid in ids:
            try:
                api.remove_container(cid, force=True)
            except docker.errors.DockerException:
                pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
