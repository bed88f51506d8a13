"""GPU inventory: the ONLY module that talks to NVML, plus the simulated (topology YAML) backend.

``nvml_gpus()`` reads the real devices through nvidia-ml-py (``import pynvml``, imported and
initialised only when called); ``simulated_gpus(path)`` reads a topology file. Both return
the same plain ``Gpu`` objects, and ``load()`` turns either into an ``Inventory`` of slots.
"""

from __future__ import annotations

import hashlib
import re
import uuid as _uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ds01.errors import ConfigError, GpuLibraryError
from ds01.gpu.model import Gpu, GpuProcess, Inventory, MigInstance, SlotActivity, slots_of
from ds01.records import replace

T = TypeVar("T")

_NVML_ADVICE = (
    "Install the NVIDIA driver (it provides libnvidia-ml.so.1) and check `nvidia-smi`, or set "
    "gpu_allocation.inventory: simulated with a topology file for a machine without GPUs."
)
_RM_MISMATCH_ADVICE = (
    "The NVIDIA driver was upgraded but the old kernel module is still loaded: reboot, or stop every GPU "
    "process and reload the modules (`rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && modprobe nvidia`)."
)
_UNKNOWN_ADVICE = (
    "Check `nvidia-smi` and `dmesg` for Xid errors; a GPU reset (`nvidia-smi -r`), reloading the driver or "
    "a reboot is usually needed."
)
_PERMISSION_ADVICE = (
    "Run ds01 as root (or through its sudo rule); NVML needs read access to /dev/nvidiactl and /dev/nvidia*."
)

# How long ds01 waits between the two GPM samples of a MIG activity reading (GPM reports rates).
GPM_INTERVAL_S = 0.5
# A device counts as busy from this many percent of activity (utilisation or GPM graphics activity).
BUSY_PERCENT = 1.0


class _DeviceError(Exception):
    """One device (or one query of it) answered an error that concerns only that device: GPU lost,
    unknown error, no permission, insufficient power, IRQ issue, reset required... The caller marks
    that GPU unusable, or degrades that one reading, with a warning naming the GPU."""


def _text(value: Any) -> str:
    # Older bindings return bytes for names and UUIDs; newer ones str (nvmlDeviceGetUUID still bytes).
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _library_errors() -> tuple[type[BaseException], ...]:
    import pynvml

    return (pynvml.NVMLError_LibraryNotFound, pynvml.NVMLError_DriverNotLoaded, pynvml.NVMLError_Uninitialized)


def _call(
    fn: Callable[..., T],
    *args: Any,
    default: Any = None,
    optional: bool = False,
    soft: bool = False,
    newer: bool = False,
) -> T:
    """Every NVML call goes through here: NVMLError becomes a typed result or a clear error.

    - library missing / driver not loaded / kernel-module mismatch -> GpuLibraryError (exit 6)
    - an error about one device (lost, unknown, no permission, power, IRQ, ...) -> _DeviceError,
      or ``default`` when ``soft``
    - not supported / not found when ``optional`` -> ``default``
    - the entry point missing from an older driver when ``newer`` -> ``default``
    """
    import pynvml

    try:
        return fn(*args)
    except pynvml.NVMLLibraryMismatchError as exc:  # a plain Exception since 12.570
        raise GpuLibraryError(
            f"nvidia-ml-py does not match the installed NVIDIA driver ({exc}).",
            hint="Install an nvidia-ml-py version matching the driver (pip install -U nvidia-ml-py).",
        ) from exc
    except pynvml.NVMLError as exc:
        if isinstance(exc, _library_errors()):
            raise GpuLibraryError(f"Cannot use NVML: {exc}.", hint=_NVML_ADVICE) from exc
        if isinstance(exc, pynvml.NVMLError_LibRmVersionMismatch):
            raise GpuLibraryError(f"Cannot use NVML: {exc}.", hint=_RM_MISMATCH_ADVICE) from exc
        missing = (pynvml.NVMLError_NotSupported, pynvml.NVMLError_NotFound, pynvml.NVMLError_InvalidArgument)
        if optional and isinstance(exc, missing):
            return default
        if newer and isinstance(exc, pynvml.NVMLError_FunctionNotFound):
            return default
        if isinstance(exc, pynvml.NVMLError_FunctionNotFound):
            raise GpuLibraryError(
                f"NVML call {getattr(fn, '__name__', fn)} failed: {exc}.",
                hint="Install an nvidia-ml-py version matching the driver, or a newer driver.",
            ) from exc
        if soft:
            return default
        raise _DeviceError(str(exc)) from exc


