"""The pure half of reconcile: what changes for each mismatch between the ledger and Docker."""

from __future__ import annotations

from ds01.gpu.ledger import Row
from ds01.gpu.reconcile import ContainerView, plan, view_from_labels

T = 1_000_000.0
UUIDS = {"0": "GPU-a", "1:0": "MIG-b", "1:1": "MIG-c"}


def row(i: int, slot: str, container: str, *, confirmed: float | None = T - 100, allocated: float = T - 100,
        stopped: float | None = None) -> Row:
    return Row(i, slot, UUIDS.get(slot, ""), container, "alice", 10, allocated, confirmed, stopped, None, None, True)


def view(name: str, slots: str = "", uuids: str = "", state: str = "running") -> ContainerView:
    return view_from_labels(name, state, {"ds01.user": "alice", "ds01.gpu.slots": slots, "ds01.gpu.uuids": uuids})


def run(rows, views, **kw):
    return plan(rows, views, listed_at=T, pending_timeout=600, slot_uuids=UUIDS, **kw)


def test_vanished_confirmed_row_is_released():
    p = run([row(1, "0", "a")], [])
    assert [(r.id, why) for r, why in p.release] == [(1, "container no longer exists")]


def test_row_confirmed_after_the_listing_is_kept():
    assert run([row(1, "0", "a", confirmed=T + 1)], []).release == []


def test_pending_rows_wait_for_their_timeout():
    fresh = row(1, "0", "a", confirmed=None, allocated=T - 599)
    old = row(2, "1:0", "b", confirmed=None, allocated=T - 600)
    p = run([fresh, old], [])
    assert [r.id for r, _ in p.release] == [2]


def test_pending_row_with_its_container_is_confirmed():
    p = run([row(1, "0", "a", confirmed=None)], [view("a", "0", "GPU-a")])
    assert p.confirm == ["a"] and p.release == [] and p.conflicts == []


def test_adopt_only_onto_the_inventorys_device():
    p = run([], [view("x", "1:1", "MIG-c"), view("y", "7:0", "MIG-z"), view("z", "1:0", "MIG-other"),
                 view("w", "0")])
    assert [(a.container, a.slot, a.uuid) for a in p.adopt] == [("x", "1:1", "MIG-c"), ("w", "0", "GPU-a")]
    assert sorted(c.container for c in p.conflicts) == ["y", "z"]


def test_adopting_a_slot_another_container_holds_is_a_conflict():
    p = run([row(1, "0", "a")], [view("a", "0", "GPU-a"), view("b", "0", "GPU-a")])
    assert p.adopt == [] and [c.container for c in p.conflicts] == ["b"]


def test_two_unrecorded_containers_on_one_slot_adopt_only_the_first():
    p = run([], [view("a", "0", "GPU-a"), view("b", "0", "GPU-a")])
    assert [(a.container, a.slot) for a in p.adopt] == [("a", "0")]
    assert [(c.container, c.slot) for c in p.conflicts] == [("b", "0")]
    assert "a (alice)" in p.conflicts[0].reason


def test_shared_mode_adopts_both_containers_of_one_slot():
    p = run([], [view("a", "0", "GPU-a"), view("b", "0", "GPU-a")], exclusive=False)
    assert [a.container for a in p.adopt] == ["a", "b"] and p.conflicts == []


def test_label_and_row_disagree_is_reported_not_changed():
    p = run([row(1, "0", "a")], [view("a", "1:0", "MIG-b")])
    assert p.release == [] and p.adopt == [] and [c.container for c in p.conflicts] == ["a"]


def test_stops_and_restarts_found_in_docker():
    p = run([row(1, "0", "a"), row(2, "1:0", "b", stopped=T - 50)],
            [view("a", "0", state="exited"), view("b", "1:0", state="running")])
    assert p.mark_stopped == ["a"] and p.restarted == ["b"]


def test_unmanaged_container_without_labels_is_never_adopted():
    p = run([], [ContainerView("plain", "", (), (), "running")])
    assert p.empty()
