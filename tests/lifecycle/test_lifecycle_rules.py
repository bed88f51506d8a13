"""The lifecycle's plain logic: cgroup paths (both versions, both drivers), CPU counters, idle
stretches and verdicts, keep-alive caps, the samples table's migration and retention, the new
policies keys, max_tasks as a pids limit, and MIG activity through the fake NVML."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from ds01.base import cgroups
from ds01.gpu import idle
from ds01.gpu.ledger import SampleRow

CID = "5cc196bcccadfb246c768b5c79efce929408c4e8386495446d1655c8e02a6a30"


@pytest.mark.parametrize(
    ("driver", "version", "parent", "expected"),
    [
        ("cgroupfs", 1, "ds01-student.slice", f"cpuacct/ds01-student.slice/{CID}/cpuacct.usage"),
        ("cgroupfs", 1, "", f"cpuacct/docker/{CID}/cpuacct.usage"),
        ("systemd", 1, "ds01-student.slice", f"cpuacct/ds01.slice/ds01-student.slice/docker-{CID}.scope/cpuacct.usage"),
        ("systemd", 1, "", f"cpuacct/system.slice/docker-{CID}.scope/cpuacct.usage"),
        ("cgroupfs", 2, "ds01-student.slice", f"ds01-student.slice/{CID}/cpu.stat"),
        ("cgroupfs", 2, "/custom/parent", f"custom/parent/{CID}/cpu.stat"),
        ("systemd", 2, "ds01-student.slice", f"ds01.slice/ds01-student.slice/docker-{CID}.scope/cpu.stat"),
        ("systemd", 2, "", f"system.slice/docker-{CID}.scope/cpu.stat"),
    ],
)
def test_cgroup_paths_for_both_drivers_and_versions(driver, version, parent, expected):
    root = Path("/sys/fs/cgroup")
    assert cgroups.cpu_file(cgroups.Layout(driver, version), parent, CID, root=root) == root / expected


def test_slice_path_nests_by_dashes():
    assert cgroups.slice_path("ds01.slice") == "ds01.slice"
    assert cgroups.slice_path("ds01-gpu-a.slice") == "ds01.slice/ds01-gpu.slice/ds01-gpu-a.slice"


@pytest.mark.parametrize(
    ("version", "name", "text", "ns"),
    [
        (1, "cpuacct.usage", "27118826\n", 27118826),
        (2, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n", 1_500_000),
    ],
)
def test_cpu_counters_and_the_proc_fallback(tmp_path, version, name, text, ns):
    # The computed folder is missing; /proc/<pid>/cgroup names the real one.
    base = tmp_path / "cg" if version == 2 else tmp_path / "cg" / "cpuacct"
    real = base / "elsewhere" / CID
    real.mkdir(parents=True)
    (real / name).write_text(text)
    (real / "cgroup.procs").write_text("41\n42\n")
    proc = tmp_path / "proc"
    (proc / "41").mkdir(parents=True)
    line = f"0::/elsewhere/{CID}\n" if version == 2 else f"4:cpu,cpuacct:/elsewhere/{CID}\n"
    (proc / "41" / "cgroup").write_text(line)
    facts = cgroups.Facts(CID, 41, "", None)
    layout = cgroups.Layout("cgroupfs", version)
    assert cgroups.cpu_ns(layout, facts, root=tmp_path / "cg", proc=proc) == ns
    assert cgroups.pids(layout, facts, root=tmp_path / "cg", proc=proc) == [41, 42]


def test_only_pseudo_terminals_are_written_to(tmp_path):
    # A process whose stdin is a regular file (or anything but a pty) gets nothing written.
    proc = tmp_path / "proc"
    (proc / "7" / "fd").mkdir(parents=True)
    target = tmp_path / "victim"
    target.write_text("")
    (proc / "7" / "fd" / "0").symlink_to(target)
    assert cgroups.write_to_terminals([7], "hello", proc=proc) == 0
    assert target.read_text() == ""


def test_docker_times():
    assert cgroups._docker_time("2026-12-01T15:27:23.5Z") == pytest.approx(1796138843.5)
    assert cgroups._docker_time("0001-01-01T00:00:00Z") is None


def _obs(
    at: float, cpu_s: float, *, gpu: bool | None = False, shells: int = 0, cid: str = "c1", started: float = 0.0
) -> idle.Observation:
    return idle.Observation(
        "box._.1000",
        cid,
        "alice",
        at,
        started,
        int(cpu_s * 1e9),
        gpu,
        "GPU slot 1:0 no processes (processes)" if gpu is not None else "GPU unknown",
        0,
        shells,
    )


def _run(observations, threshold=2.0) -> list[SampleRow]:
    out: list[SampleRow] = []
    for o in observations:
        out.append(idle.next_sample(out[-1] if out else None, o, cpu_threshold=threshold))
    return out


def test_idle_stretch_starts_at_the_previous_sample_and_carries_on():
    s = _run([_obs(100, 1.0), _obs(400, 1.3), _obs(700, 1.6)])
    assert [x.idle for x in s] == [False, True, True]  # the first sample has no CPU delta
    assert s[1].idle_since == 100 and s[2].idle_since == 100
    assert s[2].cpu_percent == pytest.approx(0.1)
    assert "CPU 0.1% over 10m" in idle.evidence(s[2]) and "no shell open" in idle.evidence(s[2])


@pytest.mark.parametrize(
    "breaker",
    [
        {"cpu": 100.0},  # a CPU loop
        {"gpu": True},  # a busy GPU slot
        {"gpu": None},  # unknown GPU activity is never idle
        {"shells": 1},  # a shell open
        {"cid": "c2"},  # recreated: a new counter
    ],
)
def test_each_signal_breaks_the_idle_stretch(breaker):
    last = _obs(
        700,
        1.6 + breaker.get("cpu", 0.0),
        gpu=breaker.get("gpu", False),
        shells=breaker.get("shells", 0),
        cid=breaker.get("cid", "c1"),
    )
    s = _run([_obs(100, 1.0), _obs(400, 1.3), last])
    assert s[-1].idle is False and s[-1].idle_since is None


LIM = idle.Limits(idle_timeout=600, max_runtime=None, idle_warning=300, max_keep_alive=3600, idle_cpu_percent=2)


def test_verdicts_warn_then_stop_and_null_timeout_never_stops():
    s = _run([_obs(0, 0), _obs(400, 0)])[-1]  # idle since 0, stop at 600, warn from 300
    v = idle.verdict(s, LIM, None, 400)
    assert v.action == "warn" and v.stop_at == 600 and "idle timeout" in v.reason
    warned = SampleRow(**{**s.__dict__, "warned_for": 600})
    assert idle.verdict(warned, LIM, None, 450).action == "none"  # warned once per stop time
    assert idle.verdict(warned, LIM, None, 600).action == "stop_idle"
    never = idle.Limits(None, None, 300, 3600, 2)
    assert idle.verdict(warned, never, None, 10**9).action == "none"


def test_keep_alive_postpones_idle_but_not_runtime():
    s = _run([_obs(0, 0), _obs(700, 0)])[-1]
    assert idle.verdict(s, LIM, 2000, 700).action == "none"  # idle stop moved to 2000, warned from 1700
    assert idle.verdict(s, LIM, 2000, 1800).action == "warn"
    assert idle.verdict(s, LIM, 2000, 2000).action == "stop_idle"
    rt = idle.Limits(600, 650, 300, 3600, 2)
    v = idle.verdict(s, rt, 5000, 700)
    assert v.action == "stop_runtime" and "max_runtime" in v.reason
    assert idle.keep_alive_end(100, 10**6, 3600) == 3700  # never beyond max_keep_alive


def test_migration_to_samples_keeps_every_row_and_retention_prunes(tmp_path):
    from ds01.gpu import ledger

    db = tmp_path / "ds01.db"
    conn = sqlite3.connect(db)
    conn.executescript("""
        CREATE TABLE allocations (id INTEGER PRIMARY KEY AUTOINCREMENT, slot TEXT NOT NULL, uuid TEXT NOT NULL,
            container TEXT NOT NULL, user TEXT NOT NULL, priority INTEGER NOT NULL, allocated_at REAL NOT NULL,
            confirmed_at REAL, stopped_at REAL, released_at REAL, reason TEXT, exclusive INTEGER NOT NULL DEFAULT 1,
            container_id TEXT);
        CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, event TEXT NOT NULL,
            user TEXT NOT NULL, container TEXT NOT NULL, slot TEXT NOT NULL, reason TEXT);
        INSERT INTO allocations (slot, uuid, container, user, priority, allocated_at)
            VALUES ('0', 'GPU-a', 'x._.1', 'u', 10, 1);
        PRAGMA user_version = 2;
    """)
    conn.close()
    led = ledger.Ledger(db)
    assert [r.container for r in led.active()] == ["x._.1"]
    row = SampleRow(
        "x._.1",
        "c",
        "u",
        1000.0,
        None,
        5,
        False,
        "no GPU",
        0,
        0,
        cpu_percent=None,
        idle=False,
        idle_since=None,
        idle_cpu_ns=None,
        last_shell_at=None,
    )
    with led.write() as c:
        ledger.add_sample(c, row)
        ledger.add_sample(c, SampleRow(**{**row.__dict__, "at": 1000.0 + ledger.SAMPLE_RETENTION_SECONDS + 1}))
    assert [s.at for s in ledger.samples_of(led, "x._.1")] == [1000.0 + ledger.SAMPLE_RETENTION_SECONDS + 1]
    assert led._connect().execute("PRAGMA user_version").fetchone()[0] == ledger.SCHEMA_VERSION == 3
    led.close()


def test_policies_keys_and_their_defaults(tmp_path):
    from ds01.errors import Ds01Error
    from ds01.limits.config import load_config

    cfg = tmp_path / "c.yaml"
    cfg.write_text("defaults: {}\n")
    p = load_config(cfg).policies
    assert (p.idle_cpu_percent, p.idle_warning, p.max_keep_alive) == (2, 3600, 86400)
    cfg.write_text("policies:\n  idle_warning: 30m\n  max_keep_alive: 2h\n  idle_cpu_percent: 5\n")
    p = load_config(cfg).policies
    assert (p.idle_cpu_percent, p.idle_warning, p.max_keep_alive) == (5, 1800, 7200)
    cfg.write_text("policies:\n  max_keep_alive: 24\n")  # a bare number is refused
    with pytest.raises(Ds01Error) as refused:
        load_config(cfg)
    assert any("policies.max_keep_alive" in line for line in refused.value.details)


def test_max_tasks_caps_the_pids_limit(tmp_path):
    from ds01.limits.config import load_config
    from ds01.limits.resolver import container_resources, resolve

    cfg = tmp_path / "c.yaml"
    cfg.write_text("defaults:\n  pids_limit: 4096\n  max_tasks: 512\n")
    assert container_resources(resolve(load_config(cfg), "alice"))["pids_limit"] == 512
    cfg.write_text("defaults:\n  pids_limit: 100\n  max_tasks: 512\n")
    assert container_resources(resolve(load_config(cfg), "alice"))["pids_limit"] == 100
    cfg.write_text("defaults:\n  max_tasks: 512\n")
    assert container_resources(resolve(load_config(cfg), "alice"))["pids_limit"] == 512


def test_mig_slot_idle_without_processes_busy_with_one_utilisation_never_read(monkeypatch, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gpu"))
    from fake_nvml import h100_shared, install

    from ds01.gpu import facts, inputs
    from ds01.gpu.ledger import Row
    from ds01.limits.config import load_config
    from ds01.units.containers.activity import _gpu

    gpus = h100_shared()
    gpus[0].gpm = False  # no GPM: the slice's own processes decide
    lib = install(monkeypatch, gpus)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("gpu_allocation:\n  inventory: nvml\n")
    config = load_config(cfg)
    inv = inputs.inventory(config)
    act = facts.slot_activity(config, inv)
    by_id = {s.id: s for s in inv.slots}
    idle_slot = next(s for s in inv.slots if s.profile == "1g.10gb+me")
    busy_slot = next(s for s in inv.slots if s.profile == "2g.20gb")

    def row(slot) -> Row:
        return Row(1, slot.id, slot.uuid, "box._.1000", "alice", 10, 0.0, 0.0, None, None, None, True)

    busy, detail = _gpu([row(idle_slot)], act)
    assert busy is False and f"GPU slot {idle_slot.id}" in detail and "(processes)" in detail
    s = _run([_obs(0, 0, gpu=busy), _obs(400, 0, gpu=busy)])[-1]
    assert s.idle is True
    busy, detail = _gpu([row(busy_slot)], act)
    assert busy is True
    s = _run([_obs(0, 0, gpu=busy), _obs(400, 0, gpu=busy)])[-1]
    assert s.idle is False
    assert "nvmlDeviceGetUtilizationRates" not in lib.calls  # utilisation is never read on MIG
    assert by_id  # the inventory offered slots


def test_notices_are_never_written_through_a_planted_link(tmp_path, monkeypatch):
    # In group mode the state folder is group-writable: a user could put a link where the
    # notices folder goes, to make the root-run pass write files elsewhere.
    import os

    from ds01.units.containers import activity

    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("DS01_STATE_DIR", str(state))
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (state / "notices").symlink_to(elsewhere)
    activity.add_notice(4351, {"at": 1e9, "container": "x", "kind": "warning", "message": "m"}, secure=False)
    assert os.listdir(elsewhere) == []
    (state / "notices").unlink()
    activity.add_notice(4351, {"at": 1e9, "container": "x", "kind": "warning", "message": "m"}, secure=True)
    assert [n["message"] for n in activity.read_notices(4351, now=1e9)] == ["m"]
    assert (state / "notices" / "4351.json").stat().st_mode & 0o777 == 0o600
