"""Contract tests: ds01's NVML backend against the real nvidia-ml-py module driving a fake
NVML library object (DGX-A100-like: mixed MIG, MIG without instances, pending change, lost GPU)."""

from __future__ import annotations

import pynvml
import pytest
from fake_nvml import FakeGpu, GiB, dgx_a100, install, real

from ds01.errors import GpuLibraryError
from ds01.gpu import inventory


def test_dgx_inventory_through_the_real_binding(monkeypatch):
    install(monkeypatch)
    inv = inventory.load("nvml")
    ids = [s.id for s in inv.slots]
    # MIG slot ids are N:<GPU instance id> (stable), not enumeration positions
    assert ids == ["0", "1", "2:2", "2:3", "2:9", "2:10", *[f"3:{gi}" for gi in range(7, 14)], "5", "7:1"]
    g = {x.index: x for x in inv.gpus}
    assert g[0].uuid == "GPU-00000000-0000-0000-0000-000000000000"  # bytes from nvmlDeviceGetUUID decoded
    assert isinstance(g[0].name, str) and g[0].name == "NVIDIA A100-SXM4-80GB"
    assert g[0].memory_bytes == 80 * GiB and g[0].memory_used_bytes == 8 * GiB
    assert g[0].compute_capability == (8, 0)
    assert g[7].compute_capability is None  # NOT_SUPPORTED -> None, not an error
    # mixed MIG with a gap at position 2: enumeration indices stay dense, GI/CI ids come from NVML
    mixed = g[2].instances
    assert [(i.index, i.profile, i.gpu_instance_id, i.compute_instance_id) for i in mixed] == [
        (0, "3g.40gb", 2, 0),
        (1, "2g.20gb", 3, 0),
        (2, "1g.10gb", 9, 0),
        (3, "1g.10gb", 10, 0),
    ]
    assert all(i.uuid.startswith("MIG-") for i in mixed)
    assert inv.slot("2:3").memory_bytes == real("2g.20gb") and inv.slot("2:3").uuid == mixed[1].uuid
    assert inv.slot("0").profile is None and inv.slot("0").memory_used_percent == pytest.approx(10.0)
    # profile from memory when the MIG device name is not available
    assert g[7].instances[0].profile == "1g.10gb"
    # GPU 4: MIG on, no instances -> no slot, a warning; GPU 5: pending change reported; GPU 6: lost
    text = "\n".join(inv.warnings)
    assert "GPU 4 has MIG enabled but no MIG instances" in text
    assert "GPU 5 has a pending MIG mode change (off -> on)" in text
    assert "GPU 6 is lost" in text
    assert g[5].mig_current is False and g[5].mig_pending is True
    assert g[6].lost and not any(s.gpu_index == 6 for s in inv.slots)


def test_every_nvml_entry_point_the_code_uses_is_exercised(monkeypatch):
    lib = install(monkeypatch)
    inventory.nvml_gpus()
    procs = inventory.nvml_processes()
    assert {(p.pid, p.used_memory_bytes, p.device_uuid) for p in procs} == {
        (4242, 2 * GiB, "GPU-11111111-1111-1111-1111-111111111111"),
        (4243, GiB, "GPU-11111111-1111-1111-1111-111111111111"),
    }
    used = set(lib.calls)
    assert used >= {
        "nvmlInitWithFlags",
        "nvmlShutdown",
        "nvmlDeviceGetCount_v2",
        "nvmlDeviceGetHandleByIndex_v2",
        "nvmlDeviceGetName",
        "nvmlDeviceGetUUID",
        "nvmlDeviceGetMemoryInfo",
        "nvmlDeviceGetCudaComputeCapability",
        "nvmlDeviceGetMigMode",
        "nvmlDeviceGetMaxMigDeviceCount",
        "nvmlDeviceGetMigDeviceHandleByIndex",
        "nvmlDeviceGetGpuInstanceId",
        "nvmlDeviceGetComputeInstanceId",
        "nvmlDeviceGetComputeRunningProcesses_v3",
    }


def test_library_version_mismatch_falls_back_to_v2_processes(monkeypatch):
    # An older driver without the _v3 entry point: pynvml raises the plain-Exception
    # NVMLLibraryMismatchError from the unversioned call; ds01 falls back to _v2.
    lib = install(monkeypatch, without=("nvmlDeviceGetComputeRunningProcesses_v3",))
    with pytest.raises(pynvml.NVMLLibraryMismatchError):
        pynvml.nvmlInit()
        pynvml.nvmlDeviceGetComputeRunningProcesses(pynvml.nvmlDeviceGetHandleByIndex(1))
    procs = inventory.nvml_processes()
    assert len(procs) == 2 and "nvmlDeviceGetComputeRunningProcesses_v2" in lib.calls


