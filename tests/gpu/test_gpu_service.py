"""The GPU service against a simulated inventory, the SQLite ledger, the event logs and the
real Docker engine (reconcile), plus the `ds01 gpu` commands in-process."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from gpu_support import active_rows, write_config

from ds01 import paths
from ds01.errors import ConfigError, NoCapacity, OperationFailed, PolicyRefused
from ds01.gpu import facts, housekeeping, inputs, inventory, service, sync
from ds01.gpu import reconcile as gpu_reconcile
from ds01.gpu.ledger import Ledger
from ds01.limits.config import load_config


@pytest.fixture
def config(tmp_path: Path, monkeypatch):
    cfg = write_config(tmp_path / "cfg")
    monkeypatch.setenv("DS01_CONFIG", str(cfg))
    return load_config(cfg)


def _no_docker(monkeypatch):
    """Pure ledger tests: the implicit reconcile sees an empty engine."""
    monkeypatch.setattr(sync, "_docker_views", lambda listed=None: [])


# -- simulated inventory ----------------------------------------------------------------------


def test_simulated_uuids_are_stable_and_distinct(tmp_path):
    topo = paths.packaged_config_dir() / "topologies" / "dgx-a100-80gb.yaml"
    a, b = inventory.load("simulated", topo), inventory.load("simulated", topo)
    assert [s.uuid for s in a.slots] == [s.uuid for s in b.slots]
    assert len({s.uuid for s in a.slots}) == len(a.slots) == 22
    assert all(s.uuid.startswith("MIG-") == (s.profile is not None) for s in a.slots)
    assert a.gpus[0].compute_capability == (8, 0)
    text = "\n".join(a.warnings)
    assert "GPU 6 has MIG enabled but no MIG instances" in text and "GPU 7 has a pending MIG mode change" in text


def test_simulated_lost_gpu_and_explicit_uuid(tmp_path):
    topo = tmp_path / "t.yaml"
    topo.write_text(
        "gpus:\n  - {name: X, memory: 16g, mig: null, uuid: GPU-fixed}\n  - {name: Y, memory: 16g, lost: true}\n"
    )
    inv = inventory.load("simulated", topo)
    assert [(s.id, s.uuid) for s in inv.slots] == [("0", "GPU-fixed")]
    assert any("GPU 1 is lost" in w for w in inv.warnings)


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("gpus: 3\n", "gpus = 3 is not a list; expected `gpus:`"),
        ("gpus:\n  - {memory: 48}\n", "gpus[0]"),
        ("gpus:\n  - {name: X, memory: 8g, mig: [7g.big]}\n", "is not a MIG profile"),
        ("gpus:\n  - {name: X, memory: 8g, colour: red}\n", "gpus[0].colour = 'colour' is not a known key"),
        ("gpus:\n  - {memory: 8g}\n", "gpus[0].name is not a GPU name"),
        ("gpus: [\n", "not valid YAML"),
    ],
)
def test_bad_topology_is_a_config_error(tmp_path, text, fragment):
    topo = tmp_path / "bad.yaml"
    topo.write_text(text)
    with pytest.raises(ConfigError) as err:
        inventory.load("simulated", topo)
    assert fragment in err.value.message and str(topo) in err.value.message


# -- ledger lifecycle ---------------------------------------------------------------------------


def test_allocate_confirm_stop_restart_release_with_logs(config, monkeypatch):
    _no_docker(monkeypatch)
    r = service.allocate(config, "alice", "nb._.1000", 2, 20)
    assert r.slots == ["0:0", "0:1"] and all(u.startswith("MIG-") for u in r.uuids) and not r.existing
    again = service.allocate(config, "alice", "nb._.1000", 2, 20)
    assert again.existing and again.slots == r.slots  # a retried allocate gets the same slots
    db = paths.state_dir() / "ds01.db"
    assert sorted(active_rows(db)) == [("0:0", "nb._.1000", "alice", 0), ("0:1", "nb._.1000", "alice", 0)]
    assert service.confirm("nb._.1000") == 2
    assert {row[3] for row in active_rows(db)} == {1}
    assert len(service.mark_stopped("nb._.1000")) == 2
    assert service.mark_stopped("nb._.1000") == []  # idempotent: the first stop time is kept
    st = service.user_status(config, "alice")
    assert [a["state"] for a in st["allocations"]] == ["held", "held"] and st["allocations"][0]["held_until"]
    assert len(service.clear_stopped("nb._.1000")) == 2
    assert [r.slot for r in service.release("nb._.1000")] == ["0:0", "0:1"]
    assert service.release("nb._.1000") == []
    assert active_rows(db) == []
    log = (paths.log_dir() / "gpu-allocations.log").read_text().splitlines()
    assert [line.split("|")[1] for line in log] == [
        "allocate",
        "allocate",
        "mark-stopped",
        "mark-stopped",
        "restart",
        "restart",
        "release",
        "release",
    ]
    ts, event, user, container, gpu_id, reason = log[0].split("|")
    assert (event, user, container, gpu_id, reason) == ("allocate", "alice", "nb._.1000", "0:0", "priority 20")
    assert ts.endswith("Z") and "T" in ts
    events = [json.loads(x) for x in (paths.log_dir() / "events.jsonl").read_text().splitlines()]
    assert events[0] == {
        "timestamp": ts,
        "event": "allocate",
        "user": "alice",
        "container": "nb._.1000",
        "gpu_id": "0:0",
        "reason": "priority 20",
    }
    history = Ledger().history()
    assert [h[1] for h in history] == [line.split("|")[1] for line in log]


def test_quota_and_capacity_refusals(tmp_path, monkeypatch):
    _no_docker(monkeypatch)
    cfg = write_config(tmp_path / "q", max_mig="2")
    monkeypatch.setenv("DS01_CONFIG", str(cfg))
    config = load_config(cfg)
    service.allocate(config, "alice", "a._.1", 2, 10)
    with pytest.raises(PolicyRefused) as err:
        service.allocate(config, "alice", "b._.1", 1, 10)
    assert "already holds 2 of 2" in err.value.message
    with pytest.raises(PolicyRefused):
        service.allocate(config, "bob", "c._.2", 3, 10)  # max_gpus_per_container 2
    for i in range(5):
        service.allocate(config, f"u{i}", f"x{i}._.1", 1, 10)
    with pytest.raises(NoCapacity) as err:
        service.allocate(config, "zoe", "z._.9", 1, 10)
    assert "all 7 slot(s) are taken" in err.value.message
    # Nothing confirmed these rows (no container was created): they are not called running.
    assert any("slot 0:0: alice (a._.1, allocated, container not created yet)" in d for d in err.value.details)
    refuse = [x for x in (paths.log_dir() / "gpu-allocations.log").read_text().splitlines() if "|refuse|" in x]
    assert len(refuse) == 3 and "zoe|z._.9" in refuse[-1]


def test_wait_polls_until_a_slot_frees(config, monkeypatch):
    _no_docker(monkeypatch)
    for i in range(7):
        service.allocate(config, f"u{i}", f"c{i}._.1", 1, 10)
    clock = [time.time()]
    sleeps = []

    def fake_sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds
        if len(sleeps) == 2:
            service.release("c3._.1")

    r = service.allocate(config, "late", "late._.1", 1, 10, wait=60, now=lambda: clock[0], sleep=fake_sleep)
    assert r.slots == ["0:3"] and len(sleeps) == 2
    with pytest.raises(NoCapacity):
        service.allocate(config, "later", "later._.1", 1, 10, wait=5, now=lambda: clock[0], sleep=fake_sleep)


def test_busy_ledger_fails_closed(config, monkeypatch):
    _no_docker(monkeypatch)
    led = Ledger(busy=0.3)
    led.active()  # create the database
    blocker = sqlite3.connect(led.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationFailed) as err:
            service.allocate(config, "alice", "a._.1", 1, 10, ledger=led)
        assert "stayed busy" in err.value.message
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert active_rows(led.path) == []  # nothing was recorded


def test_release_stale_honours_each_users_hold(config, monkeypatch):
    _no_docker(monkeypatch)
    t0 = time.time() - 3 * 3600
    for user, name in (("alice", "old._.1"), ("forever", "kept._.2"), ("bob", "fresh._.3")):
        service.allocate(config, user, name, 1, 10, now=lambda: t0)
        service.confirm(name, container_id=f"id-{name}")
    service.mark_stopped("old._.1", now=lambda: t0)  # 3h ago, hold 1h -> expired
    service.mark_stopped("kept._.2", now=lambda: t0)  # hold null -> forever
    service.mark_stopped("fresh._.3")  # just now -> within the hold
    monkeypatch.setattr(
        sync,
        "_docker_views",
        lambda listed=None: [
            gpu_reconcile.ContainerView(n, u, (), (), "exited", f"id-{n}", t0)
            for n, u in (("old._.1", "alice"), ("kept._.2", "forever"), ("fresh._.3", "bob"))
        ],
    )
    dry = housekeeping.release_stale(config, dry_run=True)
    assert [e["container"] for e in dry.released] == ["old._.1"]
    assert len(active_rows(paths.state_dir() / "ds01.db")) == 3
    removed = []
    report = housekeeping.release_stale(config, remove_container=lambda c, u: removed.append((c, u)))
    assert removed == [("old._.1", "alice")]
    assert [e["container"] for e in report.released] == ["old._.1"]
    assert sorted(r[1] for r in active_rows(paths.state_dir() / "ds01.db")) == ["fresh._.3", "kept._.2"]
    assert housekeeping.release_stale(config).released == []  # idempotent


def test_release_stale_reports_and_logs_only_what_it_released(config, monkeypatch):
    """A container restarted between the look at the holds and the release keeps its slot; the
    report and the event log must not claim it was released."""
    _no_docker(monkeypatch)
    t0 = time.time() - 3 * 3600
    service.allocate(config, "alice", "back._.1", 1, 10, now=lambda: t0)
    service.confirm("back._.1", container_id="id-back._.1")
    service.mark_stopped("back._.1", now=lambda: t0)
    monkeypatch.setattr(
        sync,
        "_docker_views",
        lambda listed=None: [gpu_reconcile.ContainerView("back._.1", "alice", (), (), "exited", "id-back._.1", t0)],
    )
    # The user starts it again while release-stale is removing it.
    report = housekeeping.release_stale(config, remove_container=lambda c, u: service.clear_stopped(c))
    assert report.released == []
    assert [r[1] for r in active_rows(paths.state_dir() / "ds01.db")] == ["back._.1"]
    events = (paths.log_dir() / "events.jsonl").read_text()
    assert "release-stale" not in events


def test_release_stale_keeps_hold_when_removal_fails(config, monkeypatch):
    _no_docker(monkeypatch)
    t0 = time.time() - 3 * 3600
    service.allocate(config, "alice", "old._.1", 1, 10, now=lambda: t0)
    service.confirm("old._.1", container_id="id-old")
    service.mark_stopped("old._.1", now=lambda: t0)
    monkeypatch.setattr(
        sync,
        "_docker_views",
        lambda listed=None: [gpu_reconcile.ContainerView("old._.1", "alice", (), (), "exited", "id-old", t0)],
    )

    def fail(container, user):
        raise OperationFailed("Could not remove the container: in use.")

    report = housekeeping.release_stale(config, remove_container=fail)
    assert report.released == [] and report.failed[0]["reason"].startswith("Could not remove")
    assert len(active_rows(paths.state_dir() / "ds01.db")) == 1


# -- reconcile against the real Docker engine ---------------------------------------------------


def _labels(tag: str, user: str, slots: str = "", uuids: str = "") -> dict[str, str]:
    labels = {"ds01.test.session": tag, "aime.mlc.DS01_MANAGED": "true", "ds01.user": user}
    if slots:
        labels["ds01.gpu.slots"] = slots
    if uuids:
        labels["ds01.gpu.uuids"] = uuids
    return labels


def test_reconcile_against_docker(config, docker_env, base_image, session_tag):
    client = docker_env
    inv = inputs.inventory(config)
    uuid = {s.id: s.uuid for s in inv.slots}
    n = lambda short: f"{short}-{session_tag}._.1000"  # noqa: E731
    running = client.containers.create(
        base_image, ["sleep", "300"], name=n("run"), labels=_labels(session_tag, "alice", "0:0", uuid["0:0"])
    )
    running.start()
    exited = client.containers.create(
        base_image, ["true"], name=n("exit"), labels=_labels(session_tag, "bob", "0:1", uuid["0:1"])
    )
    exited.start()
    exited.wait(timeout=30)
    orphan = client.containers.create(
        base_image, ["sleep", "300"], name=n("orphan"), labels=_labels(session_tag, "carol", "0:2", uuid["0:2"])
    )
    created = client.containers.create(
        base_image, ["sleep", "300"], name=n("created"), labels=_labels(session_tag, "dave", "0:4", uuid["0:4"])
    )
    restarted = client.containers.create(
        base_image, ["sleep", "300"], name=n("again"), labels=_labels(session_tag, "erin", "0:6", uuid["0:6"])
    )
    restarted.start()

    t_old = time.time() - 3600
    service.allocate(config, "alice", n("run"), 1, 10, reconcile_first=False)  # 0:0, recorded by id
    service.confirm(n("run"), container_id=running.id)
    service.allocate(config, "bob", n("exit"), 1, 10, reconcile_first=False)  # 0:1, exited -> stopped
    service.confirm(n("exit"), container_id=exited.id)
    service.allocate(config, "gone", n("gone"), 1, 10, reconcile_first=False)  # 0:2 vanished -> released
    service.confirm(n("gone"), container_id="0" * 64)
    service.allocate(config, "new", n("creating"), 1, 10, reconcile_first=False)  # 0:3 fresh pending -> kept
    service.allocate(
        config, "dave", n("created"), 1, 10, reconcile_first=False, now=lambda: t_old
    )  # 0:4 never confirmed
    service.allocate(config, "stale", n("never"), 1, 10, reconcile_first=False, now=lambda: t_old)  # 0:5 old pending
    service.allocate(config, "erin", n("again"), 1, 10, reconcile_first=False)  # 0:6
    service.confirm(n("again"), container_id=restarted.id)
    service.mark_stopped(n("again"))

    report = sync.reconcile(config)
    released = {(e["container"], e["slot"]) for e in report.released}
    assert (n("gone"), "0:2") in released
    assert (n("never"), "0:5") in released
    # a pending row whose container ds01 never recorded is released at its timeout...
    assert (n("created"), "0:4") in released
    assert not any(c == n("creating") for c, _ in released)  # a fresh pending row is not released
    assert n("exit") in report.marked_stopped
    assert n("again") in report.restarted
    # ...and labelled containers without a recorded row are reported, never adopted
    unrecorded = {c["container"] for c in report.conflicts if c["kind"] == "unrecorded"}
    assert {n("orphan"), n("created")} <= unrecorded
    rows = {r.container: r for r in Ledger().active()}
    assert n("orphan") not in rows and n("created") not in rows
    assert rows[n("run")].container_id == running.id
    assert rows[n("exit")].stopped_at is not None and rows[n("again")].stopped_at is None
    # a second run changes nothing of ours
    second = sync.reconcile(config)
    assert not any(session_tag in e["container"] for e in second.released + second.recorded)
    events = (paths.log_dir() / "gpu-allocations.log").read_text()
    assert "|adopt|" not in events and f"|release|gone|{n('gone')}|0:2|" in events
    assert f"|conflict|carol|{n('orphan')}|0:2|" in events
    for c in (running, exited, orphan, created, restarted):
        c.remove(force=True)


def test_reconcile_records_the_container_of_a_row_from_before_ids(config, docker_env, base_image, session_tag):
    """Rows kept across the upgrade: a confirmed row without an id gets its container's id, once."""
    client = docker_env
    name = f"legacy-{session_tag}._.1000"
    c = client.containers.create(base_image, ["sleep", "300"], name=name, labels=_labels(session_tag, "alice"))
    try:
        service.allocate(config, "alice", name, 1, 10, reconcile_first=False)
        service.confirm(name)  # as a version without ids did
        assert Ledger().rows_for(name)[0].container_id is None
        report = sync.reconcile(config)
        assert [e["container"] for e in report.recorded if e["container"] == name] == [name]
        assert Ledger().rows_for(name)[0].container_id == c.id
        assert not any(e["container"] == name for e in sync.reconcile(config).recorded)
    finally:
        c.remove(force=True)


