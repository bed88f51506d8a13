"""Plain data shared by the GPU service: GPUs, MIG instances, slots and an inventory snapshot.

Both inventory backends (NVML and simulated) return these objects, so the allocator, the
ledger and the commands never know where the inventory came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MigInstance:
    index: int  # enumeration index on its GPU (the M of slot N:M)
    gpu_instance_id: int
    compute_instance_id: int
    profile: str  # e.g. "3g.40gb"
    uuid: str  # "MIG-…"
    memory_bytes: int


@dataclass(frozen=True)
class Gpu:
    index: int
    uuid: str  # "GPU-…"
    name: str
    memory_bytes: int
    mig_current: bool = False
    mig_pending: bool = False
    instances: tuple[MigInstance, ...] = ()
    compute_capability: tuple[int, int] | None = None
    memory_used_bytes: int = 0
    lost: bool = False  # NVML reported the GPU lost (or unknown): it offers no slot


@dataclass(frozen=True)
class Slot:
    """A unit of allocation: a whole GPU (``N``) or one MIG instance (``N:M``)."""

    id: str
    uuid: str
    gpu_index: int
    profile: str | None  # None for a whole GPU
    memory_bytes: int
    memory_used_percent: float = 0.0

    @property
    def whole_gpu(self) -> bool:
        return self.profile is None


@dataclass(frozen=True)
class GpuProcess:
    """A process NVML sees on a device (host PID; map to a container through /proc)."""

    pid: int
    used_memory_bytes: int | None
    device_uuid: str


@dataclass(frozen=True)
class SlotActivity:
    """Whether a slot's device is doing work now, and how ds01 knows (idle detection, SPEC §8).

    ``busy`` is None when nothing could be measured (never read as idle-by-default: a caller
    that needs a verdict treats unknown as busy). ``evidence`` names the signal: "utilization"
    (whole GPUs), "gpm" (MIG slices on GPUs with NVML GPM), "processes" (MIG slices without
    GPM: the instance's own processes and their memory), "simulated", or "unavailable".
    ``detail`` is a short human phrase for verdicts ("12% SM", "2 processes, 3.1 GiB").
    """

    uuid: str
    busy: bool | None
    evidence: str
    detail: str = ""


@dataclass(frozen=True)
class Inventory:
    backend: str  # "nvml" | "simulated"
    gpus: tuple[Gpu, ...]
    slots: tuple[Slot, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def slot(self, slot_id: str) -> Slot | None:
        for s in self.slots:
            if s.id == slot_id:
                return s
        return None


_SLOT_RE = re.compile(r"^(\d+)(?::(\d+))?$")


def slot_sort_key(slot_id: str) -> tuple[int, int]:
    """Natural order of slot ids: ``2`` < ``10``, and a whole GPU ``1`` before ``1:0``."""
    m = _SLOT_RE.match(slot_id)
    if not m:
        return (1 << 30, 0)
    return (int(m.group(1)), -1 if m.group(2) is None else int(m.group(2)))


def valid_slot_id(slot_id: str) -> bool:
    return bool(_SLOT_RE.match(slot_id))


def slots_of(gpus: tuple[Gpu, ...], *, enable_mig: bool = True) -> tuple[tuple[Slot, ...], tuple[str, ...]]:
    """The allocatable slots of a set of GPUs, and the warnings explaining any GPU that offers none."""
    slots: list[Slot] = []
    warnings: list[str] = []
    for gpu in gpus:
        if gpu.lost:
            warnings.append(f"GPU {gpu.index} is lost or unreadable (NVML); it offers no slot until it is reset.")
            continue
        if gpu.mig_current != gpu.mig_pending:
            now, later = ("on" if gpu.mig_current else "off"), ("on" if gpu.mig_pending else "off")
            warnings.append(
                f"GPU {gpu.index} has a pending MIG mode change ({now} -> {later}); "
                f"the current mode ({now}) is used until the GPU is reset."
            )
        if not gpu.mig_current:
            used = 100.0 * gpu.memory_used_bytes / gpu.memory_bytes if gpu.memory_bytes else 0.0
            slots.append(Slot(str(gpu.index), gpu.uuid, gpu.index, None, gpu.memory_bytes, used))
            continue
        if not enable_mig:
            warnings.append(
                f"GPU {gpu.index} is in MIG mode but gpu_allocation.enable_mig is false; it offers no slot."
            )
            continue
        if not gpu.instances:
            warnings.append(
                f"GPU {gpu.index} has MIG enabled but no MIG instances; it offers no slot "
                "(create instances with `nvidia-smi mig -cgi … -C`)."
            )
            continue
        for inst in gpu.instances:
            slots.append(Slot(f"{gpu.index}:{inst.index}", inst.uuid, gpu.index, inst.profile, inst.memory_bytes))
    return tuple(slots), tuple(warnings)
