"""Pure parts of the container units: no Docker, no daemon."""

from __future__ import annotations

import json
from types import SimpleNamespace

from ds01.gpu.ledger import Row
from ds01.units.containers import definitions
from ds01.units.containers.create import count_ds01_containers, device_requests_for, limits_summary
from ds01.units.containers.listing import build_entries, container_of_cgroup

CID = "a" * 64
OTHER = "b" * 64


def test_device_requests_setting():
    assert device_requests_for("auto", "nvml") is True
    assert device_requests_for("auto", "simulated") is False
    assert device_requests_for("always", "simulated") is True
    assert device_requests_for("never", "nvml") is False


def test_container_of_cgroup_v1_v2_and_foreign():
    v1 = f"12:pids:/ds01-student.slice/{CID}\n11:memory:/ds01-student.slice/{CID}\n"
    v2 = f"0::/system.slice/docker-{CID}.scope\n"
    assert container_of_cgroup(v1, [OTHER, CID]) == CID
    assert container_of_cgroup(v2, [CID]) == CID
    assert container_of_cgroup("0::/user.slice/session-3.scope\n", [CID]) is None
    assert container_of_cgroup(v1, [OTHER]) is None  # a container that is not one of the listed ones


def _info(name, state="exited", labels=None, user="alice"):
    return SimpleNamespace(
        name=name,
        docker_name=f"{name}._.4301",
        user=user,
        state=state,
        image="img",
        labels=labels or {"ds01.user": user},
        created=0,
        ds01_managed=True,
    )


def _row(container, slot, stopped=None, user="alice"):
    return Row(1, slot, "MIG-x", container, user, 10, 100.0, 101.0, stopped, None, None, True)


def test_build_entries_holds_and_released_definitions():
    infos = [_info("a", "running"), _info("b"), _info("c")]
    rows = [_row("a._.4301", "0:0"), _row("b._.4301", "0:1", stopped=1000.0), _row("c._.4301", "0:2", stopped=5.0)]
    defs = [
        {"name": "gone", "docker_name": "gone._.4301", "user": "alice", "image": "img", "labels": {}},
        {"name": "a", "docker_name": "a._.4301", "user": "alice"},
    ]
    holds = {"alice": 3600}
    entries = {e.name: e for e in build_entries(infos, rows, defs, holds.get, include_released=True)}
    assert entries["a"].status == "running" and entries["a"].held_until is None
    assert entries["b"].status == "stopped" and entries["b"].held_until == "1970-01-01T01:16:40Z"
    assert entries["gone"].status == "released" and entries["gone"].gpu_slots == ()
    assert len(entries) == 4  # the definition of a living container is not listed twice
    forever = build_entries(infos, rows, [], {"alice": None}.get, include_released=False)
    assert [e.held_indefinitely for e in forever] == [False, True, True]
    assert json.dumps([e.to_json() for e in forever])  # JSON-able


def test_definitions_round_trip_atomically(tmp_path):
    # Folders are keyed by uid (containers/<uid>/), never by a sanitised name.
    assert definitions.load("root", "x") is None
    path = definitions.save(
        "root", "x", {"format": 1, "name": "x", "labels": {"ds01.gpu.slots": "0:1,0:2"}}, gpu_count=2, project="p"
    )
    assert path.parent.name == "0" and not list(path.parent.glob(".*.tmp"))
    doc = definitions.load("root", "x")
    assert doc is not None and doc["ds01"]["project"] == "p" and definitions.gpu_count(doc) == 2
    assert definitions.gpu_count({"labels": {"ds01.gpu.slots": "0:1,0:2"}}) == 2  # as written before "0:1;0:2"
    assert definitions.gpu_count({"labels": {"ds01.gpu.slots": "0:1;0:2"}}) == 2
    assert [d["name"] for d in definitions.list_all(None)] == ["x"]
    assert definitions.delete("root", "x") is True and definitions.delete("root", "x") is False


def test_counts_and_summary():
    infos = [SimpleNamespace(ds01_managed=True), SimpleNamespace(ds01_managed=False)]
    assert count_ds01_containers(infos) == 1
    assert (
        limits_summary({"nano_cpus": 1_500_000_000, "mem_limit": 2**30, "pids_limit": 10})
        == "CPUs 1.5, memory 1g, PIDs 10"
    )


def test_exit_and_help_need_no_docker(cli):
    r = cli("container", "exit")
    assert r.exit_code == 0 and "Ctrl-D" in r.stdout and "cleanup" in r.stdout
    for verb in ("create", "run", "start", "stop", "list", "stats", "cleanup", "exit", "deploy", "retire"):
        h = cli("container", verb, "--help")
        assert h.exit_code == 0 and "--guided" in h.stdout, verb
    assert "JSON keys" in cli("status", "--help").stdout
