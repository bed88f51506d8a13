"""A one-shot, read-only check of ds01's NVML reading on a real GPU server.

Run as root from the repository root (with ds01 installed, e.g. the project's virtualenv):

    OUT=/tmp/gpu-check .venv/bin/python dev/gpu_check.py [--slot SLOT_ID_OR_UUID] [--mib 256]

It never changes anything on the GPUs (no MIG mode change, no instance created or destroyed).
Steps, each written to ``$OUT/gpu_check.json`` (or ``./gpu_check.json``) as soon as it is done:

1. ``inventory``: the GPUs and slots through ds01's own module (UUIDs, memory, MIG mode, pending
   changes, compute capability, profiles, shared compute instances, warnings), and GPM support.
2. ``activity``: ds01's idle-detection reading of every slot (evidence: utilization/gpm/processes).
3. ``cuda``: a child process creates a CUDA context on one slot (``libcuda`` through ctypes; no
   framework needed) and allocates memory; ds01 must see that process once, under that slot's
   UUID, with at least that memory, and read its cgroup; the slot's activity is read while the
   child is idle and while it runs memset kernels.

It exits 0 with a one-line summary when everything matches, and 1 naming each mismatch otherwise
(on a machine without a GPU: "NVML unavailable").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ds01.records import asdict

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

REPORT_NAME = "gpu_check.json"
PROFILE_RE = re.compile(r"^(?:\d+c\.)?\d+g\.\d+gb(?:[+-][a-z]+(?:\.[a-z]+)?)?$")

# The child: one CUDA context on the device named by CUDA_VISIBLE_DEVICES, MIB MiB allocated, then
# idle, then memset kernels, then it waits for its stdin to close. Only the CUDA driver API.
CHILD = r"""
import ctypes, sys, time
mib, idle_s, busy_s = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
cuda = ctypes.CDLL("libcuda.so.1")
def ok(rc, what):
    if rc != 0:
        print(f"error {what} {rc}", flush=True)
        sys.exit(3)
ok(cuda.cuInit(0), "cuInit")
dev, ctx, ptr = ctypes.c_int(), ctypes.c_void_p(), ctypes.c_uint64()
ok(cuda.cuDeviceGet(ctypes.byref(dev), 0), "cuDeviceGet")
ok(cuda.cuCtxCreate_v2(ctypes.byref(ctx), 0, dev), "cuCtxCreate")
size = mib * 1024 * 1024
ok(cuda.cuMemAlloc_v2(ctypes.byref(ptr), ctypes.c_size_t(size)), "cuMemAlloc")
print("ready", flush=True)
time.sleep(idle_s)
print("busy", flush=True)
end = time.time() + busy_s
while time.time() < end:
    for _ in range(50):
        ok(cuda.cuMemsetD8_v2(ptr, ctypes.c_ubyte(7), ctypes.c_size_t(size)), "cuMemsetD8")
    ok(cuda.cuCtxSynchronize(), "cuCtxSynchronize")
