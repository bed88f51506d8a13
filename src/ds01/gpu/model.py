"""Plain data shared by the GPU service: GPUs, MIG instances, slots and an inventory snapshot.

Both inventory backends (NVML and simulated) return these objects, so the allocator, the
ledger and the commands never know where the inventory came from.
"""

from __future__ import annotations

import re

from ds01.records import dataclass, field


@dataclass(frozen=True)
class MigInstance:
    """One MIG device: a compute instance (CI) inside a GPU instance (GI).

    ``memory_bytes`` is the memory of the GPU instance; when a GPU instance holds several
    compute instances they all see (and share) that one memory: ``shares_memory`` is then
    the number of compute instances sharing it (1 = the memory is this device's alone).
    """

    index: int  # enumeration position on its GPU (informational; slot ids use the GI/CI ids)
    gpu_instance_id: int
    compute_instance_id: int
    profile: str  # e.g. "3g.40gb", "1c.3g.40gb", "1g.10gb+me"
    uuid: str  # "MIG-…"
    memory_bytes: int
    shares_memory: int = 1

    @property
    def partial(self) -> bool:
        """The compute instance is smaller than its GPU instance ("1c.3g.40gb") or shares it."""
        return self.shares_memory > 1 or bool(re.match(r"^\d+c\.", self.profile))


def mig_slot_id(gpu_index: int, inst: MigInstance) -> str:
    """The stable slot id of a MIG device, from NVML's own ids (not its enumeration position):
    ``N:G`` for a compute instance that spans its whole GPU instance G, ``N:G.C`` for compute
    instance C of a GPU instance split into several. Recreating another instance never renames it."""
    if inst.partial:
        return f"{gpu_index}:{inst.gpu_instance_id}.{inst.compute_instance_id}"
    return f"{gpu_index}:{inst.gpu_instance_id}"


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
    lost: bool = False  # NVML could not read the GPU (lost, no permission, power, ...): it offers no slot
    problem: str = ""  # why, in NVML's words, when ``lost``


@dataclass(frozen=True)
class Slot:
    """A unit of allocation: a whole GPU (``N``) or one MIG instance (``N:M``)."""

    id: str
    uuid: str
    gpu_index: int
    profile: str | None  # None for a whole GPU
    memory_bytes: int
    memory_used_percent: float = 0.0
    shared_memory_with: tuple[str, ...] = ()  # slot ids of compute instances sharing this memory

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

    def by_uuid(self, uuid: str) -> Slot | None:
        for s in self.slots:
            if s.uuid == uuid:
                return s
        return None


_SLOT_RE = re.compile(r"^(\d+)(?::(\d+)(?:\.(\d+))?)?$")


def slot_sort_key(slot_id: str) -> tuple[int, int, int]:
    """Natural order of slot ids: ``2`` < ``10``, a whole GPU ``1`` before ``1:0``, ``1:3`` before ``1:3.1``."""
    m = _SLOT_RE.match(slot_id)
    if not m:
        return (1 << 30, 0, 0)
    return (
        int(m.group(1)),
        -1 if m.group(2) is None else int(m.group(2)),
        -1 if m.group(3) is None else int(m.group(3)),
    )


def valid_slot_id(slot_id: str) -> bool:
    return bool(_SLOT_RE.match(slot_id))


def slots_of(gpus: tuple[Gpu, ...], *, enable_mig: bool = True) -> tuple[tuple[Slot, ...], tuple[str, ...]]:
    """The allocatable slots of a set of GPUs, and the warnings explaining any GPU that offers none."""
    slots: list[Slot] = []
    warnings: list[str] = []
    for gpu in gpus:
        if gpu.lost:
            why = f" ({gpu.problem})" if gpu.problem else ""
            warnings.append(
                f"GPU {gpu.index} is lost or unreadable (NVML{why}); it offers no slot until it is "
                "reset or the problem is fixed."
            )
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
        ids = {inst.uuid: mig_slot_id(gpu.index, inst) for inst in gpu.instances}
        for inst in gpu.instances:
            peers = tuple(
                ids[o.uuid] for o in gpu.instances if o.gpu_instance_id == inst.gpu_instance_id and o.uuid != inst.uuid
            )
            slots.append(
                Slot(ids[inst.uuid], inst.uuid, gpu.index, inst.profile, inst.memory_bytes, shared_memory_with=peers)
            )
    return tuple(slots), tuple(warnings)
