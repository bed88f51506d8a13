"""Measure ``ds01 monitor metrics --textfile`` on 200 containers and 56 GPU slots.

    python bench/metrics.py [--count 200] [--running 10] [--runs 9]

Builds a realistic server: a simulated inventory of 8 MIG GPUs cut into 7 slices each (56
slots), COUNT real containers labelled like ds01's for 8 users (RUNNING of them started, the
rest created and never started, so their cgroups are read too), an active ledger row for one
container per slot, 5,000 released rows and their history (GPU-seconds), and 2,000 lines of
events (refusals, idle stops). Then times, as whole processes (interpreter start included),
``ds01 monitor metrics --textfile DIR`` against ``python -c pass``, and the in-process
exposition. Prints medians and ratios. Everything it makes is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _fixtures import bench_env, engine, labels, remove
from _timing import median_call, median_run

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USERS = [(f"benchu{i}", 4900 + i) for i in range(8)]
TOPOLOGY = "gpus:\n" + "".join(
    "  - name: NVIDIA A100-SXM4-80GB\n    memory: 80g\n    mig: [" + ", ".join(["1g.10gb"] * 7) + "]\n"
    for _ in range(8)
)
CONFIG = """\
defaults:
  max_mig_instances: 7
  memory: 256m
  priority: 10
groups:
  bench:
    members: [{members}]
admins: [root]
gpu_allocation:
  inventory: simulated
  topology: {topology}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--running", type=int, default=10)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    image, api, tag, work = engine()
    (work / "topology.yaml").write_text(TOPOLOGY)
    (work / "config.yaml").write_text(
        CONFIG.format(members=", ".join(u for u, _ in USERS), topology=work / "topology.yaml")
    )
    env = bench_env(work, drop=("SUDO_USER", "SUDO_UID", "SUDO_GID"), DS01_CONFIG=str(work / "config.yaml"))
    ids = []
    try:
        t0 = time.perf_counter()
        from ds01.gpu import service
        from ds01.gpu.ledger import Ledger
        from ds01.limits.config import load_config

        config = load_config(work / "config.yaml")
        slots = service.inventory(config).slots
        assert len(slots) == 56, len(slots)
        led = Ledger()
        now = time.time()
        with led.write() as conn:
            for i in range(args.count):
                user, uid = USERS[i % len(USERS)]
                name = f"{tag}-{i}"
                docker_name = f"{name}._.{uid}"
                marks = labels(name, user, uid, tag)
                if i < len(slots):
                    marks["ds01.gpu.slots"] = slots[i].id
                    Ledger.insert(
                        conn,
                        slot=slots[i].id,
                        uuid=slots[i].uuid,
                        container=docker_name,
                        user=user,
                        priority=10,
                        at=now - 3600 * (i % 24),
                        confirmed=True,
                    )
                    Ledger.record(
                        conn,
                        at=now - 3600 * (i % 24),
                        event="allocate",
                        user=user,
                        container=docker_name,
                        slot=slots[i].id,
                    )
                ids.append(api.create_container(image, ["sleep", "3600"], name=docker_name, labels=marks)["Id"])
            for j in range(5000):
                user, _uid = USERS[j % len(USERS)]
                s = slots[j % len(slots)]
                start = now - 86400 * 30 + j * 400
                conn.execute(
                    "INSERT INTO allocations (slot, uuid, container, user, priority, allocated_at, "
                    "confirmed_at, released_at, reason, exclusive) VALUES (?, ?, ?, ?, 10, ?, ?, ?, "
                    "'released', 1)",
                    (s.id, s.uuid, f"old-{j}", user, start, start, start + 300),
                )
                Ledger.record(conn, at=start, event="allocate", user=user, container=f"old-{j}", slot=s.id)
                Ledger.record(conn, at=start + 300, event="release", user=user, container=f"old-{j}", slot=s.id)
        led.close()
        for cid in ids[: args.running]:
            api.start(cid)
        log = work / "log"
        log.mkdir(parents=True, exist_ok=True)
        with open(log / "events.jsonl", "w") as fh:
            for k in range(2000):
                user, _uid = USERS[k % len(USERS)]
                event = ("refuse", "stop-idle", "allocate", "release")[k % 4]
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 86400 * 30 + k * 1000))
                fh.write(
                    json.dumps(
                        {
                            "timestamp": stamp,
                            "event": event,
                            "user": user,
                            "container": f"old-{k}",
                            "gpu_id": "0:1",
                            "reason": "r",
                            "refused": "capacity",
                        }
                    )
                    + "\n"
                )
        print(
            f"set up {args.count} containers ({args.running} running), {len(slots)} slots in "
            f"{time.perf_counter() - t0:.1f}s"
        )

        out = work / "textfile"
        out.mkdir()
        ds01 = [str(Path(sys.executable).parent / "ds01"), "monitor", "metrics", "--textfile", str(out)]
        subprocess.run(ds01, env=env, check=True, capture_output=True)
        text = (out / "ds01.prom").read_text()
        series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        assert text.count("ds01_container_memory_bytes{") >= args.running, "running containers missing"
        ds01_s = median_run(ds01, env, args.runs)
        bare_s = median_run([sys.executable, "-c", "pass"], env, args.runs)
        print(
            f"ds01 monitor metrics --textfile ({args.count} containers, {len(slots)} slots, {series} series): "
            f"median {ds01_s * 1000:.0f} ms over {args.runs} runs"
        )
        print(f"python -c pass:                          median {bare_s * 1000:.0f} ms")
        print(
            f"on top of interpreter start:             {(ds01_s - bare_s) * 1000:.0f} ms (ratio {ds01_s / bare_s:.1f}x)"
        )
        from ds01.orchestrators.monitoring.metrics import exposition

        inproc = median_call(lambda: exposition(config), args.runs)
        print(f"in process: exposition {inproc * 1000:.0f} ms")
    finally:
        remove(api, ids, work)


if __name__ == "__main__":
    main()
