"""One dashboard frame reads each source once: the ledger's active rows, the GPU inventory, the
slots' activity, the Docker listing, the daemon's cgroup layout, the latest samples, and each
running container's cgroup (one ``inspect`` per container). Built in-process against the real
engine and the simulated inventory, with every base-tier reader wrapped in a spy."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from monitoring_support import running


@pytest.mark.parametrize("everyone", [True, False])
def test_one_frame_reads_each_source_once(cli, menv, tagged, monkeypatch, mocker, everyone):
    from ds01 import paths
    from ds01.base import cgroups, engine
    from ds01.gpu import facts, inventory, ledger
    from ds01.identity import Identity
    from ds01.limits.config import load_config
    from ds01.orchestrators.monitoring import snapshot

    alice = running(cli, menv, monkeypatch, tagged("reads-a"), "alice")
    bob = running(cli, menv, monkeypatch, tagged("reads-b"), "bob")
    assert cli("gpu", "allocate", "bob", "b1", "1", "10").exit_code == 0
    config = load_config(paths.config_path())
    uid = int(menv.caller("alice")["SUDO_UID"])
    caller = Identity("alice", uid, uid, Path("/nonexistent"))
    snapshot.frame(config, caller, everyone=everyone)  # the ledger and the samples exist, as on a server

    spies = {
        "active rows": mocker.spy(ledger.Ledger, "active"),
        "inventory": mocker.spy(inventory, "load"),
        "slot activity": mocker.spy(facts, "slot_activity"),
        "docker listing": mocker.spy(engine, "list_containers"),
        "cgroup layout": mocker.spy(cgroups, "daemon_layout"),
        "latest samples": mocker.spy(ledger, "latest_samples"),
    }
    inspects = mocker.spy(cgroups, "container_facts")
    data = snapshot.frame(config, caller, everyone=everyone)

    assert {what: spy.call_count for what, spy in spies.items()} == dict.fromkeys(spies, 1)
    shown = {c["container"] for c in data["containers"]}
    assert alice in shown and (bob in shown) is everyone
    per_container = Counter(call.args[0] for call in inspects.call_args_list)
    assert len(per_container) == len(shown)  # the containers shown, each inspected
    assert set(per_container.values()) == {1}  # once
    assert next(c for c in data["containers"] if c["container"] == alice)["stop_in_seconds"] is not None


def test_ds01_status_lists_the_engine_once_and_loads_the_inventory_once(cli, menv, tagged, monkeypatch, mocker):
    """``ds01 status`` shows the reconciled containers, the caller's list and the lifecycle view
    of the running ones: one listing of every container and one inventory serve all three."""
    from ds01.base import sparse
    from ds01.gpu import inventory

    alice = running(cli, menv, monkeypatch, tagged("status-a"), "alice")
    for key, value in menv.caller("alice").items():
        monkeypatch.setenv(key, value)
    listings = mocker.spy(sparse, "list_raw")
    loads = mocker.spy(inventory, "load")
    r = cli("status", "--json")
    assert r.exit_code == 0, r
    data = json.loads(r.stdout)
    assert listings.call_count == 1 and loads.call_count == 1, (listings.call_args_list, loads.call_args_list)
    assert [c["docker_name"] for c in data["containers"]] == [alice]
    assert [row["name"] for row in data["lifecycle"]] == [alice.split("._.")[0]]
    assert not data["warnings"], data["warnings"]


def test_looking_at_running_containers_never_creates_the_ledger(cli, menv, tagged, monkeypatch, tmp_path):
    """The views only look: with running containers and no ledger (a server whose containers
    hold no GPU), the dashboard, `monitor idle`, `monitor metrics` and `container list` leave
    the state folder without one."""
    from ds01 import paths

    running(cli, menv, monkeypatch, tagged("noledger"), "alice")
    db = paths.state_dir() / "ds01.db"
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    for argv in (
        ("monitor", "dashboard", "--json"),
        ("monitor", "idle", "--json"),
        ("monitor", "metrics", "--textfile", str(tmp_path)),
        ("container", "list", "--json"),
    ):
        r = cli(*argv, env=menv.caller("alice")) if argv[0] == "container" else cli(*argv)
        assert r.exit_code == 0, (argv, r)
        assert not db.exists(), f"ds01 {' '.join(argv)} created the ledger"
