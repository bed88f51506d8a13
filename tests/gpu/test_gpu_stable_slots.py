"""Holds are keyed by the device UUID, and MIG slot ids come from NVML's instance ids: recreating a
MIG instance neither renames the slots under held rows nor lets a second container onto a held device."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fake_nvml import FakeMig, dgx_a100, install, real

from ds01.gpu.allocator import Holding, Request, decide
from ds01.gpu.model import Slot, slot_sort_key, valid_slot_id

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def _slot(sid: str, uuid: str) -> Slot:
    return Slot(sid, uuid, 0, "1g.10gb", 10 << 30)


def test_exclusivity_is_keyed_on_the_device_not_the_slot_id():
    # alice's row says slot 0:1 (device MIG-a); after re-partitioning MIG-a is called 0:4 and a new
    # device MIG-b took the name 0:1. By slot id, 0:4 looked free and MIG-a went to a second container.
    held = [Holding("0:1", "alice-c", "alice", 10, NOW, uuid="MIG-a")]
    slots = [_slot("0:1", "MIG-b"), _slot("0:4", "MIG-a")]
    d = decide(slots, held, Request("bob", "bob-c", 1, 10, None, None), now=NOW)
    assert d.ok and d.slots == ("0:1",)
    again = decide(slots, held, Request("alice", "alice-c", 1, 10, None, None), now=NOW)
    assert again.existing and again.slots == ("0:4",)  # the retry is told the device's current id


def test_rows_without_uuid_still_count_by_slot_id():
    held = [Holding("0:1", "old-c", "alice", 10, NOW)]
    slots = [_slot("0:1", "MIG-b"), _slot("0:4", "MIG-a")]
    assert decide(slots, held, Request("bob", "bob-c", 1, 10, None, None), now=NOW).slots == ("0:4",)


def test_slot_id_forms_and_order():
    assert valid_slot_id("3") and valid_slot_id("2:9") and valid_slot_id("2:1.1")
    assert not valid_slot_id("2:1.") and not valid_slot_id("a:1")
    assert sorted(["2:10", "2:1.1", "2", "2:1", "10"], key=slot_sort_key) == ["2", "2:1", "2:1.1", "2:10", "10"]


def test_schema_accepts_compute_instance_slot_ids():
    from ds01.limits.schema import SLOT_RE

    assert SLOT_RE.match("2:1.1") and SLOT_RE.match("2:9") and SLOT_RE.match("0")


def _nvml_config(tmp_path, monkeypatch):
    cfg = tmp_path / "resource-limits.yaml"
    cfg.write_text(
        "defaults: {max_mig_instances: null, max_gpus_per_container: null, priority: 10}\n"
        "admins: [root]\ngpu_allocation: {inventory: nvml}\npolicies: {pending_allocation_timeout: 1h}\n"
    )
    monkeypatch.setenv("DS01_CONFIG", str(cfg))
    from ds01.gpu import sync

    monkeypatch.setattr(sync, "_docker_views", lambda listed=None: [])


def test_repartition_keeps_held_ids_and_reports_vanished_devices(tmp_path, monkeypatch, cli):
    gpus = dgx_a100()[2:3]  # one A100 in MIG mode: 3g (GI 2), 2g (GI 3), 1g (GI 9), 1g (GI 10)
    install(monkeypatch, gpus)
    _nvml_config(tmp_path, monkeypatch)
    a = json.loads(cli("gpu", "allocate", "alice", "a._.1000", "1", "10", "--json").stdout)
    b = json.loads(cli("gpu", "allocate", "bob", "b._.1001", "1", "10", "--json").stdout)
    held = {a["slots"][0]: a["uuids"][0], b["slots"][0]: b["uuids"][0]}
    # the admin destroys the 3g instance and creates a new 1g one in its place
    victim_pos = next(p for p, m in gpus[0].migs.items() if m.uuid in held.values())
    victim = gpus[0].migs.pop(victim_pos)
    gpus[0].migs[6] = FakeMig("1g.10gb", real("1g.10gb"), victim.gi, uuid="MIG-new00000-0000-0000-0000-000000000000")
    install(monkeypatch, gpus)
    status = json.loads(cli("gpu", "status", "--json").stdout)
    by_uuid = {s["uuid"]: s for s in status["slots"]}
    kept = next(u for u in held.values() if u != victim.uuid)
    kept_id = next(k for k, u in held.items() if u == kept)
    assert by_uuid[kept]["id"] == kept_id and by_uuid[kept]["state"] == "allocated"
    # the new device took the vanished one's id: it is free, not "held" by the old row
    assert by_uuid["MIG-new00000-0000-0000-0000-000000000000"]["state"] == "free"
    text = "\n".join(status["warnings"])
    assert victim.uuid in text and "no longer offers" in text and "gpu release" in text
    rec = json.loads(cli("gpu", "reconcile", "--json").stdout)
    assert [v["uuid"] for v in rec["vanished"]] == [victim.uuid]
    # a third user never lands on the kept device
    res = cli("gpu", "allocate", "carol", "c._.1002", "1", "10", "--json")
    assert res.exit_code == 0, res.stderr
    c = json.loads(res.stdout)
    assert c["uuids"][0] != kept