def test_reconcile_reports_conflicting_labels(config, docker_env, base_image, session_tag):
    client = docker_env
    name = f"conf-{session_tag}._.1000"
    service.allocate(config, "alice", name, 1, 10, reconcile_first=False)  # gets 0:0
    c = client.containers.create(
        base_image, ["sleep", "300"], name=name, labels=_labels(session_tag, "alice", "0:3", "MIG-other")
    )
    service.confirm(name, container_id=c.id)
    try:
        report = sync.reconcile(config)
        conflicts = [x for x in report.conflicts if x["container"] == name]
        assert conflicts and "ledger promised 0:0" in conflicts[0]["reason"]
        assert "|conflict|alice|" in (paths.log_dir() / "gpu-allocations.log").read_text()
        assert [r.slot for r in Ledger().rows_for(name)] == ["0:0"]  # reported, not changed
    finally:
        c.remove(force=True)


# -- commands -----------------------------------------------------------------------------------


def test_commands_exit_codes_and_json(config, cli, monkeypatch):
    _no_docker(monkeypatch)
    res = cli("gpu", "allocate", "alice", "a._.1", "1", "10", "--json")
    assert res.exit_code == 0, res
    data = json.loads(res.stdout)
    assert set(data) == {"user", "container", "slots", "uuids", "existing", "warnings"} and data["slots"] == ["0:0"]
    res = cli("gpu", "allocate", "alice", "b._.1", "3", "10")
    assert res.exit_code == 3 and "at most 2" in res.stderr
    for i in range(6):
        assert cli("gpu", "allocate", f"u{i}", f"c{i}._.1", "1", "10").exit_code == 0
    res = cli("gpu", "allocate", "zoe", "z._.1", "1", "10")
    assert res.exit_code == 4 and "No free GPU slot" in res.stderr and "slot 0:0: alice" in res.stderr
    res = cli("gpu", "allocate", "zoe", "z._.1", "1", "10", "--wait", "48")
    assert res.exit_code == 2  # a bare number is not a duration
    status = json.loads(cli("gpu", "status", "--json").stdout)
    assert set(status) == {"backend", "slots", "warnings"}
    assert set(status["slots"][0]) == {
        "id",
        "uuid",
        "gpu_index",
        "profile",
        "memory_bytes",
        "shared_memory_with",
        "state",
        "containers",
        "users",
        "held_until",
        "reserved_for",
    }
    assert [s["state"] for s in status["slots"]] == ["allocated"] * 7
    assert cli("gpu", "mark-stopped", "a._.1").exit_code == 0
    status = json.loads(cli("gpu", "status", "--json").stdout)
    assert status["slots"][0]["state"] == "held" and status["slots"][0]["held_until"]
    us = json.loads(cli("gpu", "user-status", "alice", "--json").stdout)
    assert us["count"] == 1 and us["allocations"][0]["state"] == "held"
    assert cli("gpu", "mark-stopped", "nothing._.1").exit_code == 2
    res = cli("gpu", "release", "a._.1", "--json")
    assert json.loads(res.stdout) == {"container": "a._.1", "released": ["0:0"]}
    table = cli("gpu", "status")
    assert table.exit_code == 0 and "0:0" in table.stdout and "free" in table.stdout
    stale = json.loads(cli("gpu", "release-stale", "--dry-run", "--json").stdout)
    assert stale["dry_run"] is True and stale["released"] == []
    rec = cli("gpu", "reconcile", "--json")
    assert rec.exit_code == 0 and set(json.loads(rec.stdout)) >= {"released", "recorded", "conflicts"}


