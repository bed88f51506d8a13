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
from dataclasses import dataclass, field
from typing import Any

import pynvml

GiB = 1024**3


@dataclass
class FakeMig:
    profile: str  # the MIG device name carries it: "NVIDIA A100-SXM4-80GB MIG 3g.40gb"
    memory: int
    gi: int
    ci: int = 0
    uuid: str = ""
    name_supported: bool = True


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


def dgx_a100() -> list[FakeGpu]:
    """8 GPUs: whole, whole with processes, mixed MIG with a gap, 7 x 1g, MIG without instances,
    pending MIG change, lost, and one whose MIG names and compute capability are unsupported."""
    mixed = {0: FakeMig("3g.40gb", 40 * GiB, 2), 1: FakeMig("2g.20gb", 20 * GiB, 3),
             3: FakeMig("1g.10gb", 10 * GiB, 9), 4: FakeMig("1g.10gb", 10 * GiB, 10)}
    sevens = {m: FakeMig("1g.10gb", 10 * GiB, 7 + m) for m in range(7)}
    return [
        FakeGpu(uuid="GPU-00000000-0000-0000-0000-000000000000", used=8 * GiB),
        FakeGpu(uuid="GPU-11111111-1111-1111-1111-111111111111", processes=[(4242, 2 * GiB), (4243, GiB)]),
        FakeGpu(uuid="GPU-22222222-2222-2222-2222-222222222222", mig_current=1, mig_pending=1, migs=mixed),
        FakeGpu(uuid="GPU-33333333-3333-3333-3333-333333333333", mig_current=1, mig_pending=1, migs=sevens),
        FakeGpu(uuid="GPU-44444444-4444-4444-4444-444444444444", mig_current=1, mig_pending=1, migs={}),
        FakeGpu(uuid="GPU-55555555-5555-5555-5555-555555555555", mig_current=0, mig_pending=1),
        FakeGpu(uuid="GPU-66666666-6666-6666-6666-666666666666", lost=True),
        FakeGpu(uuid="GPU-77777777-7777-7777-7777-777777777777", mig_current=1, mig_pending=1, cc=None,
                migs={0: FakeMig("1g.10gb", 10 * GiB, 1, name_supported=False)}),
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
        procs = [] if mig else gpu.processes
        if not procs:
            _put(count, 0)
            return 0
        if array is None or count._obj.value < len(procs):
            _put(count, len(procs))
            return pynvml.NVML_ERROR_INSUFFICIENT_SIZE
        for i, (pid, used) in enumerate(procs):
            array[i].pid, array[i].usedGpuMemory = pid, used
        _put(count, len(procs))
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
