"""Contract tests: ds01's NVML backend against the real nvidia-ml-py module driving a fake library
that answers the way real drivers do (MIG aggregates, refused queries, real MIG sizes and profile
names, shared compute instances, GPM, driver errors)."""

from __future__ import annotations

import pynvml
import pytest
from fake_nvml import FakeGpu, FakeMig, GiB, dgx_a100, h100_shared, install, real

from ds01.errors import GpuLibraryError
from ds01.gpu import inventory

# -- 1. processes on MIG slices --------------------------------------------------------------------


def test_mig_processes_are_listed_once_under_their_slice(monkeypatch):
    gpus = [
        FakeGpu(
            uuid="GPU-aaaa",
            mig_current=1,
            mig_pending=1,
            migs={
                0: FakeMig("3g.40gb", real("3g.40gb"), 2, processes=[(11, GiB)]),
                1: FakeMig("3g.40gb", real("3g.40gb"), 1, processes=[(12, 2 * GiB)]),
            },
        )
    ]
    lib = install(monkeypatch, gpus)
    procs = inventory.nvml_processes()
    # the parent's aggregate list (with instance ids) would add both PIDs again under GPU-aaaa
    assert sorted((p.pid, p.device_uuid) for p in procs) == [(11, gpus[0].migs[0].uuid), (12, gpus[0].migs[1].uuid)]
    assert "nvmlDeviceGetComputeRunningProcesses_v3" in lib.calls


def test_refused_slice_list_falls_back_to_the_aggregate_by_instance_ids(monkeypatch):
    gpus = [
        FakeGpu(
            mig_current=1,
            mig_pending=1,
            migs={
                0: FakeMig("3g.40gb", real("3g.40gb"), 2, processes=[(11, GiB)], processes_denied=True),
                1: FakeMig("3g.40gb", real("3g.40gb"), 1, processes=[(12, 2 * GiB)]),
            },
        )
    ]
    install(monkeypatch, gpus)
    procs, warnings = inventory.nvml_process_scan()
    assert sorted((p.pid, p.device_uuid) for p in procs) == [(11, gpus[0].migs[0].uuid), (12, gpus[0].migs[1].uuid)]
    assert warnings and "GPU 0" in warnings[0] and gpus[0].migs[0].uuid in warnings[0]


# -- 2. whole-GPU queries refused on a MIG GPU -------------------------------------------------------


def test_aggregate_no_permission_degrades_with_a_warning(monkeypatch):
    install(monkeypatch, h100_shared())
    inv = inventory.load("nvml")  # used to exit 6 "Install the NVIDIA driver"
    assert [s.id for s in inv.slots] == ["0:1.0", "0:1.1", "0:9", "0:5"]
    assert any("GPU 0" in w and "memory view" in w for w in inv.warnings)
    procs, warnings = inventory.nvml_process_scan()
    assert {p.pid for p in procs} == {5001, 5002} and warnings == []


def test_both_process_views_refused_names_the_gpu(monkeypatch):
    gpus = h100_shared()
    for m in gpus[0].migs.values():
        m.processes_denied = True
    install(monkeypatch, gpus)
    procs, warnings = inventory.nvml_process_scan()
    assert procs == []
    assert any("GPU 0" in w and "refused" in w for w in warnings)


# -- 3. driver errors --------------------------------------------------------------------------------


def test_unknown_error_at_init_is_exit_6_with_advice(monkeypatch):
    install(monkeypatch, init_error=pynvml.NVML_ERROR_UNKNOWN)
    with pytest.raises(GpuLibraryError) as err:
        inventory.load("nvml")
    assert err.value.exit_code == 6 and "Unknown Error" in err.value.message
    assert "dmesg" in err.value.hint and "Install the NVIDIA driver" not in err.value.hint


def test_rm_version_mismatch_advises_reboot_not_install(monkeypatch):
    install(monkeypatch, init_error=pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH)
    with pytest.raises(GpuLibraryError) as err:
        inventory.load("nvml")
    assert err.value.exit_code == 6
    assert "reboot" in err.value.hint and "Install the NVIDIA driver" not in err.value.hint


def test_no_permission_at_init_advises_root(monkeypatch):
    install(monkeypatch, init_error=pynvml.NVML_ERROR_NO_PERMISSION)
    with pytest.raises(GpuLibraryError) as err:
        inventory.load("nvml")
    assert err.value.exit_code == 6 and "/dev/nvidiactl" in err.value.hint


@pytest.mark.parametrize(
    "code,words",
    [
        (pynvml.NVML_ERROR_NO_PERMISSION, "Insufficient Permissions"),
        (pynvml.NVML_ERROR_INSUFFICIENT_POWER, "Insufficient External Power"),
        (pynvml.NVML_ERROR_IRQ_ISSUE, "Interrupt Request Issue"),
    ],
)
def test_one_bad_gpu_handle_marks_only_that_gpu(monkeypatch, code, words):
    gpus = [FakeGpu(uuid="GPU-good"), FakeGpu(uuid="GPU-bad", handle_error=code)]
    install(monkeypatch, gpus)
    inv = inventory.load("nvml")
    assert [s.uuid for s in inv.slots] == ["GPU-good"]
    assert any("GPU 1" in w and words in w for w in inv.warnings)
    procs, warnings = inventory.nvml_process_scan()
    assert any("GPU 1" in w and words in w for w in warnings)
    act = inventory.nvml_activity(inv, interval=0)
    assert act["GPU-good"].evidence == "utilization"