def _init() -> None:
    """Start NVML; every failure here is about the whole library: exit 6 with the matching advice."""
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLLibraryMismatchError as exc:
        raise GpuLibraryError(
            f"nvidia-ml-py does not match the installed NVIDIA driver ({exc}).",
            hint="Install an nvidia-ml-py version matching the driver.",
        ) from exc
    except pynvml.NVMLError as exc:
        if isinstance(exc, pynvml.NVMLError_LibRmVersionMismatch):
            hint = _RM_MISMATCH_ADVICE
        elif isinstance(exc, pynvml.NVMLError_NoPermission):
            hint = _PERMISSION_ADVICE
        elif isinstance(exc, _library_errors()):
            hint = _NVML_ADVICE
        else:  # UNKNOWN, GPU lost during init, IRQ, ...: the driver is loaded but unwell
            hint = _UNKNOWN_ADVICE
        raise GpuLibraryError(f"Cannot use NVML: {exc}.", hint=hint) from exc


def _shutdown() -> None:
    import pynvml

    try:
        pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        pass


# -- MIG profiles -------------------------------------------------------------------------------

_PROFILE_RE = re.compile(r"((?:\d+c\.)?\d+g\.\d+gb(?:[+-][a-z]+(?:\.[a-z]+)?)?)", re.IGNORECASE)


def _suffixes() -> dict[int, str]:
    """GPU-instance profile id -> the profile name's suffix (media extensions, graphics)."""
    import pynvml

    table = {
        "1_SLICE_REV1": "+me",
        "2_SLICE_REV1": "+me",
        "1_SLICE_GFX": "+gfx",
        "2_SLICE_GFX": "+gfx",
        "3_SLICE_GFX": "+gfx",
        "4_SLICE_GFX": "+gfx",
        "1_SLICE_NO_ME": "-me",
        "2_SLICE_NO_ME": "-me",
        "1_SLICE_ALL_ME": "+me.all",
        "2_SLICE_ALL_ME": "+me.all",
    }
    out = {}
    for name, suffix in table.items():
        pid = getattr(pynvml, f"NVML_GPU_INSTANCE_PROFILE_{name}", None)
        if pid is not None:
            out[int(pid)] = suffix
    return out


