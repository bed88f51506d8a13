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
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _fixtures import bench_env, engine, labels, remove
from _timing import median_call, median_run

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USER, UID = "benchuser", 4999


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    image, api, tag, work = engine()
    env = bench_env(work, SUDO_USER=USER, SUDO_UID=str(UID), SUDO_GID=str(UID))
    ids = []
    try:
        t0 = time.perf_counter()
        from ds01.gpu.ledger import Ledger

        led = Ledger()
        with led.write() as conn:
            for i in range(args.count):
                name = f"{tag}-{i}"
                marks = labels(name, USER, UID, tag, **{"ds01.gpu.slots": f"{i % 7}" if i % 2 == 0 else ""})
                ids.append(api.create_container(image, ["true"], name=f"{name}._.{UID}", labels=marks)["Id"])
                if i % 2 == 0:
                    Ledger.insert(
                        conn,
                        slot=f"{i}",
                        uuid=f"GPU-{i}",
                        container=f"{name}._.{UID}",
                        user=USER,
                        priority=10,
                        at=time.time(),
                        confirmed=True,
                        exclusive=False,
                    )
        led.close()
        print(f"created {args.count} containers in {time.perf_counter() - t0:.1f}s")

        ds01 = [str(Path(sys.executable).parent / "ds01"), "container", "list", "--json"]
        out = subprocess.run(ds01, env=env, capture_output=True, text=True, check=True).stdout
        import json

        listed = [e for e in json.loads(out) if e["name"].startswith(tag)]
        assert len(listed) == args.count, f"listed {len(listed)} of {args.count}"
        ds01_s = median_run(ds01, env, args.runs)
        print(
            f"ds01 container list --json ({args.count} containers): median {ds01_s * 1000:.0f} ms over {args.runs} runs"
        )
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
        print(
            f"in process: list_entries {inproc * 1000:.0f} ms, raw SDK listing {raw * 1000:.0f} ms, "
            f"ratio {inproc / raw:.2f}x"
        )
    finally:
        remove(api, ids, work)


if __name__ == "__main__":
    main()
