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

T = TypeVar("T")

_NVML_ADVICE = (
    "Install the NVIDIA driver (it provides libnvidia-ml.so.1) and check `nvidia-smi`, or set "
    "gpu_allocation.inventory: simulated with a topology file for a machine without GPUs."
)


class _Lost(Exception):
    """A device answered GPU_IS_LOST / UNKNOWN: skip it with a warning."""


def _text(value: Any) -> str:
    # Older bindings return bytes for names and UUIDs; newer ones str (nvmlDeviceGetUUID still bytes).
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _call(fn: Callable[..., T], *args: Any, default: Any = None, optional: bool = False) -> T:
    """Every NVML call goes through here: NVMLError becomes a typed result or a clear error.

    - library missing / driver not loaded / version mismatch -> GpuLibraryError (exit 6)
    - GPU lost / unknown error -> _Lost (the caller skips that GPU with a warning)
    - not supported / not found when ``optional`` -> ``default``
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
        if isinstance(exc, pynvml.NVMLError_LibraryNotFound | pynvml.NVMLError_DriverNotLoaded):
            raise GpuLibraryError(f"Cannot use NVML: {exc}.", hint=_NVML_ADVICE) from exc
        if isinstance(exc, pynvml.NVMLError_GpuIsLost | pynvml.NVMLError_Unknown):
            raise _Lost(str(exc)) from exc
        if optional and isinstance(exc, pynvml.NVMLError_NotSupported | pynvml.NVMLError_NotFound):
            return default
        if isinstance(exc, pynvml.NVMLError_InvalidArgument) and optional:
            return default
        raise GpuLibraryError(f"NVML call {getattr(fn, '__name__', fn)} failed: {exc}.", hint=_NVML_ADVICE) from exc


_PROFILE_RE = re.compile(r"(\d+g\.\d+gb(?:\+[a-z]+)?)", re.IGNORECASE)


def profile_name(device_name: str, memory_bytes: int, gpu_memory_bytes: int) -> str:
    """The MIG profile of an instance: from its NVML name ("… MIG 3g.40gb"), else from memory."""
    m = _PROFILE_RE.search(device_name)
    if m:
        return m.group(1).lower()
    gb = max(1, round(memory_bytes / 1024**3))
    # A100/H100 have 7 compute slices (8 memory slices); estimate the compute slices from memory.
    slices = max(1, min(7, round(7 * memory_bytes / gpu_memory_bytes))) if gpu_memory_bytes else 1
    return f"{slices}g.{gb}gb"


def _init() -> None:
    import pynvml

    _call(pynvml.nvmlInit)


def _shutdown() -> None:
    import pynvml

    try:
        pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        pass


def _read_gpu(index: int) -> Gpu:
    import pynvml

    handle = _call(pynvml.nvmlDeviceGetHandleByIndex, index)
    name = _text(_call(pynvml.nvmlDeviceGetName, handle))
    uuid = _text(_call(pynvml.nvmlDeviceGetUUID, handle))
    mem = _call(pynvml.nvmlDeviceGetMemoryInfo, handle)
    cc = _call(pynvml.nvmlDeviceGetCudaComputeCapability, handle, optional=True)
    modes = _call(pynvml.nvmlDeviceGetMigMode, handle, optional=True, default=None)
    current = pending = False
    if modes is not None:
        current = modes[0] == pynvml.NVML_DEVICE_MIG_ENABLE
        pending = modes[1] == pynvml.NVML_DEVICE_MIG_ENABLE
    instances: list[MigInstance] = []
    if current:
        count = _call(pynvml.nvmlDeviceGetMaxMigDeviceCount, handle, optional=True, default=0)
        for m in range(count or 0):
            # Empty positions answer NOT_FOUND: instances are enumerated densely from 0.
            mig = _call(pynvml.nvmlDeviceGetMigDeviceHandleByIndex, handle, m, optional=True)
            if mig is None:
                continue
            mig_mem = _call(pynvml.nvmlDeviceGetMemoryInfo, mig)
            mig_name = _text(_call(pynvml.nvmlDeviceGetName, mig, optional=True, default=""))
            instances.append(
                MigInstance(
                    index=len(instances),
                    gpu_instance_id=int(_call(pynvml.nvmlDeviceGetGpuInstanceId, mig)),
                    compute_instance_id=int(_call(pynvml.nvmlDeviceGetComputeInstanceId, mig)),
                    profile=profile_name(mig_name, int(mig_mem.total), int(mem.total)),
                    uuid=_text(_call(pynvml.nvmlDeviceGetUUID, mig)),
                    memory_bytes=int(mig_mem.total),
                )
            )
    return Gpu(
        index=index,
        uuid=uuid,
        name=name,
        memory_bytes=int(mem.total),
        memory_used_bytes=int(mem.used),
        mig_current=current,
        mig_pending=pending,
        instances=tuple(instances),
        compute_capability=(int(cc[0]), int(cc[1])) if cc else None,
    )


def nvml_gpus() -> list[Gpu]:
    """Every GPU NVML reports. A lost GPU comes back with ``lost=True`` (and no slot)."""
    import pynvml

    _init()
    try:
        count = _call(pynvml.nvmlDeviceGetCount)
        gpus = []
        for index in range(count):
            try:
                gpus.append(_read_gpu(index))
            except _Lost:
                gpus.append(Gpu(index=index, uuid="", name="(lost)", memory_bytes=0, lost=True))
        return gpus
    except _Lost as exc:
        raise GpuLibraryError(f"NVML could not read the GPUs: {exc}.", hint=_NVML_ADVICE) from exc
    finally:
        _shutdown()


def nvml_processes() -> list[GpuProcess]:
    """Compute processes on every GPU and MIG device (host PIDs), for `container stats`."""
    import pynvml

    def procs_of(handle: Any) -> list[Any]:
        try:
            return list(_call(pynvml.nvmlDeviceGetComputeRunningProcesses, handle, optional=True, default=[]))
        except GpuLibraryError:
            # Older drivers lack the _v3 entry point the unversioned call uses; _v2 is the fallback.
            return list(_call(pynvml.nvmlDeviceGetComputeRunningProcesses_v2, handle, optional=True, default=[]))

    _init()
    found: list[GpuProcess] = []
    try:
        for index in range(_call(pynvml.nvmlDeviceGetCount)):
            try:
                handle = _call(pynvml.nvmlDeviceGetHandleByIndex, index)
                devices = [handle]
                modes = _call(pynvml.nvmlDeviceGetMigMode, handle, optional=True, default=None)
                if modes is not None and modes[0] == pynvml.NVML_DEVICE_MIG_ENABLE:
                    count = _call(pynvml.nvmlDeviceGetMaxMigDeviceCount, handle, optional=True, default=0)
                    for m in range(count or 0):
                        mig = _call(pynvml.nvmlDeviceGetMigDeviceHandleByIndex, handle, m, optional=True)
                        if mig is not None:
                            devices.append(mig)
                for dev in devices:
                    dev_uuid = _text(_call(pynvml.nvmlDeviceGetUUID, dev))
                    for p in procs_of(dev):
                        used = getattr(p, "usedGpuMemory", None)
                        found.append(GpuProcess(int(p.pid), None if used is None else int(used), dev_uuid))
            except _Lost:
                continue
        return found
    finally:
        _shutdown()


# -- simulated backend ----------------------------------------------------------------------

_MIG_PROFILE_RE = re.compile(r"^(\d+)g\.(\d+)gb$", re.IGNORECASE)


def _stable_uuid(prefix: str, *parts: object) -> str:
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return f"{prefix}-{_uuid.UUID(bytes=digest[:16])}"


def simulated_gpus(path: Path) -> list[Gpu]:
    """GPUs described by a topology YAML file (SPEC §4); UUIDs derived stably from the file's name."""
    import yaml

    from ds01.limits.units import LimitsValueError, parse_size

    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"Cannot read the GPU topology {path}: {exc.strerror}.") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"The GPU topology {path} is not valid YAML: {exc}.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("gpus"), list):
        raise ConfigError(f"The GPU topology {path} must have a `gpus:` list.")
    topo = path.stem
    gpus: list[Gpu] = []
    for i, entry in enumerate(data["gpus"]):
        where = f"{path}: gpus[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a mapping with name, memory and mig.")
        unknown = set(entry) - {"name", "memory", "mig", "uuid", "mig_pending", "lost", "compute_capability"}
        if unknown:
            raise ConfigError(f"{where} has unknown key(s) {', '.join(sorted(unknown))}.")
        name = str(entry.get("name") or "Simulated GPU")
        try:
            memory = parse_size(entry.get("memory", "80g"), key=f"gpus[{i}].memory")
        except LimitsValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        mig = entry.get("mig")
        if mig is not None and not isinstance(mig, list):
            raise ConfigError(f"{where}.mig must be null (MIG off) or a list of profiles such as 3g.40gb.")
        instances = []
        for m, prof in enumerate(mig or []):
            pm = _MIG_PROFILE_RE.match(str(prof))
            if not pm:
                raise ConfigError(f"{where}.mig[{m}] = {prof!r} is not a MIG profile such as 1g.10gb or 3g.40gb.")
            instances.append(
                MigInstance(
                    index=m,
                    gpu_instance_id=m + 1,
                    compute_instance_id=0,
                    profile=str(prof).lower(),
                    uuid=_stable_uuid("MIG", topo, i, m, prof),
                    memory_bytes=int(pm.group(2)) * 1024**3,
                )
            )
        cc = entry.get("compute_capability")
        capability = None
        if cc is not None:
            try:
                major, minor = str(cc).split(".")
                capability = (int(major), int(minor))
            except ValueError as exc:
                raise ConfigError(f"{where}.compute_capability must look like 8.0, not {cc!r}.") from exc
        mig_on = mig is not None
        gpus.append(
            Gpu(
                index=i,
                uuid=str(entry.get("uuid") or _stable_uuid("GPU", topo, i)),
                name=name,
                memory_bytes=memory,
                mig_current=mig_on,
                mig_pending=(not mig_on) if entry.get("mig_pending") else mig_on,
                instances=tuple(instances),
                compute_capability=capability,
                lost=bool(entry.get("lost", False)),
            )
        )
    return gpus


