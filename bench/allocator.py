"""Benchmark the GPU allocator and `ds01 gpu status`.

1. In-process decision time for one request on 8 GPUs x 7 MIG slots with 500 existing
   allocations (shared mode, so 500 holdings fit), target under 5 ms; also the whole
   in-process `allocate` (ledger transaction included).
2. `ds01 gpu status --json` wall time with 500 ledger rows and 200 containers on the real
   engine, against a bare `docker ps -a` on the same engine (ratio).

Run: .venv/bin/python bench/allocator.py [--containers 200] [--rows 500] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _timing import median_run

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGY = "gpus:\n" + "".join(
    "  - {name: NVIDIA A100-SXM4-80GB, memory: 80g, mig: [1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, "
    "1g.10gb, 1g.10gb]}\n"
    for _ in range(8)
)
CONFIG = """\
defaults: {{max_mig_instances: null, max_gpus_per_container: 2, gpu_hold_after_stop: 1h, priority: 10}}
admins: [root]
gpu_allocation: {{inventory: simulated, topology: {topology}, sharing: shared, max_containers_per_gpu: 10}}
"""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def bench_decision(n_existing: int) -> None:
    from ds01.gpu.allocator import Holding, Policy, Request, decide
    from ds01.gpu.model import Slot

    slots = [Slot(f"{g}:{m}", f"MIG-{g}-{m}", g, "1g.10gb", 10 * 1024**3) for g in range(8) for m in range(7)]
    now = datetime.now(UTC)
    holdings = [
        Holding(
            slots[i % len(slots)].id, f"c{i}._.1000", f"user{i % 40}", 10 + i % 50, now - timedelta(hours=1), None, None
        )
        for i in range(n_existing)
    ]
    policy = Policy(sharing="shared", max_containers_per_gpu=10)
    req = Request("alice", "new._.1000", 1, 50, None, 2, True)
    decide(slots, holdings, req, policy=policy, now=now)  # warm up
    n = 300
    times = []
    for _ in range(n):
        t = time.perf_counter()
        d = decide(slots, holdings, req, policy=policy, now=now)
        times.append(time.perf_counter() - t)
    assert d.ok
    med = statistics.median(times)
    print(
        f"decide(): 56 slots, {n_existing} holdings: median {ms(med)}, p95 "
        f"{ms(sorted(times)[int(n * 0.95)])}  (target < 5 ms: {'OK' if med < 0.005 else 'MISSED'})"
    )


def setup_state(folder: Path, rows: int, names: list[str]) -> None:
    from ds01.gpu.ledger import Ledger

    led = Ledger(folder / "ds01.db")
    now = time.time()
    with led.write() as conn:
        for i in range(rows):
            g, m = (i // 7) % 8, i % 7
            confirmed = i < len(names)
            container = names[i] if confirmed else f"pending{i}._.1000"
            led.insert(
                conn,
                slot=f"{g}:{m}",
                uuid="",
                container=container,
                user=f"user{i % 40}",
                priority=10,
                at=now,
                confirmed=confirmed,
                exclusive=False,
            )
    led.close()


def bench_status(n_containers: int, n_rows: int, repeat: int) -> None:
    sys.path.insert(0, str(ROOT))
    import docker
    from dev import engine

    engine.ensure_engine()
    image = engine.ensure_base_image()
    client = docker.from_env(timeout=120)
    tag = "bench" + secrets.token_hex(3)
    tmp = Path(tempfile.mkdtemp(prefix="ds01-bench-"))
    names = [f"b{i}-{tag}._.1000" for i in range(n_containers)]
    try:
        for i, name in enumerate(names):
            g, m = (i // 7) % 8, i % 7
            client.api.create_container(
                image,
                ["true"],
                name=name,
                labels={
                    "ds01.test.session": tag,
                    "aime.mlc.DS01_MANAGED": "true",
                    "ds01.user": f"user{i % 40}",
                    "ds01.gpu.slots": f"{g}:{m}",
                },
            )
        (tmp / "topology.yaml").write_text(TOPOLOGY)
        cfg = tmp / "resource-limits.yaml"
        cfg.write_text(CONFIG.format(topology=tmp / "topology.yaml"))
        setup_state(tmp / "state", n_rows, names)
        env = dict(
            os.environ,
            DS01_CONFIG=str(cfg),
            DS01_STATE_DIR=str(tmp / "state"),
            DS01_LOG_DIR=str(tmp / "log"),
            NO_COLOR="1",
        )
        ds01 = str(Path(sys.executable).parent / "ds01")
        total = len(client.api.containers(all=True))
        status = median_run([ds01, "gpu", "status", "--json"], env, repeat)
        ps = median_run(["docker", "ps", "-a"], env, repeat)
        print(
            f"ds01 gpu status --json: {n_rows} ledger rows, {n_containers} ds01 containers "
            f"({total} on the engine): median {ms(status)}"
        )
        print(f"docker ps -a on the same engine: median {ms(ps)}")
        print(f"ratio status / docker ps -a: {status / ps:.1f}x")
        # the in-process allocate, ledger transaction included, against the same 500-row ledger
        os.environ.update(env)
        from ds01.gpu import service
        from ds01.limits.config import load_config

        config = load_config(cfg)
        t = time.perf_counter()
        service.allocate(config, "alice", f"extra-{tag}._.1000", 1, 50, reconcile_first=False)
        print(
            f"in-process allocate (inventory + quota + BEGIN IMMEDIATE + decide + insert), {n_rows} rows: "
            f"{ms(time.perf_counter() - t)}"
        )
    finally:
        for c in client.api.containers(all=True, filters={"label": f"ds01.test.session={tag}"}):
            client.api.remove_container(c["Id"], force=True)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--containers", type=int, default=200)
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    bench_decision(args.rows)
    bench_status(args.containers, args.rows, args.repeat)


if __name__ == "__main__":
    main()
