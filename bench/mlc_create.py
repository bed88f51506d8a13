"""Measure ``ds01 mlc`` against plain Docker SDK calls on the local offline image.

    python bench/mlc_create.py [--runs 15] [--list-count 200]

1. create+start: median of ``engine.create_container(spec, start=True)`` (validation, name
   check, user injection with get/put_archive) against ``containers.create`` + ``start`` with
   equivalent options (same image, command, mounts, labels, limits), and their ratio.
2. list: ``ds01 mlc list`` logic over N mlc containers, sparse (no sizes) and with ``-s``,
   counting how often Docker is asked for sizes.
Everything it makes is named ``bench-<random>`` and removed at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--list-count", type=int, default=200)
    args = parser.parse_args()

    from dev import engine as dev_engine

    dev_engine.ensure_engine()
    image = dev_engine.ensure_base_image()
    from ds01.base import docker_client as dc
    from ds01.base import engine
    from ds01.identity import Identity

    tag = "bench" + secrets.token_hex(3)
    ws = Path(tempfile.mkdtemp(prefix="ds01-bench-"))
    os.chown(ws, 4242, 4242)
    owner = Identity(name="benchuser", uid=4242, gid=4242, home=Path("/home/benchuser"))
    api = dc.api()
    resources = {"nano_cpus": 1_000_000_000, "mem_limit": 256 * 2**20, "pids_limit": 512}
    try:
        ours, plain = [], []
        for i in range(args.runs):
            spec = engine.ContainerSpec(
                name=f"{tag}-m{i}",
                owner=owner,
                image=image,
                workspace=ws,
                arch="CUDA",
                custom_image=True,
                resources=resources,
            )
            t = time.perf_counter()
            engine.create_container(spec, start=True)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            host = api.create_host_config(
                binds={str(ws): {"bind": "/workspace", "mode": "rw"}}, init=True, ipc_mode="private", **resources
            )
            cid = api.create_container(
                image,
                command=engine.KEEPALIVE,
                name=f"{tag}-p{i}",
                user="4242:4242",
                working_dir="/workspace",
                labels={"aime.mlc": "benchuser"},
                host_config=host,
                detach=True,
            )["Id"]
            api.start(cid)
            plain.append(time.perf_counter() - t)
        m_ours, m_plain = statistics.median(ours), statistics.median(plain)
        print(
            f"create+start, {args.runs} runs: ds01 mlc median {m_ours * 1000:.0f} ms, "
            f"plain SDK create+start {m_plain * 1000:.0f} ms, ratio {m_ours / m_plain:.2f}"
        )
        for c in api.containers(all=True, filters={"name": tag}):
            api.remove_container(c["Id"], force=True)

        for i in range(args.list_count):
            host = api.create_host_config(binds={str(ws): {"bind": "/workspace", "mode": "rw"}})
            api.create_container(
                image,
                command=["true"],
                name=f"{tag}-l{i}._.4242",
                labels={"aime.mlc": "benchuser", "aime.mlc.NAME": f"{tag}-l{i}"},
                host_config=host,
            )
        calls = {"size": 0, "plain": 0}
        original = dc._get_json  # every container listing goes through this one request

        def counting(socket_path, path, query, **kw):
            calls["size" if query.get("size") == "1" else "plain"] += 1
            return original(socket_path, path, query, **kw)

        dc._get_json = counting
        for label, size in (("sparse", False), ("with -s", True)):
            times = []
            for _ in range(5):
                t = time.perf_counter()
                found = engine.list_containers("benchuser", size=size)
                times.append(time.perf_counter() - t)
            print(f"mlc list ({label}) over {len(found)} containers: median {statistics.median(times) * 1000:.0f} ms")
        dc._get_json = original
        print(f"Docker list calls with size=True: {calls['size']} (all from the -s runs), without: {calls['plain']}")
    finally:
        for c in api.containers(all=True, filters={"name": tag}):
            api.remove_container(c["Id"], force=True)
        os.rmdir(ws)


if __name__ == "__main__":
    main()
