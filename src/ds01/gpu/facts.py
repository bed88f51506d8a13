"""Facts about the GPUs for other services: activity per slot, compute processes, the compute
capability.

The inventory and the model are imported by the functions that use them: a create's
``compute_capabilities`` on a simulated inventory reads only the topology file.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ds01.gpu.model import GpuProcess, Inventory, SlotActivity
    from ds01.limits.config import Config


def compute_capability(config: Config) -> tuple[int, int] | None:
    """The compute capability of the first GPU that reports one (the image catalog picks the
    framework build's architecture from it); None when no GPU says."""
    from ds01.gpu.inputs import inventory

    for gpu in inventory(config).gpus:
        if gpu.compute_capability is not None and not gpu.lost:
            return gpu.compute_capability
    return None


def compute_capabilities(config: Config) -> list[tuple[int, int]]:
    """The compute capabilities that the configured inventory's GPUs report (lost ones too, as
    the inventory's GPUs carry them). A simulated inventory's come from its topology file alone,
    refused as the inventory refuses it; no slot, UUID or model object is made for them."""
    g = config.gpu_allocation
    if g.inventory == "simulated" and g.compute_capabilities is not None:
        return list(g.compute_capabilities)  # read from the topology when the config was validated
    if g.inventory == "simulated":
        from ds01.limits.topology import simulated_topology

        return [gpu.compute_capability for gpu in simulated_topology(g.topology).gpus if gpu.compute_capability]
    from ds01.gpu.inputs import inventory

    return [gpu.compute_capability for gpu in inventory(config).gpus if gpu.compute_capability]


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
    from ds01.gpu.model import SlotActivity

    if config.gpu_allocation.inventory == "simulated":
        topology = config.gpu_allocation.topology
        if topology is None:
            return {s.uuid: SlotActivity(s.uuid, None, "unavailable", "no topology") for s in inv.slots}
        return _inventory.simulated_activity(inv, topology, paths.state_dir())
    nvml_activity = getattr(_inventory, "nvml_activity", None)
    if nvml_activity is None:
        return {s.uuid: SlotActivity(s.uuid, None, "unavailable", "no activity reader") for s in inv.slots}
    return nvml_activity(inv)