def test_reserved_slot_shows_and_refuses(tmp_path, cli, monkeypatch):
    _no_docker(monkeypatch)
    two = "gpus:\n" + "  - {name: A100, memory: 80g, mig: null}\n" * 2
    cfg = write_config(tmp_path / "r", topology=two)
    text = cfg.read_text().replace(
        "  forever:\n",
        "  carol:\n    reservation_start: 2020-01-01T00:00:00\n    reservation_end: 2099-01-01T00:00:00\n"
        "    reserved_gpus: ['1']\n    reason: thesis deadline\n  forever:\n",
    )
    cfg.write_text(text)
    monkeypatch.setenv("DS01_CONFIG", str(cfg))
    assert cli("gpu", "allocate", "alice", "a._.1", "1", "10").exit_code == 0
    status = json.loads(cli("gpu", "status", "--json").stdout)
    assert status["slots"][1]["state"] == "reserved" and status["slots"][1]["reserved_for"] == "carol"
    res = cli("gpu", "allocate", "bob", "b._.1", "1", "10")
    assert res.exit_code == 3 and "reserved for carol" in res.stderr and "thesis deadline" in res.stderr
    res = cli("gpu", "allocate", "carol", "c._.1", "1", "10", "--json")
    assert json.loads(res.stdout)["slots"] == ["1"]