def test_version_mismatch_is_exit_6(monkeypatch):
    install(monkeypatch, without=("nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2"))
    with pytest.raises(GpuLibraryError) as err:
        inventory.nvml_processes()
    assert err.value.exit_code == 6


def test_driver_not_loaded_is_exit_6_with_advice(monkeypatch):
    install(monkeypatch, init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    with pytest.raises(GpuLibraryError) as err:
        inventory.load("nvml")
    assert err.value.exit_code == 6
    assert "Driver Not Loaded" in err.value.message and "simulated" in err.value.hint


def test_library_not_found_is_exit_6(monkeypatch):
    def no_library(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(pynvml, "nvmlLib", None)
    monkeypatch.setattr(pynvml, "_nvmlGetFunctionPointer_cache", {})
    monkeypatch.setattr(pynvml, "CDLL", no_library)
    with pytest.raises(GpuLibraryError) as err:
        inventory.load("nvml")
    assert "Shared Library Not Found" in err.value.message


def test_lost_device_count_is_an_error(monkeypatch):
    lib = install(monkeypatch, gpus=[FakeGpu()])
    monkeypatch.setattr(lib, "nvmlDeviceGetCount_v2", lambda count: pynvml.NVML_ERROR_UNKNOWN)
    with pytest.raises(GpuLibraryError):
        inventory.nvml_gpus()


def test_enable_mig_false_offers_no_mig_slot(monkeypatch):
    install(monkeypatch, gpus=dgx_a100()[:3])
    inv = inventory.load("nvml", enable_mig=False)
    assert [s.id for s in inv.slots] == ["0", "1"]
    assert any("enable_mig is false" in w for w in inv.warnings)


def test_text_decodes_bytes_and_keeps_str():
    assert inventory._text(b"GPU-abc") == "GPU-abc"
    assert inventory._text("GPU-abc") == "GPU-abc"


@pytest.mark.parametrize(
    "name,mem,total,expected",
    [
        ("NVIDIA A100-SXM4-80GB MIG 3g.40gb", 40 * GiB, 80 * GiB, "3g.40gb"),
        ("NVIDIA H100 MIG 1g.10gb+me", 10 * GiB, 80 * GiB, "1g.10gb+me"),
        ("", 10 * GiB, 80 * GiB, "1g.10gb"),
        ("", 20 * GiB, 80 * GiB, "2g.20gb"),
    ],
)
def test_profile_name(name, mem, total, expected):
    assert inventory.profile_name(name, mem, total) == expected


def _nvml_config(tmp_path, monkeypatch):
    cfg = tmp_path / "resource-limits.yaml"
    cfg.write_text(
        "defaults: {max_mig_instances: null, priority: 10}\nadmins: [root]\ngpu_allocation: {inventory: nvml}\n"
    )
    monkeypatch.setenv("DS01_CONFIG", str(cfg))
    from ds01.gpu import sync

    monkeypatch.setattr(sync, "_docker_views", lambda listed=None: [])


def test_gpu_commands_on_the_nvml_backend(tmp_path, monkeypatch, cli):
    import json

    install(monkeypatch)
    _nvml_config(tmp_path, monkeypatch)
    status = json.loads(cli("gpu", "status", "--json").stdout)
    assert status["backend"] == "nvml" and len(status["slots"]) == 15
    third = status["slots"][2]
    assert (third["id"], third["profile"], third["gpu_index"]) == ("2:2", "3g.40gb", 2)
    res = cli("gpu", "allocate", "alice", "a._.1000", "1", "10", "--json")
    # GPU 0 has 10% of its memory in use, so the emptier GPU 1 wins the tie (score's memory term)
    assert json.loads(res.stdout)["uuids"] == ["GPU-11111111-1111-1111-1111-111111111111"]


def test_gpu_status_without_driver_exits_6(tmp_path, monkeypatch, cli):
    install(monkeypatch, init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    _nvml_config(tmp_path, monkeypatch)
    res = cli("gpu", "status")
    assert res.exit_code == 6 and "Driver Not Loaded" in res.stderr and "simulated" in res.stderr