def load(backend: str = "nvml", topology: Path | None = None, *, enable_mig: bool = True) -> Inventory:
    """The inventory of this machine (``nvml``) or of a topology file (``simulated``)."""
    if backend == "simulated":
        if topology is None:
            raise ConfigError("gpu_allocation.inventory is simulated but no gpu_allocation.topology is set.")
        gpus = simulated_gpus(topology)
    elif backend == "nvml":
        gpus = nvml_gpus()
    else:
        raise ConfigError(f"Unknown gpu_allocation.inventory {backend!r}; use nvml or simulated.")
    slots, warnings = slots_of(tuple(gpus), enable_mig=enable_mig)
    return Inventory(backend=backend, gpus=tuple(gpus), slots=slots, warnings=warnings)


# -- activity -----------------------------------------------------------------------------------

SIMULATED_ACTIVITY_FILE = "simulated-gpu-activity.json"


def _simulated_busy(topology: Path, state_dir: Path | None) -> set[str]:
    """Slot ids or UUIDs marked busy: the topology's ``busy:`` list and, when present, the JSON
    file ``simulated-gpu-activity.json`` (``{"busy": [...]}``) in ds01's state folder."""
    import json

    import yaml

    busy: set[str] = set()
    try:
        data = yaml.safe_load(topology.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"Cannot read the GPU topology {topology}: {exc}.") from exc
    listed = data.get("busy") if isinstance(data, dict) else None
    if isinstance(listed, list):
        busy.update(str(x) for x in listed)
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