def test_non_admin_cannot_act_for_others(config, cli, monkeypatch):
    _no_docker(monkeypatch)
    from ds01.cli import app as app_mod
    from ds01.identity import Identity

    monkeypatch.setattr(app_mod.App, "identity", Identity("mallory", 5000, 5000, Path("/tmp")))
    assert cli("gpu", "allocate", "alice", "a._.1", "1", "10").exit_code == 3
    assert cli("gpu", "allocate", "mallory", "m._.5000", "1", "10").exit_code == 0
    assert cli("gpu", "reconcile").exit_code == 3


def test_unreachable_docker_warns_implicitly_and_fails_explicitly(config, cli, monkeypatch):
    from ds01.errors import DockerUnavailable

    def down(listed=None):
        raise DockerUnavailable("Cannot reach the Docker engine at /nowhere.")

    monkeypatch.setattr(sync, "_docker_views", down)
    res = cli("gpu", "status")
    assert res.exit_code == 0 and "Not reconciled with Docker" in res.stderr
    assert cli("gpu", "allocate", "alice", "a._.1", "1", "10").exit_code == 0
    assert cli("gpu", "reconcile").exit_code == 5
    assert cli("gpu", "release-stale").exit_code == 0


def test_gpu_help_lists_every_verb_without_heavy_imports(cli):
    import subprocess
    import sys

    res = cli("gpu", "--help")
    for verb in ("status", "allocate", "release", "mark-stopped", "user-status", "release-stale", "reconcile"):
        assert verb in res.stdout
    code = (
        "import sys, ds01.gpu.service, ds01.gpu.sync, ds01.gpu.housekeeping, ds01.gpu.facts, ds01.gpu.inventory, "
        "ds01.cli.gpu.status, ds01.cli.gpu.allocate; "
        "print(sorted(m for m in ('pynvml', 'docker', 'yaml', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_facts_for_other_services(tmp_path, monkeypatch):
    topo = paths.packaged_config_dir() / "topologies" / "dgx-a100-80gb.yaml"
    cfg = write_config(tmp_path / "f", topology=topo.read_text())
    config = load_config(cfg)
    assert facts.compute_capability(config) == (8, 0)
    assert facts.gpu_processes(config) == []


def test_unusable_state_dir_is_a_clear_failure(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(OperationFailed) as err:
        Ledger(blocker / "sub" / "ds01.db").active()
    assert "DS01_STATE_DIR" in err.value.message


def test_preview_records_nothing_and_creates_no_database(config, monkeypatch):
    _no_docker(monkeypatch)
    decision, inv = service.preview_allocation(config, "alice", "p._.1", 2)
    assert decision.slots == ("0:0", "0:1") and inv.backend == "simulated"
    assert not (paths.state_dir() / "ds01.db").exists()
    service.allocate(config, "bob", "b._.2", 1, 10)
    decision, _ = service.preview_allocation(config, "alice", "p._.1", 1)
    assert decision.slots == ("0:1",)
    assert len(active_rows(paths.state_dir() / "ds01.db")) == 1


@pytest.mark.parametrize("user", ["", "a|b", "two words", "a/b"])
def test_allocate_refuses_a_user_name_no_login_could_have(config, cli, monkeypatch, user):
    _no_docker(monkeypatch)
    res = cli("gpu", "allocate", user, "c._.1", "1", "10")
    assert res.exit_code == 2 and "is not a user name" in res.stderr and "Traceback" not in res.output
    db = paths.state_dir() / "ds01.db"
    assert not db.exists() or active_rows(db) == []
    assert not (paths.log_dir() / "gpu-allocations.log").exists()
    assert cli("gpu", "user-status", user).exit_code == 2


def test_wait_says_it_waits_and_the_refusal_says_how_long(config, cli, monkeypatch):
    _no_docker(monkeypatch)
    for i in range(7):
        service.allocate(config, f"u{i}", f"c{i}._.1", 1, 10)
    told = []
    with pytest.raises(NoCapacity) as err:
        service.allocate(
            config,
            "late",
            "late._.1",
            1,
            10,
            wait=3,
            sleep=lambda s: None,
            now=iter(range(0, 1000)).__next__,
            on_wait=told.append,
        )
    assert len(told) == 1 and told[0].startswith("No free GPU slot for late")
    assert err.value.message.endswith("None freed within 3s.") and "use --wait" not in err.value.message
    res = cli("gpu", "allocate", "late", "late._.1", "1", "10", "--wait", "1s")
    assert res.exit_code == 4
    assert "Waiting up to 1s for a slot to free" in res.stderr and "None freed within 1s." in res.stderr


def test_reconcile_report_reads_as_done_or_as_a_plan(config, cli, docker_env, session_tag):
    gone = f"gone-{session_tag}._.1000"
    service.allocate(config, "alice", gone, 1, 10, reconcile_first=False)
    service.confirm(gone)  # its container existed once and was removed behind ds01's back
    plan = cli("gpu", "reconcile", "--dry-run")
    assert plan.exit_code == 0, plan
    assert f"would release 0:0 from {gone} (alice): container no longer exists" in plan.stderr
    assert "nothing was changed" in plan.stderr
    assert gone in [r[1] for r in active_rows(paths.state_dir() / "ds01.db")]
    done = cli("gpu", "reconcile")
    assert done.exit_code == 0
    assert f"released 0:0 from {gone} (alice): container no longer exists" in done.stderr
    assert "ledger reconciled: 1 released" in done.stderr
    assert gone not in [r[1] for r in active_rows(paths.state_dir() / "ds01.db")]


def test_ledger_and_logs_stay_group_writable_whatever_the_umask(config, monkeypatch):
    """In group mode every user appends to the same ledger and logs; a umask of 077 must not lock them out.

    The group-mode layout (docs/admin-guide.md) makes both folders group-writable (2775)."""
    import os
    import stat

    _no_docker(monkeypatch)
    for folder in (paths.state_dir(), paths.log_dir()):
        folder.mkdir(parents=True)
        os.chmod(folder, 0o2775)
    old = os.umask(0o077)
    try:
        service.allocate(config, "alice", "um._.1000", 1, 20)
    finally:
        os.umask(old)
    for path in (
        paths.state_dir() / "ds01.db",
        paths.log_dir() / "gpu-allocations.log",
        paths.log_dir() / "events.jsonl",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o664, path


def test_simulated_activity_reads_the_topologys_busy_list_and_the_state_file(tmp_path):
    """Idle detection on simulated servers: slots marked busy by the topology or by a file."""
    import json

    from ds01.gpu import inventory as inv_mod

    topo = tmp_path / "topo.yaml"
    topo.write_text(
        "gpus:\n  - name: A\n    memory: 80g\n    mig: [3g.40gb, 1g.10gb]\n"
        "  - name: B\n    memory: 80g\nbusy: ['0:1']\n"
    )
    inv = inv_mod.load("simulated", topo)
    by_slot = {s.id: s.uuid for s in inv.slots}
    seen = inv_mod.simulated_activity(inv, topo, tmp_path)
    assert {sid: seen[u].busy for sid, u in by_slot.items()} == {"0:0": False, "0:1": True, "1": False}
    (tmp_path / inv_mod.SIMULATED_ACTIVITY_FILE).write_text(json.dumps({"busy": [by_slot["1"]]}))
    seen = inv_mod.simulated_activity(inv, topo, tmp_path)
    assert seen[by_slot["1"]].busy is True and seen[by_slot["1"]].evidence == "simulated"
    (tmp_path / inv_mod.SIMULATED_ACTIVITY_FILE).write_text("{broken")
    with pytest.raises(ConfigError, match="simulated GPU activity"):
        inv_mod.simulated_activity(inv, topo, tmp_path)


def test_limits_check_and_the_inventory_read_topologies_alike(tmp_path):
    """One parser: what ``limits check`` reports first is what the simulated inventory refuses with."""
    from ds01.limits.config import _Collector, topology_slots

    topo = tmp_path / "t.yaml"
    topo.write_text("gpus:\n  - {name: A, memory: 8g, mig: null}\n  - {name: B, memory: lots, mig: [1g.10gb]}\n")
    col = _Collector(topo)
    assert topology_slots(topo, col) == ["0", "1:0"]
    first = col.problems[0]
    assert first.key_path == "gpus[1].memory"
    with pytest.raises(ConfigError) as err:
        inventory.load("simulated", topo)
    assert first.message.rstrip(".") in err.value.message


def test_an_invalid_config_keeps_the_last_valid_security_mode_for_ledger_and_log_modes(tmp_path, monkeypatch):
    """A group-mode server whose config turned invalid: `container stop` runs on the last valid
    config, and the mode it uses for the ledger and logs must be that config's (group), not
    "secure", which would make the ledger 0644 and lock the other users out of it."""
    import os

    from ds01.limits import last_good
    from ds01.limits.config import load_config

    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, 0o2775)
    config = tmp_path / "limits.yaml"
    config.write_text((Path(__file__).resolve().parents[2] / "config" / "resource-limits.yaml").read_text())
    monkeypatch.setenv("DS01_CONFIG", str(config))
    monkeypatch.setenv("DS01_STATE_DIR", str(state))
    assert last_good.remember(load_config(config))
    assert inputs.secure_now() is False
    time.sleep(0.01)
    config.write_text(config.read_text() + "\nnot_a_key: 1\n")
    assert inputs.secure_now() is False  # judged by the last valid config, which says group
    (state / last_good.store_path(state).name).unlink()
    config.write_text(config.read_text() + "\n")
    assert inputs.secure_now() is True  # no valid config ever: never loosened on a guess


def test_holder_lookups_open_the_ledger_in_the_configured_mode_and_close_it(tmp_path, monkeypatch):
    """A secure server's ledger is never made group-writable, whoever opens it first: the holder
    lookups (`container run`, `gpu mark-stopped`, `gpu release`) judge the mode by the config, as
    every other ledger writer does, and close what they open."""
    import os
    import stat

    cfg = write_config(tmp_path / "cfg", extra="security:\n  mode: secure\n")
    monkeypatch.setenv("DS01_CONFIG", str(cfg))
    paths.state_dir().mkdir(parents=True)
    os.chmod(paths.state_dir(), 0o2775)
    opened, closed = [], []
    real_init, real_close = Ledger.__init__, Ledger.close

    def init(self, *args, **kw):
        opened.append(kw.get("secure", False))
        real_init(self, *args, **kw)

    def close(self):
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(Ledger, "__init__", init)
    monkeypatch.setattr(Ledger, "close", close)
    assert service.holder_of("x._.1000") is None
    assert service.holders_of("x._.1000") == []
    assert opened == [True, True] and len(closed) == 2
    assert stat.S_IMODE((paths.state_dir() / "ds01.db").stat().st_mode) == 0o644
