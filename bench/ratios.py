#!/usr/bin/env python3
"""The speed targets of ds01, measured side by side in one run and printed as ratios.

    .venv/bin/python bench/ratios.py [--count 200] [--runs 9] [--create-runs 5] [--aime-mlc PATH]
                                     [--skip-listings | --skip-create]

Every figure is a whole process (interpreter start included, bytecode written first as an
installed package has it), the median of runs interleaved case by case so that background
load falls on all of them alike.

1. Fixed cost, with no container of the caller: ``ds01 container list --json`` and
   ``ds01 mlc list`` against ``python -c pass`` + the listing request itself (one raw GET
   over the engine's socket, in process). Target: <= 2x.
2. Listing COUNT containers: ``ds01 mlc list`` and ``ds01 container list --json`` against
   ``docker ps -a`` (target <= 2.5x) and, when AIME's tool is given (``--aime-mlc PATH`` or
   ``AIME_MLC``), against its ``mlc list`` (target <= 0.8x).
3. Create and start, as separate processes: ``ds01 mlc create`` + ``ds01 mlc start`` and
   ``ds01 container create`` + ``ds01 container start`` against ``docker create`` +
   ``docker start`` with the same options (image, command, user, mounts, labels, limits,
   port, init, ipc). Target: <= 1.5x.

Everything it makes is named ``bench<random>`` and removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import compile_package, median_call, run_once

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

USER, UID = "benchuser", 4999


def interleaved(
    cases: dict[str, list[list[str]]], env: dict[str, str], runs: int, between: dict[str, list[list[str]]] | None = None
) -> dict[str, float]:
    """Median wall time of each case (a case is one or more processes run one after another);
    ``between[name]``: untimed commands run after each run of that case (clean-up)."""
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(runs):
        for name, steps in cases.items():
            samples[name].append(sum(run_once(step, env) for step in steps))
            for cleanup in (between or {}).get(name, []):
                subprocess.run(cleanup, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return {k: statistics.median(v) for k, v in samples.items()}


def show(title: str, medians: dict[str, float], base: str, targets: dict[str, float] | None = None) -> None:
    print(f"\n{title}")
    print(f"  {'command':<48} {'median ms':>10} {'ratio':>8}  target")
    for name, value in medians.items():
        ratio = value / medians[base]
        target = (targets or {}).get(name)
        verdict = "" if target is None else f"<= {target}x {'ok' if ratio <= target else 'MISSED'}"
        print(f"  {name:<48} {value * 1000:>10.1f} {ratio:>7.2f}x  {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--create-runs", type=int, default=5)
    parser.add_argument("--aime-mlc", default=os.environ.get("AIME_MLC"), help="AIME's mlc (optional)")
    parser.add_argument("--skip-create", action="store_true")
    parser.add_argument("--skip-listings", action="store_true", help="measure create + start only")
    parser.add_argument(
        "--ds01",
        default=str(Path(sys.executable).parent / "ds01"),
        help="the ds01 executable to measure (default: this environment's)",
    )
    args = parser.parse_args()

    from dev import engine as dev_engine

    compile_package()
    dev_engine.ensure_engine()
    image = dev_engine.ensure_base_image()
    from ds01.base import docker_client as dc

    docker = shutil.which("docker")
    if not docker:
        print("docker CLI not installed: nothing to compare with")
        return 1
    ds01 = args.ds01
    tag = "bench" + secrets.token_hex(3)
    work = Path(tempfile.mkdtemp(prefix="ds01-bench-"))
    os.chmod(work, 0o755)
    ws = work / "ws"
    ws.mkdir()
    os.chown(ws, UID, UID)
    env = dict(
        os.environ,
        DS01_STATE_DIR=str(work / "state"),
        DS01_LOG_DIR=str(work / "log"),
        DS01_CONFIG=os.environ.get("DS01_CONFIG", str(ROOT / "config" / "resource-limits.yaml")),
        SUDO_USER=USER,
        SUDO_UID=str(UID),
        SUDO_GID=str(UID),
        NO_COLOR="1",
        HOME=str(work),
    )
    env.pop("DS01_DEBUG", None)
    socket_path = dc.docker_host().removeprefix("unix://")
    mine = {"filters": json.dumps({"label": [f"aime.mlc={USER}"]}), "all": "1", "size": "0"}
    try:
        if not args.skip_listings:
            # 1. fixed cost
            for cmd in ([ds01, "container", "list", "--json"], [ds01, "mlc", "list"]):
                run_once(cmd, env)  # warm caches, fail loudly if broken
            request = median_call(lambda: dc._get_json(socket_path, "/containers/json", mine, action="list"), 31)
            med = interleaved(
                {
                    "python -c pass": [[sys.executable, "-c", "pass"]],
                    "ds01 container list --json (none)": [[ds01, "container", "list", "--json"]],
                    "ds01 mlc list (none)": [[ds01, "mlc", "list"]],
                },
                env,
                args.runs * 2,
            )
            floor = med["python -c pass"] + request
            print(f"listing request in process: {request * 1000:.1f} ms")
            show(
                "Fixed cost (no containers): base = python -c pass + the listing request",
                {"python -c pass + request": floor, **{k: v for k, v in med.items() if k != "python -c pass"}},
                "python -c pass + request",
                {k: 2.0 for k in med if k.startswith("ds01")},
            )

            # 2. listing COUNT containers
            api = dc.api()
            t0 = time.perf_counter()
            for i in range(args.count):
                name = f"{tag}-{i}"
                labels = {
                    "aime.mlc": USER,
                    "aime.mlc.NAME": name,
                    "aime.mlc.USER": USER,
                    "aime.mlc.MLC_VERSION": "4",
                    "aime.mlc.DS01_MANAGED": "true",
                    "aime.mlc.WORK_MOUNT": str(ws),
                    "aime.mlc.FRAMEWORK": "custom",
                    "aime.mlc.ARCH": "CUDA_ADA",
                    "aime.mlc.GPUS": "none",
                    "aime.mlc.DATA_MOUNT": "-",
                    "aime.mlc.MODELS_MOUNT": "-",
                    "ds01.user": USER,
                    "ds01.uid": str(UID),
                    "ds01.project": name,
                    "ds01.created_at": "2026-01-01T00:00:00Z",
                    dev_engine.TEST_LABEL: tag,
                }
                api.create_container(image, ["true"], name=f"{name}._.{UID}", labels=labels)
            print(f"\ncreated {args.count} containers in {time.perf_counter() - t0:.1f}s")
            out = subprocess.run(
                [ds01, "container", "list", "--json"], env=env, capture_output=True, text=True, check=True
            ).stdout
            assert sum(e["name"].startswith(tag) for e in json.loads(out)) == args.count
            cases = {
                "docker ps -a": [[docker, "ps", "-a"]],
                "ds01 mlc list": [[ds01, "mlc", "list"]],
                "ds01 container list --json": [[ds01, "container", "list", "--json"]],
            }
            targets = {"ds01 mlc list": 2.5, "ds01 container list --json": 2.5}
            if args.aime_mlc:
                cases["aime mlc list"] = [[args.aime_mlc, "list"]]
            med = interleaved(cases, env, args.runs)
            show(f"Listing {args.count} containers: base = docker ps -a", med, "docker ps -a", targets)
            if args.aime_mlc:
                show(
                    "... and against AIME's mlc list",
                    med,
                    "aime mlc list",
                    {"ds01 mlc list": 0.8, "ds01 container list --json": 0.8},
                )
            else:
                print("  (AIME's mlc not given: --aime-mlc PATH or AIME_MLC=PATH adds the <= 0.8x comparison)")
            for c in api.containers(all=True, filters={"label": f"{dev_engine.TEST_LABEL}={tag}"}):
                api.remove_container(c["Id"], force=True)

        # 3. create + start as separate processes
        if not args.skip_create:
            name = f"{tag}c"
            dname = f"{name}._.{UID}"
            plain_create = [
                docker,
                "create",
                "--name",
                dname,
                "--user",
                f"{UID}:{UID}",
                "-w",
                "/workspace",
                "-v",
                f"{ws}:/workspace:rw",
                "--init",
                "--ipc",
                "private",
                "-p",
                "127.0.0.1::8888",
                "--hostname",
                name,
                "-e",
                "NVIDIA_VISIBLE_DEVICES=void",
                "-e",
                "NVIDIA_MIG_MONITOR_DEVICES=",
                "-e",
                "NVIDIA_MIG_CONFIG_DEVICES=",
                "--label",
                f"aime.mlc={USER}",
                "--label",
                f"aime.mlc.NAME={name}",
                "--label",
                f"ds01.user={USER}",
                "--label",
                f"ds01.uid={UID}",
                # the limits ds01's packaged configuration gives this user
                "--cpus",
                "2",
                "--memory",
                "32g",
                "--memory-swap",
                "32g",
                "--pids-limit",
                "4096",
                "--shm-size",
                "8g",
                "--cgroup-parent",
                "ds01-student.slice",
                "--cgroupns",
                "private",
                image,
                "sleep",
                "infinity",
            ]
            remove = [[docker, "rm", "-f", dname]]
            med = interleaved(
                {
                    "docker create + docker start": [plain_create, [docker, "start", dname]],
                    "ds01 mlc create + mlc start": [
                        [ds01, "mlc", "create", name, "--image", image, "-w", str(ws), "-g", "0", "--script"],
                        [ds01, "mlc", "start", name],
                    ],
                    "ds01 container create + container start": [
                        [ds01, "container", "create", name, "--image", image, "-w", str(ws), "--gpus", "0", "--script"],
                        [ds01, "container", "start", name],
                    ],
                },
                env,
                args.create_runs,
                between={
                    "docker create + docker start": remove,
                    # ds01's own clean-up: the container, its ledger rows and its definition.
                    "ds01 mlc create + mlc start": [[ds01, "mlc", "remove", name, "-f", "--script"], *remove],
                    "ds01 container create + container start": [
                        [ds01, "container", "cleanup", name, "--force", "--script"],
                        *remove,
                    ],
                },
            )
            show(
                "Create + start, separate processes: base = docker create + docker start",
                med,
                "docker create + docker start",
                {"ds01 mlc create + mlc start": 1.5, "ds01 container create + container start": 1.5},
            )
    finally:
        api = dc.api()
        for c in api.containers(all=True, filters={"name": tag}):
            api.remove_container(c["Id"], force=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