def test_mig_mode_not_supported_means_mig_off(monkeypatch):
    install(monkeypatch, [FakeGpu(name="NVIDIA GeForce RTX 4090", mig_supported=False, cc=(8, 9))])
    inv = inventory.load("nvml")
    assert [s.id for s in inv.slots] == ["0"] and inv.warnings == ()


# -- 4. MIG profiles and shared memory ------------------------------------------------------------


def test_profiles_from_attributes_and_gpu_instance_profile(monkeypatch):
    gpus = h100_shared()
    for m in gpus[0].migs.values():
        m.name_supported = False  # nothing to read from the name: attributes and profile ids only
    install(monkeypatch, gpus)
    inv = inventory.load("nvml")
    assert [s.profile for s in inv.slots] == ["1c.3g.40gb", "2c.3g.40gb", "1g.10gb+me", "2g.20gb"]


def test_profile_suffix_from_name_when_gpu_instance_info_is_refused(monkeypatch):
    gpus = h100_shared()
    gpus[0].gi_info_denied = True
    install(monkeypatch, gpus)
    assert [s.profile for s in inventory.load("nvml").slots] == ["1c.3g.40gb", "2c.3g.40gb", "1g.10gb+me", "2g.20gb"]


def test_real_mib_sizes_round_to_the_profile_figure(monkeypatch):
    gpus = dgx_a100()
    for m in gpus[2].migs.values():
        m.name_supported = m.attributes_supported = False  # memory is all there is
    install(monkeypatch, gpus)
    g = {x.index: x for x in inventory.load("nvml").gpus}
    assert [i.profile for i in g[2].instances] == ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"]  # not 3g.39gb


def test_compute_instances_sharing_a_gpu_instance_are_marked(monkeypatch):
    install(monkeypatch, h100_shared())
    inv = inventory.load("nvml")
    a, b = inv.slot("0:1.0"), inv.slot("0:1.1")
    assert a.shared_memory_with == ("0:1.1",) and b.shared_memory_with == ("0:1.0",)
    assert a.memory_bytes == b.memory_bytes == real("3g.40gb")
    assert inv.slot("0:5").shared_memory_with == ()


@pytest.mark.parametrize(
    "name,mem,total,expected",
    [
        ("NVIDIA H100 MIG 1c.3g.40gb", 40192 * 2**20, 80 * GiB, "1c.3g.40gb"),
        ("NVIDIA H100 MIG 1g.20gb+me.all", 19968 * 2**20, 80 * GiB, "1g.20gb+me.all"),
        ("NVIDIA H100 MIG 1g.10gb-me", 9728 * 2**20, 80 * GiB, "1g.10gb-me"),
        ("", 40192 * 2**20, 80 * GiB, "3g.40gb"),
        ("", 9728 * 2**20, 80 * GiB, "1g.10gb"),
    ],
)
def test_profile_name_real_forms(name, mem, total, expected):
    assert inventory.profile_name(name, mem, total) == expected


# -- 5. stable slot ids -------------------------------------------------------------------------------


def test_slot_ids_come_from_gpu_instance_ids_and_survive_recreation(monkeypatch):
    gpus = dgx_a100()[2:3]
    install(monkeypatch, gpus)
    before = {s.uuid: s.id for s in inventory.load("nvml").slots}
    # the 3g instance at position 0 is destroyed: the others keep their ids (position ids shifted)
    del gpus[0].migs[0]
    install(monkeypatch, gpus)
    after = {s.uuid: s.id for s in inventory.load("nvml").slots}
    assert after and all(before[u] == sid for u, sid in after.items())
    assert sorted(after.values()) == ["0:10", "0:3", "0:9"]


def test_mig_slot_id_forms():
    from ds01.gpu.model import MigInstance, mig_slot_id

    whole = MigInstance(0, 3, 0, "3g.40gb", "MIG-x", 1)
    part = MigInstance(1, 3, 1, "1c.3g.40gb", "MIG-y", 1, shares_memory=2)
    assert mig_slot_id(2, whole) == "2:3" and mig_slot_id(2, part) == "2:3.1"


# -- 7. activity ----------------------------------------------------------------------------------------


def test_activity_whole_gpus_from_utilization(monkeypatch):
    gpus = [FakeGpu(uuid="GPU-busy", utilization=(37, 5)), FakeGpu(uuid="GPU-idle", utilization=(0, 0))]
    lib = install(monkeypatch, gpus)
    act = inventory.nvml_activity(inventory.load("nvml"), interval=0)
    assert (act["GPU-busy"].busy, act["GPU-busy"].evidence) == (True, "utilization")
    assert "37%" in act["GPU-busy"].detail
    assert (act["GPU-idle"].busy, act["GPU-idle"].evidence) == (False, "utilization")
    assert "nvmlDeviceGetUtilizationRates" in lib.calls


