"""A fake NVML library object behind the REAL nvidia-ml-py module.

``install(monkeypatch, devices)`` puts a ``FakeNvmlLib`` where pynvml keeps its loaded
``libnvidia-ml.so.1`` (``pynvml.nvmlLib``). pynvml's own Python wrappers then run
unchanged: they look up the C function by name, call it with ctypes arguments (``byref``
pointers, string buffers, struct arrays) and check the return code; the fake's methods fill
those ctypes objects the way the C library does. A function the fake does not define is
"not found", exactly as with an older driver.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field
from typing import Any

import pynvml

GiB = 1024**3
MiB = 1024**2
# What real A100-80GB / H100-80GB MIG devices report as their memory (nvmlDeviceGetMemoryInfo.total).
REAL_MIB = {
    "1g.10gb": 9728,
    "1g.10gb+me": 9728,
    "1g.20gb": 19968,
    "2g.20gb": 19968,
    "3g.40gb": 40192,
    "4g.40gb": 40192,
    "7g.80gb": 80896,
}
NO_ID = 0xFFFFFFFF  # the instance ids of a process on a GPU without MIG


def real(profile: str) -> int:
    """The memory NVML reports for a MIG profile of an 80 GB board, in bytes."""
    base = profile.split(".", 1)[1] if re.match(r"^\d+c\.", profile) else profile
    return REAL_MIB[base] * MiB


_GI_PROFILE = {1: 0, 2: 1, 3: 2, 4: 3, 7: 4, 8: 5, 6: 6}
_SUFFIX_PROFILE = {
    ("+me", 1): 7,
    ("+me", 2): 8,
    ("+gfx", 1): 10,
    ("+gfx", 2): 11,
    ("+gfx", 4): 12,
    ("-me", 1): 13,
    ("-me", 2): 14,
    ("+me.all", 1): 15,
    ("+me.all", 2): 16,
}


@dataclass
class FakeMig:
    """One MIG device (a compute instance ``ci`` of GPU instance ``gi``)."""

    profile: str  # the MIG device name carries it: "NVIDIA A100-SXM4-80GB MIG 3g.40gb"
    memory: int
    gi: int
    ci: int = 0
    uuid: str = ""
    name_supported: bool = True
    attributes_supported: bool = True
    processes: list[tuple[int, int]] = field(default_factory=list)  # (pid, used bytes) on this instance
    processes_denied: bool = False
    gpm_activity: float = 0.0  # GPM graphics activity of its GPU instance, percent

    def slices(self) -> tuple[int, int, str]:
        """(GPU-instance slices, compute-instance slices, suffix) from the profile name."""
        m = re.match(r"^(?:(\d+)c\.)?(\d+)g\.\d+gb(.*)$", self.profile)
        assert m, self.profile
        g = int(m.group(2))
        return g, int(m.group(1) or g), m.group(3)

    def gi_profile_id(self) -> int:
        g, _, suffix = self.slices()
        return _SUFFIX_PROFILE[(suffix, g)] if suffix else _GI_PROFILE[g]


@dataclass
class FakeGpu:
    name: str = "NVIDIA A100-SXM4-80GB"
    uuid: str = ""
    memory: int = 80 * GiB
    used: int = 0
    mig_current: int = 0
    mig_pending: int = 0
    migs: dict[int, FakeMig] = field(default_factory=dict)  # position -> instance (gaps allowed)
    max_mig: int = 7
    cc: tuple[int, int] | None = (8, 0)
    lost: bool = False
    processes: list[tuple[int, int]] = field(default_factory=list)  # (pid, used bytes)
    handle_error: int = 0  # what nvmlDeviceGetHandleByIndex answers (NO_PERMISSION, INSUFFICIENT_POWER...)
    mig_supported: bool = True  # False: nvmlDeviceGetMigMode answers NOT_SUPPORTED (no MIG on this board)
    aggregate_denied: bool = False  # MIG on: whole-GPU memory and process views answer NO_PERMISSION
    gi_info_denied: bool = False  # nvmlDeviceGetGpuInstanceById answers NO_PERMISSION
    utilization: tuple[int, int] | None = (0, 0)  # (gpu %, memory %); None: NOT_SUPPORTED
    gpm: bool = False  # NVML GPM supported (Hopper and later)


def dgx_a100() -> list[FakeGpu]:
    """8 GPUs: whole, whole with processes, mixed MIG with a gap, 7 x 1g, MIG without instances,
    pending MIG change, lost, and one whose MIG names and compute capability are unsupported."""
    mixed = {
        0: FakeMig("3g.40gb", real("3g.40gb"), 2),
        1: FakeMig("2g.20gb", real("2g.20gb"), 3),
        3: FakeMig("1g.10gb", real("1g.10gb"), 9),
        4: FakeMig("1g.10gb", real("1g.10gb"), 10),
    }
    sevens = {m: FakeMig("1g.10gb", real("1g.10gb"), 7 + m) for m in range(7)}
    return [
        FakeGpu(uuid="GPU-00000000-0000-0000-0000-000000000000", used=8 * GiB),
        FakeGpu(uuid="GPU-11111111-1111-1111-1111-111111111111", processes=[(4242, 2 * GiB), (4243, GiB)]),
        FakeGpu(uuid="GPU-22222222-2222-2222-2222-222222222222", mig_current=1, mig_pending=1, migs=mixed),
        FakeGpu(uuid="GPU-33333333-3333-3333-3333-333333333333", mig_current=1, mig_pending=1, migs=sevens),
        FakeGpu(uuid="GPU-44444444-4444-4444-4444-444444444444", mig_current=1, mig_pending=1, migs={}),
        FakeGpu(uuid="GPU-55555555-5555-5555-5555-555555555555", mig_current=0, mig_pending=1),
        FakeGpu(uuid="GPU-66666666-6666-6666-6666-666666666666", lost=True),
        FakeGpu(
            uuid="GPU-77777777-7777-7777-7777-777777777777",
            mig_current=1,
            mig_pending=1,
            cc=None,
            migs={0: FakeMig("1g.10gb", real("1g.10gb"), 1, name_supported=False, attributes_supported=False)},
        ),
    ]


def h100_shared() -> list[FakeGpu]:
    """An H100 (GPM, no permission for whole-GPU views) with a 3g GPU instance split into two
    compute instances (1c.3g and 2c.3g, one shared memory), a +me slice and a plain 2g."""
    shared = real("3g.40gb")
    return [
        FakeGpu(
            name="NVIDIA H100 80GB HBM3",
            uuid="GPU-hhhhhhhh-0000-0000-0000-000000000000",
            cc=(9, 0),
            mig_current=1,
            mig_pending=1,
            aggregate_denied=True,
            gpm=True,
            utilization=None,
            migs={
                0: FakeMig("1c.3g.40gb", shared, 1, ci=0, processes=[(5001, 3 * GiB)], gpm_activity=42.0),
                1: FakeMig("2c.3g.40gb", shared, 1, ci=1),
                2: FakeMig("1g.10gb+me", real("1g.10gb+me"), 9),
                3: FakeMig("2g.20gb", real("2g.20gb"), 5, processes=[(5002, GiB)]),
            },
        )
    ]


def _addr(handle: Any) -> int:
    return ctypes.cast(handle, ctypes.c_void_p).value or 0


def _set_handle(ref: Any, value: int) -> None:
    target = ref._obj
    ctypes.memmove(ctypes.addressof(target), ctypes.byref(ctypes.c_void_p(value)), ctypes.sizeof(ctypes.c_void_p))


def _put(ref: Any, value: int) -> None:
    ref._obj.value = value


class FakeNvmlLib:
    """The C entry points nvidia-ml-py looks up, as Python callables over ctypes arguments."""

    def __init__(self, gpus: list[FakeGpu], *, init_error: int = 0, without: tuple[str, ...] = ()):
        self.gpus = gpus
        self.init_error = init_error
        self.calls: list[str] = []
        self.samples: dict[int, tuple[int, int] | None] = {}  # GPM sample address -> (gpu, gpu instance)
        self.freed: list[int] = []
        for i, g in enumerate(gpus):
            g.uuid = g.uuid or f"GPU-fake-{i}"
            for m, inst in g.migs.items():
                inst.uuid = inst.uuid or f"MIG-{g.uuid[4:12]}-{m:04d}-0000-0000-000000000000"
        for name in without:
            setattr(self, name, None)

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if name.startswith("nvml"):
            if value is None:
                raise AttributeError(name)  # pynvml turns this into FUNCTION_NOT_FOUND
            object.__getattribute__(self, "calls").append(name)
        return value

    # handles: GPU i -> 0x1000*(i+1); its MIG position m -> + m + 1
    def _device(self, handle: Any) -> tuple[FakeGpu, FakeMig | None]:
        a = _addr(handle)
        gpu = self.gpus[a // 0x1000 - 1]
        m = a % 0x1000
        return gpu, (gpu.migs[m - 1] if m else None)

    def nvmlInitWithFlags(self, flags: int) -> int:
        return self.init_error

    def nvmlShutdown(self) -> int:
        return 0

    def nvmlDeviceGetCount_v2(self, count: Any) -> int:
        _put(count, len(self.gpus))
        return 0

    def nvmlDeviceGetHandleByIndex_v2(self, index: Any, device: Any) -> int:
        i = index.value
        if i >= len(self.gpus):
            return pynvml.NVML_ERROR_INVALID_ARGUMENT
        if self.gpus[i].lost:
            return pynvml.NVML_ERROR_GPU_IS_LOST
        if self.gpus[i].handle_error:
            return self.gpus[i].handle_error
        _set_handle(device, 0x1000 * (i + 1))
        return 0

    def nvmlDeviceGetName(self, handle: Any, buf: Any, size: Any) -> int:
        gpu, mig = self._device(handle)
        if mig is not None:
            if not mig.name_supported:
                return pynvml.NVML_ERROR_NOT_SUPPORTED
            buf.value = f"{gpu.name} MIG {mig.profile}".encode()
        else:
            buf.value = gpu.name.encode()
        return 0

    def nvmlDeviceGetUUID(self, handle: Any, buf: Any, size: Any) -> int:
        gpu, mig = self._device(handle)
        buf.value = (mig.uuid if mig else gpu.uuid).encode()
        return 0

    def nvmlDeviceGetMemoryInfo(self, handle: Any, mem: Any) -> int:
        gpu, mig = self._device(handle)
        if mig is None and gpu.mig_current and gpu.aggregate_denied:
            return pynvml.NVML_ERROR_NO_PERMISSION
        total = mig.memory if mig else gpu.memory
        used = 0 if mig else gpu.used
        mem._obj.total, mem._obj.used, mem._obj.free = total, used, total - used
        return 0

    def nvmlDeviceGetCudaComputeCapability(self, handle: Any, major: Any, minor: Any) -> int:
        gpu, _ = self._device(handle)
        if gpu.cc is None:
            return pynvml.NVML_ERROR_NOT_SUPPORTED
        _put(major, gpu.cc[0])
        _put(minor, gpu.cc[1])
        return 0

    def nvmlDeviceGetMigMode(self, handle: Any, current: Any, pending: Any) -> int:
        gpu, _ = self._device(handle)
        if not gpu.mig_supported:
            return pynvml.NVML_ERROR_NOT_SUPPORTED
        _put(current, gpu.mig_current)
        _put(pending, gpu.mig_pending)
        return 0

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: Any, count: Any) -> int:
        gpu, _ = self._device(handle)
        _put(count, gpu.max_mig)
        return 0

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: Any, index: Any, mig: Any) -> int:
        gpu, _ = self._device(handle)
        m = index.value
        if m not in gpu.migs:
            return pynvml.NVML_ERROR_NOT_FOUND
        _set_handle(mig, _addr(handle) + m + 1)
        return 0

    def nvmlDeviceGetGpuInstanceId(self, handle: Any, out: Any) -> int:
        _, mig = self._device(handle)
        if mig is None:
            return pynvml.NVML_ERROR_INVALID_ARGUMENT
        _put(out, mig.gi)
        return 0

    def nvmlDeviceGetComputeInstanceId(self, handle: Any, out: Any) -> int:
        _, mig = self._device(handle)
        if mig is None:
            return pynvml.NVML_ERROR_INVALID_ARGUMENT
        _put(out, mig.ci)
        return 0

    def _procs(self, handle: Any, count: Any, array: Any) -> int:
        gpu, mig = self._device(handle)
        if mig is not None:
            if mig.processes_denied:
                return pynvml.NVML_ERROR_NO_PERMISSION
            procs = [(pid, used, mig.gi, mig.ci) for pid, used in mig.processes]
        elif gpu.mig_current:
            # the parent of MIG devices answers the aggregate of its instances, with their ids
            if gpu.aggregate_denied:
                return pynvml.NVML_ERROR_NO_PERMISSION
            procs = [(pid, used, m.gi, m.ci) for m in gpu.migs.values() for pid, used in m.processes]
        else:
            procs = [(pid, used, NO_ID, NO_ID) for pid, used in gpu.processes]
        if not procs:
            _put(count, 0)
            return 0
        if array is None or count._obj.value < len(procs):
            _put(count, len(procs))
            return pynvml.NVML_ERROR_INSUFFICIENT_SIZE
        for i, (pid, used, gi, ci) in enumerate(procs):
            array[i].pid, array[i].usedGpuMemory = pid, used
            array[i].gpuInstanceId, array[i].computeInstanceId = gi, ci
        _put(count, len(procs))
        return 0

    def nvmlDeviceGetAttributes_v2(self, handle: Any, attrs: Any) -> int:
        _, mig = self._device(handle)
        if mig is None:
            return pynvml.NVML_ERROR_INVALID_ARGUMENT  # attributes describe MIG devices
        if not mig.attributes_supported:
            return pynvml.NVML_ERROR_NOT_SUPPORTED
        g, c, _ = mig.slices()
        a = attrs._obj
        a.gpuInstanceSliceCount, a.computeInstanceSliceCount = g, c
        a.memorySizeMB = mig.memory // MiB
        a.multiprocessorCount = 14 * c
        return 0

    # GPU instance handles: 0x1000000 + 0x1000 * gpu + gpu instance id
    def nvmlDeviceGetGpuInstanceById(self, handle: Any, gi: int, out: Any) -> int:
        gpu, _ = self._device(handle)
        if gpu.gi_info_denied:
            return pynvml.NVML_ERROR_NO_PERMISSION
        if not any(m.gi == gi for m in gpu.migs.values()):
            return pynvml.NVML_ERROR_NOT_FOUND
        _set_handle(out, 0x1000000 + _addr(handle) + int(gi))
        return 0

    def nvmlGpuInstanceGetInfo(self, gi_handle: Any, info: Any) -> int:
        a = _addr(gi_handle) - 0x1000000
        gpu = self.gpus[a // 0x1000 - 1]
        gi = a % 0x1000
        mig = next(m for m in gpu.migs.values() if m.gi == gi)
        info._obj.id, info._obj.profileId = gi, mig.gi_profile_id()
        return 0

    def nvmlDeviceGetUtilizationRates(self, handle: Any, util: Any) -> int:
        gpu, mig = self._device(handle)
        if mig is not None or gpu.mig_current or gpu.utilization is None:
            return pynvml.NVML_ERROR_NOT_SUPPORTED  # utilisation is not supported on MIG
        util._obj.gpu, util._obj.memory = gpu.utilization
        return 0

    def nvmlGpmQueryDeviceSupport(self, handle: Any, support: Any) -> int:
        gpu, _ = self._device(handle)
        support._obj.isSupportedDevice = 1 if gpu.gpm else 0
        return 0

    def nvmlGpmSampleAlloc(self, ref: Any) -> int:
        addr = 0x2000000 + len(self.samples) + 1
        self.samples[addr] = None
        _set_handle(ref, addr)
        return 0

    def nvmlGpmSampleFree(self, sample: Any) -> int:
        self.freed.append(_addr(sample))
        return 0

    def nvmlGpmMigSampleGet(self, handle: Any, gi: int, sample: Any) -> int:
        gpu, _ = self._device(handle)
        if not gpu.gpm:
            return pynvml.NVML_ERROR_NOT_SUPPORTED
        self.samples[_addr(sample)] = (_addr(handle) // 0x1000 - 1, int(gi))
        return 0

    def nvmlGpmMetricsGet(self, ref: Any) -> int:
        req = ref._obj
        first, second = self.samples.get(_addr(req.sample1)), self.samples.get(_addr(req.sample2))
        if first is None or first != second:
            return pynvml.NVML_ERROR_INVALID_ARGUMENT
        gpu = self.gpus[first[0]]
        mig = next(m for m in gpu.migs.values() if m.gi == first[1])
        for i in range(req.numMetrics):
            metric = req.metrics[i]
            if metric.metricId == pynvml.NVML_GPM_METRIC_GRAPHICS_UTIL:
                metric.value, metric.nvmlReturn = mig.gpm_activity, 0
            else:
                metric.nvmlReturn = pynvml.NVML_ERROR_NOT_SUPPORTED
        return 0

    def nvmlDeviceGetComputeRunningProcesses_v3(self, handle: Any, count: Any, array: Any) -> int:
        return self._procs(handle, count, array)

    def nvmlDeviceGetComputeRunningProcesses_v2(self, handle: Any, count: Any, array: Any) -> int:
        return self._procs(handle, count, array)


def install(monkeypatch: Any, gpus: list[FakeGpu] | None = None, **kw: Any) -> FakeNvmlLib:
    lib = FakeNvmlLib(dgx_a100() if gpus is None else gpus, **kw)
    monkeypatch.setattr(pynvml, "nvmlLib", lib)
    monkeypatch.setattr(pynvml, "_nvmlGetFunctionPointer_cache", {})
    monkeypatch.setattr(pynvml, "_nvmlLib_refcount", 0)
    return lib