def mig_memory_gb(memory_bytes: int, gpu_memory_bytes: int) -> int:
    """The GB figure in a MIG profile name: the instance's share of the GPU's memory rounded up to
    eighths (memory slices), times the GPU's memory in whole GB (a 40192 MiB slice of an 80 GB GPU is
    "40gb", not 39). Without the GPU's size: the MiB figure rounded up to GiB."""
    if gpu_memory_bytes <= 0:
        return max(1, -(-memory_bytes // 1024**3))
    eighths = -(-memory_bytes * 8 // gpu_memory_bytes)
    total_gb = -(-gpu_memory_bytes // 1024**3)
    return max(1, round(eighths * total_gb / 8))


def mig_profile(gi_slices: int, ci_slices: int, memory_bytes: int, gpu_memory_bytes: int, suffix: str = "") -> str:
    """A MIG profile name from NVML's attributes: ``3g.40gb``, or ``1c.3g.40gb`` for a compute
    instance smaller than its GPU instance, plus a suffix such as ``+me``."""
    gb = mig_memory_gb(memory_bytes, gpu_memory_bytes)
    base = f"{gi_slices}g.{gb}gb" if ci_slices in (0, gi_slices) else f"{ci_slices}c.{gi_slices}g.{gb}gb"
    return base + suffix


def profile_name(device_name: str, memory_bytes: int, gpu_memory_bytes: int) -> str:
    """The MIG profile of an instance from its NVML name ("… MIG 3g.40gb"), else estimated from memory."""
    m = _PROFILE_RE.search(device_name)
    if m:
        return m.group(1).lower()
    gb = mig_memory_gb(memory_bytes, gpu_memory_bytes)
    # A100/H100 have 7 compute slices (8 memory slices); estimate the compute slices from memory.
    slices = max(1, min(7, round(7 * memory_bytes / gpu_memory_bytes))) if gpu_memory_bytes else 1
    return f"{slices}g.{gb}gb"


def _read_profile(handle: Any, mig: Any, gi: int, memory_bytes: int, gpu_memory_bytes: int) -> str:
    """Attributes (slice counts) and the GPU instance's profile id first, as NVML's own tools do;
    the device name, then the memory, when the driver does not say."""
    import pynvml

    name = _text(_call(pynvml.nvmlDeviceGetName, mig, optional=True, soft=True, default=""))
    from_name = _PROFILE_RE.search(name)
    attrs = _call(pynvml.nvmlDeviceGetAttributes, mig, optional=True, soft=True, newer=True)
    if attrs is None or not attrs.gpuInstanceSliceCount:
        return profile_name(name, memory_bytes, gpu_memory_bytes)
    suffix = ""
    gi_handle = _call(pynvml.nvmlDeviceGetGpuInstanceById, handle, gi, optional=True, soft=True, newer=True)
    info = _call(pynvml.nvmlGpuInstanceGetInfo, gi_handle, optional=True, soft=True, newer=True) if gi_handle else None
    if info is not None:
        suffix = _suffixes().get(int(info.profileId), "")
    elif from_name:  # the GI profile is privileged on some drivers: the name still carries the suffix
        sm = re.search(r"gb([+-][a-z]+(?:\.[a-z]+)?)$", from_name.group(1).lower())
        suffix = sm.group(1) if sm else ""
    size = int(attrs.memorySizeMB) * 1024**2 or memory_bytes
    return mig_profile(
        int(attrs.gpuInstanceSliceCount), int(attrs.computeInstanceSliceCount), size, gpu_memory_bytes, suffix
    )


# -- devices ------------------------------------------------------------------------------------


def _mig_handles(handle: Any) -> list[Any]:
    """The MIG device handles of a GPU in MIG mode (empty positions answer NOT_FOUND)."""
    import pynvml

    count = _call(pynvml.nvmlDeviceGetMaxMigDeviceCount, handle, optional=True, default=0)
    found = []
    for m in range(count or 0):
        mig = _call(pynvml.nvmlDeviceGetMigDeviceHandleByIndex, handle, m, optional=True)
        if mig is not None:
            found.append(mig)
    return found


def _mig_mode(handle: Any) -> tuple[bool, bool]:
    import pynvml

    # Boards without MIG answer NOT_SUPPORTED: MIG off.
    modes = _call(pynvml.nvmlDeviceGetMigMode, handle, optional=True, default=None)
    if modes is None:
        return False, False
    return modes[0] == pynvml.NVML_DEVICE_MIG_ENABLE, modes[1] == pynvml.NVML_DEVICE_MIG_ENABLE


def _read_gpu(index: int, notes: list[str]) -> Gpu:
    import pynvml

    handle = _call(pynvml.nvmlDeviceGetHandleByIndex, index)
    name = _text(_call(pynvml.nvmlDeviceGetName, handle))
    uuid = _text(_call(pynvml.nvmlDeviceGetUUID, handle))
    current, pending = _mig_mode(handle)
    # On a MIG GPU the whole-device memory view is an aggregate that may need privilege.
    mem = _call(pynvml.nvmlDeviceGetMemoryInfo, handle, soft=current)
    if mem is None:
        notes.append(
            f"GPU {index} ({uuid}): NVML refused its whole-GPU memory view (MIG aggregate); "
            "its total and used memory are not shown."
        )
    total = int(mem.total) if mem is not None else 0
    cc = _call(pynvml.nvmlDeviceGetCudaComputeCapability, handle, optional=True, soft=True)
    instances: list[MigInstance] = []
    if current:
        for mig in _mig_handles(handle):
            mig_uuid = _text(_call(pynvml.nvmlDeviceGetUUID, mig))
            mig_mem = _call(pynvml.nvmlDeviceGetMemoryInfo, mig)
            gi = int(_call(pynvml.nvmlDeviceGetGpuInstanceId, mig))
            instances.append(
                MigInstance(
                    index=len(instances),
                    gpu_instance_id=gi,
                    compute_instance_id=int(_call(pynvml.nvmlDeviceGetComputeInstanceId, mig)),
                    profile=_read_profile(handle, mig, gi, int(mig_mem.total), total),
                    uuid=mig_uuid,
                    memory_bytes=int(mig_mem.total),
                )
            )
        per_gi: dict[int, int] = {}
        for inst in instances:
            per_gi[inst.gpu_instance_id] = per_gi.get(inst.gpu_instance_id, 0) + 1
        instances = [replace(i, shares_memory=per_gi[i.gpu_instance_id]) for i in instances]
    return Gpu(
        index=index,
        uuid=uuid,
        name=name,
        memory_bytes=total,
        memory_used_bytes=int(mem.used) if mem is not None else 0,
        mig_current=current,
        mig_pending=pending,
        instances=tuple(instances),
        compute_capability=(int(cc[0]), int(cc[1])) if cc else None,
    )


def _each_gpu(read: Callable[[int], T], unreadable: Callable[[int, _DeviceError], T | None]) -> list[T]:
    """``read(index)`` for every GPU NVML counts, in index order, in one NVML session. A GPU whose
    reading fails with a device error gives ``unreadable(index, error)`` instead (None: left
    out); NVML failing to count the GPUs raises GpuLibraryError."""
    import pynvml

    _init()
    try:
        out: list[T] = []
        for index in range(_call(pynvml.nvmlDeviceGetCount)):
            try:
                out.append(read(index))
            except _DeviceError as exc:
                instead = unreadable(index, exc)
                if instead is not None:
                    out.append(instead)
        return out
    except _DeviceError as exc:
        raise GpuLibraryError(f"NVML could not count the GPUs: {exc}.", hint=_UNKNOWN_ADVICE) from exc
    finally:
        _shutdown()


def _scan_gpus() -> tuple[list[Gpu], list[str]]:
    notes: list[str] = []
    gpus = _each_gpu(
        lambda index: _read_gpu(index, notes),
        lambda index, exc: Gpu(index=index, uuid="", name="(unreadable)", memory_bytes=0, lost=True, problem=str(exc)),
    )
    return gpus, notes


def nvml_gpus() -> list[Gpu]:
    """Every GPU NVML reports. One that cannot be read comes back with ``lost=True``, the reason in
    ``problem`` (and no slot); the others are read normally."""
    return _scan_gpus()[0]


def _procs_of(handle: Any) -> list[Any]:
    import pynvml

    try:
        return list(_call(pynvml.nvmlDeviceGetComputeRunningProcesses, handle, optional=True, default=[]))
    except GpuLibraryError:
        # Older drivers lack the _v3 entry point the unversioned call uses; _v2 is the fallback.
        return list(_call(pynvml.nvmlDeviceGetComputeRunningProcesses_v2, handle, optional=True, default=[]))


def _gpu_processes(index: int, handle: Any, warnings: list[str]) -> list[GpuProcess]:
    """The compute processes of one GPU, each under the device it runs on. In MIG mode the GPU's own
    list is the aggregate of its instances, so only the instances are asked (each PID once, under its
    MIG UUID); the aggregate, mapped by GPU/compute instance id, only stands in for an instance
    whose own list is refused."""
    import pynvml

    uuid = _text(_call(pynvml.nvmlDeviceGetUUID, handle))
    current, _ = _mig_mode(handle)
    if not current:
        return [GpuProcess(int(p.pid), _used(p), uuid) for p in _procs_of(handle)]
    found: list[GpuProcess] = []
    refused: dict[tuple[int, int], str] = {}
    for mig in _mig_handles(handle):
        mig_uuid = _text(_call(pynvml.nvmlDeviceGetUUID, mig))
        try:
            found.extend(GpuProcess(int(p.pid), _used(p), mig_uuid) for p in _procs_of(mig))
        except _DeviceError as exc:
            gi = _call(pynvml.nvmlDeviceGetGpuInstanceId, mig, soft=True)
            ci = _call(pynvml.nvmlDeviceGetComputeInstanceId, mig, soft=True)
            refused[(gi, ci)] = mig_uuid
            warnings.append(f"GPU {index}: NVML refused the process list of MIG device {mig_uuid} ({exc}).")
    if refused:
        try:
            for p in _procs_of(handle):
                key = (getattr(p, "gpuInstanceId", None), getattr(p, "computeInstanceId", None))
                if key in refused:
                    found.append(GpuProcess(int(p.pid), _used(p), refused[key]))
        except _DeviceError as exc:
            warnings.append(
                f"GPU {index} ({uuid}): NVML refused its MIG process list too ({exc}); "
                "processes on those MIG devices are not shown."
            )
    return found


def _used(p: Any) -> int | None:
    used = getattr(p, "usedGpuMemory", None)
    return None if used is None else int(used)


def nvml_process_scan() -> tuple[list[GpuProcess], list[str]]:
    """Compute processes on every GPU and MIG device (host PIDs, each once, under the device it runs
    on), and a warning naming each GPU whose processes could not be read."""
    import pynvml

    warnings: list[str] = []

    def read(index: int) -> list[GpuProcess]:
        return _gpu_processes(index, _call(pynvml.nvmlDeviceGetHandleByIndex, index), warnings)

    def unreadable(index: int, exc: _DeviceError) -> None:
        warnings.append(f"GPU {index}: cannot list its processes ({exc}).")

    seen: set[tuple[int, str]] = set()
    unique = []
    for p in (p for found in _each_gpu(read, unreadable) for p in found):
        if (p.pid, p.device_uuid) not in seen:
            seen.add((p.pid, p.device_uuid))
            unique.append(p)
    return unique, warnings


def nvml_processes() -> list[GpuProcess]:
    """Compute processes on every GPU and MIG device (host PIDs), for `container stats`."""
    return nvml_process_scan()[0]


# -- activity (NVML) ----------------------------------------------------------------------------


def _gib(n: int) -> str:
    return f"{n / 1024**3:.1f} GiB"


def _process_activity(uuid: str, handle: Any) -> SlotActivity:
    """A MIG slice without GPM: busy while compute processes run on it (their memory as detail)."""
    try:
        procs = _procs_of(handle)
    except (_DeviceError, GpuLibraryError) as exc:
        return SlotActivity(uuid, None, "unavailable", f"process list refused ({exc})")
    if not procs:
        return SlotActivity(uuid, False, "processes", "no processes")
    used = sum(_used(p) or 0 for p in procs)
    return SlotActivity(uuid, True, "processes", f"{len(procs)} process(es), {_gib(used)}")


def _utilization_activity(uuid: str, handle: Any) -> SlotActivity:
    """A whole GPU: NVML's utilisation over its last sample period; processes when that is refused."""
    import pynvml

    try:
        util = _call(pynvml.nvmlDeviceGetUtilizationRates, handle, optional=True, newer=True)
    except _DeviceError:
        util = None
    if util is None:
        return _process_activity(uuid, handle)
    pct = int(util.gpu)
    return SlotActivity(uuid, pct >= BUSY_PERCENT, "utilization", f"{pct}% GPU, {int(util.memory)}% memory bandwidth")


def _gpm_supported(handle: Any) -> bool:
    import pynvml

    support = _call(pynvml.nvmlGpmQueryDeviceSupport, handle, optional=True, soft=True, newer=True)
    return bool(support is not None and support.isSupportedDevice)


def _gpm_sample(handle: Any, gi: int) -> Any:
    """One GPM sample of GPU instance ``gi`` (None when it cannot be taken; freed by the caller)."""
    import pynvml

    sample = _call(pynvml.nvmlGpmSampleAlloc, optional=True, soft=True, newer=True)
    if sample is None:
        return None
    if _call(pynvml.nvmlGpmMigSampleGet, handle, gi, sample, optional=True, soft=True, newer=True) is None:
        _call(pynvml.nvmlGpmSampleFree, sample, optional=True, soft=True, newer=True)
        return None
    return sample


def _gpm_percent(first: Any, second: Any) -> float | None:
    """GPM graphics/compute activity (percent of time any kernel ran) between two samples."""
    import pynvml

    request = pynvml.c_nvmlGpmMetricsGet_t()
    request.version = pynvml.NVML_GPM_METRICS_GET_VERSION
    request.numMetrics = 1
    request.sample1 = first
    request.sample2 = second
    request.metrics[0].metricId = pynvml.NVML_GPM_METRIC_GRAPHICS_UTIL
    if _call(pynvml.nvmlGpmMetricsGet, request, optional=True, soft=True, newer=True) is None:
        return None
    if request.metrics[0].nvmlReturn != pynvml.NVML_SUCCESS:
        return None
    return float(request.metrics[0].value)


def nvml_gpm_support() -> dict[str, bool]:
    """Per GPU UUID: whether NVML GPM (per-MIG activity) is supported; GPUs that cannot be read are left out."""
    import pynvml

    def read(index: int) -> tuple[str, bool]:
        handle = _call(pynvml.nvmlDeviceGetHandleByIndex, index)
        return _text(_call(pynvml.nvmlDeviceGetUUID, handle)), _gpm_supported(handle)

    return dict(_each_gpu(read, lambda _index, _exc: None))


def nvml_activity(inventory: Inventory, *, interval: float | None = None) -> dict[str, SlotActivity]:
    """Per slot UUID of an NVML inventory: is the device doing work now, and the evidence.

    Whole GPUs: NVML utilisation ("utilization"). MIG slices: utilisation is not supported on MIG and
    is never read; GPM activity of the slice's GPU instance where the GPU supports GPM ("gpm", two
    samples ``interval`` seconds apart; compute instances sharing a GPU instance share the reading),
    else the slice's own compute processes ("processes"). ``busy`` is None ("unavailable") when
    nothing could be measured: a GPU that cannot be read, a refused query, a changed device.
    """
    import time

    import pynvml

    wait = GPM_INTERVAL_S if interval is None else interval
    out: dict[str, SlotActivity] = {}
    for slot in inventory.slots:
        out[slot.uuid] = SlotActivity(slot.uuid, None, "unavailable", "not measured")
    _init()
    # (gpu index, handle, gpu instance id) -> first sample; slot uuid -> its GPU instance key
    gpm_first: dict[tuple[int, int], tuple[Any, Any]] = {}
    gpm_slots: dict[str, tuple[int, int]] = {}
    try:
        for gpu in inventory.gpus:
            slots = [s for s in inventory.slots if s.gpu_index == gpu.index]
            if not slots:
                continue
            try:
                handle = _call(pynvml.nvmlDeviceGetHandleByIndex, gpu.index)
                if _text(_call(pynvml.nvmlDeviceGetUUID, handle)) != gpu.uuid:
                    for s in slots:
                        out[s.uuid] = SlotActivity(
                            s.uuid, None, "unavailable", f"GPU {gpu.index} is no longer {gpu.uuid}"
                        )
                    continue
                if not gpu.mig_current:
                    for s in slots:
                        out[s.uuid] = _utilization_activity(s.uuid, handle)
                    continue
                migs = {_text(_call(pynvml.nvmlDeviceGetUUID, m)): m for m in _mig_handles(handle)}
                gpm = _gpm_supported(handle)
                by_uuid = {i.uuid: i for i in gpu.instances}
                for s in slots:
                    mig = migs.get(s.uuid)
                    if mig is None:
                        out[s.uuid] = SlotActivity(
                            s.uuid, None, "unavailable", f"MIG device {s.id} is gone from GPU {gpu.index}"
                        )
                        continue
                    inst = by_uuid.get(s.uuid)
                    if gpm and inst is not None:
                        key = (gpu.index, inst.gpu_instance_id)
                        if key not in gpm_first:
                            first = _gpm_sample(handle, inst.gpu_instance_id)
                            if first is not None:
                                gpm_first[key] = (handle, first)
                        if key in gpm_first:
                            gpm_slots[s.uuid] = key
                            continue
                    out[s.uuid] = _process_activity(s.uuid, mig)
            except _DeviceError as exc:
                for s in slots:
                    out[s.uuid] = SlotActivity(s.uuid, None, "unavailable", f"GPU {gpu.index}: {exc}")
        if gpm_first:
            time.sleep(wait)
            percent: dict[tuple[int, int], float | None] = {}
            for key, (handle, first) in gpm_first.items():
                second = _gpm_sample(handle, key[1])
                percent[key] = None if second is None else _gpm_percent(first, second)
                for sample in (first, second):
                    if sample is not None:
                        _call(pynvml.nvmlGpmSampleFree, sample, optional=True, soft=True, newer=True)
            for uuid, key in gpm_slots.items():
                pct = percent[key]
                if pct is None:
                    out[uuid] = SlotActivity(uuid, None, "unavailable", "GPM reading failed")
                else:
                    out[uuid] = SlotActivity(
                        uuid, pct >= BUSY_PERCENT, "gpm", f"{pct:.0f}% active (GPU instance {key[1]})"
                    )
        return out
    finally:
        _shutdown()


# -- simulated backend ----------------------------------------------------------------------


def _stable_uuid(prefix: str, *parts: object) -> str:
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return f"{prefix}-{_uuid.UUID(bytes=digest[:16])}"


def simulated_gpus(path: Path) -> list[Gpu]:
    """GPUs described by a topology YAML file (SPEC §4); UUIDs derived stably from the file's name.
    The file is read by ``limits.topology``; any problem with it is a ConfigError naming the first."""
    from ds01.limits.topology import MIG_PROFILE_RE, simulated_topology

    topology = simulated_topology(path)
    topo = path.stem
    gpus: list[Gpu] = []
    for entry in topology.gpus:
        i = entry.index
        instances = []
        for m, prof in enumerate(entry.mig or ()):
            pm = MIG_PROFILE_RE.match(prof)
            assert pm is not None  # read_topology reported any other profile
            instances.append(
                MigInstance(
                    index=m,
                    gpu_instance_id=m,
                    compute_instance_id=0,
                    profile=prof.lower(),
                    uuid=_stable_uuid("MIG", topo, i, m, prof),
                    memory_bytes=int(pm.group(2)) * 1024**3,
                )
            )
        mig_on = entry.mig is not None
        gpus.append(
            Gpu(
                index=i,
                uuid=entry.uuid or _stable_uuid("GPU", topo, i),
                name=entry.name,
                memory_bytes=entry.memory_bytes,
                mig_current=mig_on,
                mig_pending=(not mig_on) if entry.mig_pending else mig_on,
                instances=tuple(instances),
                compute_capability=entry.compute_capability,
                lost=entry.lost,
            )
        )
    return gpus


def load(backend: str = "nvml", topology: Path | None = None, *, enable_mig: bool = True) -> Inventory:
    """The inventory of this machine (``nvml``) or of a topology file (``simulated``)."""
    if backend == "simulated":
        if topology is None:
            from ds01.limits.topology import NO_TOPOLOGY

            raise ConfigError(NO_TOPOLOGY)
        gpus = simulated_gpus(topology)
        notes: list[str] = []
    elif backend == "nvml":
        gpus, notes = _scan_gpus()
    else:
        raise ConfigError(f"Unknown gpu_allocation.inventory {backend!r}; use nvml or simulated.")
    slots, warnings = slots_of(tuple(gpus), enable_mig=enable_mig)
    return Inventory(backend=backend, gpus=tuple(gpus), slots=slots, warnings=tuple(notes) + warnings)


# -- activity -----------------------------------------------------------------------------------

SIMULATED_ACTIVITY_FILE = "simulated-gpu-activity.json"


def _simulated_busy(topology: Path, state_dir: Path | None) -> set[str]:
    """Slot ids or UUIDs marked busy: the topology's ``busy:`` list and, when present, the JSON
    file ``simulated-gpu-activity.json`` (``{"busy": [...]}``) in ds01's state folder."""
    import json

    from ds01.limits.topology import problem_sentence, read_topology

    topo, problems = read_topology(topology)
    unreadable = [p for p in problems if not p.key]
    if unreadable:
        raise ConfigError(problem_sentence(topology, unreadable[0]))
    busy: set[str] = set(topo.busy)
    if state_dir is not None:
        path = state_dir / SIMULATED_ACTIVITY_FILE
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            doc = {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"Cannot read the simulated GPU activity {path}: {exc}.") from exc
        if isinstance(doc, dict) and isinstance(doc.get("busy"), list):
            busy.update(str(x) for x in doc["busy"])
    return busy


def simulated_activity(inventory: Inventory, topology: Path, state_dir: Path | None = None) -> dict[str, SlotActivity]:
    """Per slot UUID of a simulated inventory: busy when its slot id or UUID is marked busy."""
    busy = _simulated_busy(topology, state_dir)
    out: dict[str, SlotActivity] = {}
    for slot in inventory.slots:
        hot = slot.id in busy or slot.uuid in busy
        out[slot.uuid] = SlotActivity(slot.uuid, hot, "simulated", "marked busy" if hot else "marked idle")
    return out