def test_activity_mig_with_gpm(monkeypatch):
    lib = install(monkeypatch, h100_shared())
    inv = inventory.load("nvml")
    act = inventory.nvml_activity(inv, interval=0)
    s = {x.id: x.uuid for x in inv.slots}
    assert (act[s["0:1.0"]].busy, act[s["0:1.0"]].evidence) == (True, "gpm")
    assert act[s["0:1.1"]].busy is True  # the same GPU instance: one GPM reading for both
    assert (act[s["0:5"]].busy, act[s["0:5"]].evidence) == (False, "gpm")  # a process, but no activity
    assert "nvmlDeviceGetUtilizationRates" not in lib.calls  # never read on MIG
    assert {
        "nvmlGpmQueryDeviceSupport",
        "nvmlGpmSampleAlloc",
        "nvmlGpmMigSampleGet",
        "nvmlGpmMetricsGet",
        "nvmlGpmSampleFree",
    } <= set(lib.calls)
    assert len(lib.freed) == len(lib.samples)  # every sample freed


def test_activity_mig_without_gpm_uses_the_slice_processes(monkeypatch):
    gpus = h100_shared()
    gpus[0].gpm = False
    lib = install(monkeypatch, gpus)
    inv = inventory.load("nvml")
    act = inventory.nvml_activity(inv, interval=0)
    s = {x.id: x.uuid for x in inv.slots}
    assert (act[s["0:1.0"]].busy, act[s["0:1.0"]].evidence) == (True, "processes")
    assert "1 process" in act[s["0:1.0"]].detail and "3.0 GiB" in act[s["0:1.0"]].detail
    assert (act[s["0:9"]].busy, act[s["0:9"]].evidence) == (False, "processes")
    assert "nvmlDeviceGetUtilizationRates" not in lib.calls


def test_activity_gpm_entry_points_missing_on_old_driver(monkeypatch):
    install(monkeypatch, h100_shared(), without=("nvmlGpmQueryDeviceSupport",))
    inv = inventory.load("nvml")
    act = inventory.nvml_activity(inv, interval=0)
    assert {a.evidence for a in act.values()} == {"processes"}


def test_activity_unmeasurable_is_none_not_idle(monkeypatch):
    gpus = h100_shared()
    gpus[0].gpm = False
    for m in gpus[0].migs.values():
        m.processes_denied = True
    install(monkeypatch, gpus)
    inv = inventory.load("nvml")
    act = inventory.nvml_activity(inv, interval=0)
    assert {(a.busy, a.evidence) for a in act.values()} == {(None, "unavailable")}


def test_activity_of_a_gpu_that_became_unreadable(monkeypatch):
    gpus = [FakeGpu(uuid="GPU-a"), FakeGpu(uuid="GPU-b")]
    install(monkeypatch, gpus)
    inv = inventory.load("nvml")
    gpus[1].handle_error = pynvml.NVML_ERROR_GPU_IS_LOST
    act = inventory.nvml_activity(inv, interval=0)
    assert act["GPU-a"].busy is False
    assert act["GPU-b"].busy is None and "GPU 1" in act["GPU-b"].detail


# -- container stats keeps working when one GPU misbehaves -------------------------------------------


def test_container_stats_processes_degrade_per_gpu_with_a_warning(monkeypatch, tmp_path):
    from ds01.units.containers.listing import gpu_processes_by_container

    cid = "c" * 64
    gpus = [
        FakeGpu(uuid="GPU-ok", processes=[(7001, GiB)]),
        FakeGpu(uuid="GPU-bad", handle_error=pynvml.NVML_ERROR_INSUFFICIENT_POWER),
        *h100_shared(),
    ]
    for m in gpus[2].migs.values():
        m.processes_denied = True  # and the aggregate is refused too
    install(monkeypatch, gpus)
    (tmp_path / "7001").mkdir()
    (tmp_path / "7001" / "cgroup").write_text(f"0::/system.slice/docker-{cid}.scope\n")
    warnings: list[str] = []
    grouped = gpu_processes_by_container([cid], proc=tmp_path, warnings=warnings)
    assert grouped == {cid: [{"pid": 7001, "gpu_memory": GiB, "device_uuid": "GPU-ok"}]}
    text = "\n".join(warnings)
    assert "GPU 1" in text and "Insufficient External Power" in text and "GPU 2" in text


def test_gpm_support_per_gpu(monkeypatch):
    install(
        monkeypatch,
        [
            FakeGpu(uuid="GPU-a100"),
            *h100_shared(),
            FakeGpu(uuid="GPU-bad", handle_error=pynvml.NVML_ERROR_NO_PERMISSION),
        ],
    )
    assert inventory.nvml_gpm_support() == {"GPU-a100": False, "GPU-hhhhhhhh-0000-0000-0000-000000000000": True}