print("done", flush=True)
sys.stdin.read()
"""


class Check:
    def __init__(self, out_dir: Path):
        self.path = out_dir / REPORT_NAME
        self.report: dict[str, Any] = {
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": platform.node(),
            "euid": os.geteuid(),
            "python": sys.version.split()[0],
            "steps": [],
            "mismatches": [],
        }

    def step(self, name: str, data: dict[str, Any], ok: bool = True) -> None:
        self.report["steps"].append({"name": name, "ok": ok, "at": time.time(), **data})
        self.write()

    def mismatch(self, text: str) -> None:
        self.report["mismatches"].append(text)
        self.write()

    def write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.report, indent=2, default=str) + "\n")
        tmp.replace(self.path)

    def finish(self, summary: str) -> int:
        self.report["summary"] = summary
        self.report["ok"] = not self.report["mismatches"]
        self.write()
        print(summary)
        return 0 if self.report["ok"] else 1


def _pkg_version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - a missing or odd distribution is reported as unknown
        return None


def check_inventory(chk: Check) -> Any:
    from ds01.errors import Ds01Error
    from ds01.gpu import inventory

    try:
        inv = inventory.load("nvml")
        gpm = inventory.nvml_gpm_support()
    except (Ds01Error, ImportError, OSError) as exc:
        message = getattr(exc, "message", str(exc))
        chk.step(
            "inventory",
            {"error": message, "hint": getattr(exc, "hint", None), "nvidia_ml_py": _pkg_version("nvidia-ml-py")},
            ok=False,
        )
        chk.mismatch(f"NVML unavailable: {message}")
        return None
    gpus = []
    for g in inv.gpus:
        d = asdict(g)
        d["gpm_supported"] = gpm.get(g.uuid)
        gpus.append(d)
    chk.step(
        "inventory",
        {
            "nvidia_ml_py": _pkg_version("nvidia-ml-py"),
            "gpus": gpus,
            "slots": [asdict(s) for s in inv.slots],
            "warnings": list(inv.warnings),
        },
    )
    if not inv.gpus:
        chk.mismatch("NVML reports no GPU")
    for g in inv.gpus:
        if g.lost:
            chk.mismatch(f"GPU {g.index} unreadable: {g.problem or 'lost'}")
            continue
        if not g.uuid.startswith("GPU-"):
            chk.mismatch(f"GPU {g.index}: UUID {g.uuid!r} does not start with GPU-")
        if g.memory_bytes <= 0 and not g.mig_current:
            chk.mismatch(f"GPU {g.index}: no memory size")
        if g.compute_capability is None:
            chk.mismatch(f"GPU {g.index}: no compute capability")
        if g.compute_capability and g.compute_capability >= (9, 0) and g.mig_current and not gpm.get(g.uuid):
            chk.mismatch(f"GPU {g.index}: compute capability {g.compute_capability} but GPM reported unsupported")
    for s in inv.slots:
        if s.profile is not None:
            if not s.uuid.startswith("MIG-"):
                chk.mismatch(f"slot {s.id}: MIG UUID {s.uuid!r} does not start with MIG-")
            if not PROFILE_RE.match(s.profile):
                chk.mismatch(f"slot {s.id}: profile {s.profile!r} is not a MIG profile name")
        if s.memory_bytes <= 0:
            chk.mismatch(f"slot {s.id}: no memory size")
    if len({s.uuid for s in inv.slots}) != len(inv.slots) or len({s.id for s in inv.slots}) != len(inv.slots):
        chk.mismatch("slot ids or UUIDs are not unique")
    return inv


def check_activity(chk: Check, inv: Any, name: str = "activity") -> dict[str, Any]:
    from ds01.errors import Ds01Error
    from ds01.gpu import inventory

    try:
        act = inventory.nvml_activity(inv)
    except Ds01Error as exc:
        chk.step(name, {"error": exc.message}, ok=False)
        chk.mismatch(f"{name}: {exc.message}")
        return {}
    chk.step(name, {"slots": {u: asdict(a) for u, a in act.items()}})
    for s in inv.slots:
        a = act.get(s.uuid)
        if a is None:
            chk.mismatch(f"{name}: no reading for slot {s.id}")
        elif s.profile is not None and a.evidence == "utilization":
            chk.mismatch(f"{name}: slot {s.id} is MIG but was read by utilisation")
    return act


def _pick(inv: Any, wanted: str | None) -> Any:
    if wanted:
        return next((s for s in inv.slots if wanted in (s.id, s.uuid)), None)
    return inv.slots[0] if inv.slots else None


def check_cuda(chk: Check, inv: Any, wanted: str | None, mib: int) -> None:
    from ds01.gpu import inventory
    from ds01.units.containers.listing import container_of_cgroup

    slot = _pick(inv, wanted)
    if slot is None:
        chk.step("cuda", {"error": f"no slot {wanted or ''} to test"}, ok=False)
        chk.mismatch(f"cuda: no slot {wanted or 'at all'} to test on")
        return
    env = dict(os.environ, CUDA_VISIBLE_DEVICES=slot.uuid)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(mib), "6", "8"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    data: dict[str, Any] = {"slot": slot.id, "uuid": slot.uuid, "pid": child.pid, "mib": mib}
    try:
        line = _line(child, 60)
        data["child_said"] = line
        if line != "ready":
            chk.step("cuda", data, ok=False)
            chk.mismatch(f"cuda: the child could not create a context on slot {slot.id}: {line or 'no answer'}")
            return
        time.sleep(1.0)
        procs, warnings = inventory.nvml_process_scan()
        mine = [p for p in procs if p.pid == child.pid]
        data["seen"] = [asdict(p) for p in mine]
        data["scan_warnings"] = warnings
        try:
            data["cgroup"] = Path(f"/proc/{child.pid}/cgroup").read_text()
        except OSError as exc:
            data["cgroup"] = None
            chk.mismatch(f"cuda: cannot read the child's cgroup ({exc.strerror})")
        if data["cgroup"] is not None:
            data["cgroup_container"] = container_of_cgroup(data["cgroup"], [])
        idle = check_activity(chk, inv, "activity-idle")
        data["idle"] = asdict(idle[slot.uuid]) if slot.uuid in idle else None
        line = _line(child, 30)
        time.sleep(1.5)
        busy = check_activity(chk, inv, "activity-busy") if line == "busy" else {}
        data["busy"] = asdict(busy[slot.uuid]) if slot.uuid in busy else None
        chk.step("cuda", data)
        if not mine:
            chk.mismatch(f"cuda: ds01 does not see the child process {child.pid} on any device")
        elif [p.device_uuid for p in mine] != [slot.uuid]:
            chk.mismatch(
                f"cuda: the child is seen under {[p.device_uuid for p in mine]}, expected once under {slot.uuid}"
            )
        elif mine[0].used_memory_bytes is None:
            chk.mismatch("cuda: NVML reports no memory for the child process")
        elif mine[0].used_memory_bytes < mib * 1024 * 1024:
            chk.mismatch(f"cuda: the child's memory {mine[0].used_memory_bytes} B is below the {mib} MiB it holds")
        if data["busy"] is None:
            chk.mismatch(f"cuda: no activity reading for slot {slot.id} while busy")
        elif data["busy"]["busy"] is not True:
            chk.mismatch(f"cuda: slot {slot.id} read as {data['busy']} while running kernels")
        if data["idle"] and slot.profile is None and data["idle"]["busy"] is not False:
            chk.mismatch(
                f"cuda: whole GPU {slot.id} read as {data['idle']} while the child was idle "
                "(another process may be using it)"
            )
    finally:
        try:
            if child.stdin:
                child.stdin.close()
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _line(child: subprocess.Popen, timeout: float) -> str:
    import select

    assert child.stdout is not None
    ready, _, _ = select.select([child.stdout], [], [], timeout)
    if not ready:
        return ""
    return child.stdout.readline().strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Read-only check of ds01's NVML reading on this server.")
    ap.add_argument("--slot", help="slot id or UUID for the CUDA step (default: the first slot)")
    ap.add_argument("--mib", type=int, default=256, help="MiB the CUDA child allocates (default 256)")
    args = ap.parse_args(argv)
    out = Path(os.environ.get("OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    chk = Check(out)
    chk.write()
    inv = check_inventory(chk)
    if inv is None:
        return chk.finish(f"gpu_check: FAILED - {chk.report['mismatches'][0]} (report: {chk.path})")
    check_activity(chk, inv)
    check_cuda(chk, inv, args.slot, args.mib)
    n = len(chk.report["mismatches"])
    if n:
        return chk.finish(
            f"gpu_check: {n} mismatch(es) - " + "; ".join(chk.report["mismatches"]) + f" (report: {chk.path})"
        )
    return chk.finish(
        f"gpu_check: OK - {len(inv.gpus)} GPU(s), {len(inv.slots)} slot(s), CUDA process seen on "
        f"its slot (report: {chk.path})"
    )


if __name__ == "__main__":
    sys.exit(main())
