"""Facts about the GPUs for other services: activity per slot, compute processes, the compute
capability."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ds01.gpu.inputs import inventory
from ds01.gpu.model import GpuProcess, Inventory, SlotActivity

if TYPE_CHECKING:
    from ds01.limits.config import Config


def compute_capability(config: Config) -> tuple[int, int] | None:
    """The compute capability of the first GPU that reports one (the image catalog picks the
    framework build's architecture from it); None when no GPU says."""
    for gpu in inventory(config).gpus:
        if gpu.compute_capability is not None and not gpu.lost:
            return gpu.compute_capability
    return None


def gpu_processes(config: Config) -> list[GpuProcess]:
    """Compute processes on every GPU and MIG device (host PIDs); none on a simulated inventory."""
    if config.gpu_allocation.inventory != "nvml":
        return []
    from ds01.gpu import inventory as _inventory

    return _inventory.nvml_processes()


def slot_activity(config: Config, inv: Inventory) -> dict[str, SlotActivity]:
    """Whether each slot's device is busy now, keyed by device UUID (``SlotActivity``).

    Simulated inventories read the topology's ``busy`` list and the activity file in the state
    folder; NVML inventories ask the driver (utilisation for whole GPUs, GPM or the instance's
    processes for MIG). A backend that cannot say gives ``busy=None``: callers never read that
    as idle.
    """
    from ds01 import paths
    from ds01.gpu import inventory as _inventory

    if config.gpu_allocation.inventory == "simulated":
        topology = config.gpu_allocation.topology
        if topology is None:
            return {s.uuid: SlotActivity(s.uuid, None, "unavailable", "no topology") for s in inv.slots}
        return _inventory.simulated_activity(inv, topology, paths.state_dir())
    nvml_activity = getattr(_inventory, "nvml_activity", None)
    if nvml_activity is None:
        return {s.uuid: SlotActivity(s.uuid, None, "unavailable", "no activity reader") for s in inv.slots}
    return nvml_activity(inv)
