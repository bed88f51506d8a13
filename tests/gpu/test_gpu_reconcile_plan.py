"""The pure half of reconcile: what changes for each mismatch between the ledger and Docker.

A container counts as a row's only by the Docker id ds01 recorded when it created it; labels
never grant a slot (nothing is adopted)."""

from __future__ import annotations

from ds01.gpu.ledger import Row
from ds01.gpu.reconcile import ContainerView, plan, view_from_labels

T = 1_000_000.0
UUIDS = {"0": "GPU-a", "1:0": "MIG-b", "1:1": "MIG-c"}


def row(
    i: int,
    slot: str,
    container: str,
    *,
    confirmed: float | None = T - 100,
    allocated: float = T - 100,
    stopped: float | None = None,
    cid: str | None = "ID",
) -> Row:
    return Row(
        i,
        slot,
        UUIDS.get(slot, ""),
        container,
        "alice",
        10,
        allocated,
        confirmed,
        stopped,
        None,
        None,
        True,
        None if confirmed is None else (cid if cid != "ID" else f"id-{container}"),
    )


def view(
    name: str,
    slots: str = "",
    uuids: str = "",
    state: str = "running",
    *,
    cid: str | None = None,
    created: float = T - 200,
) -> ContainerView:
    return view_from_labels(
        name,
        state,
        {"ds01.user": "alice", "ds01.gpu.slots": slots, "ds01.gpu.uuids": uuids},
        id=cid or f"id-{name}",
        created=created,
    )


def run(rows, views, **kw):
    return plan(rows, views, listed_at=T, pending_timeout=600, **kw)


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


def test_pending_row_is_never_confirmed_by_reconcile_only_by_create():
    # ds01's create records the container id when it confirms; reconcile does not guess it.
    p = run([row(1, "0", "a", confirmed=None)], [view("a", "0", "GPU-a")])
    assert p.release == [] and p.record == [] and p.conflicts == [] and p.empty()


def test_pending_row_past_its_timeout_is_released_even_with_a_container_of_that_name():
    p = run([row(1, "0", "a", confirmed=None, allocated=T - 600)], [view("a", "0", "GPU-a")])
    assert [why for _, why in p.release] == ["ds01 never recorded its container (pending allocation timed out)"]
    # ...and the container it leaves behind is reported, not adopted
    assert [(c.container, c.kind) for c in p.conflicts] == [("a", "unrecorded")]


def _sealed(name: str, seal_value: str) -> ContainerView:
    from ds01.records import replace

    return replace(view(name, "0", "GPU-a"), seal=seal_value)


def test_pending_row_whose_container_carries_its_seal_is_confirmed_with_that_container():
    """ds01 died between Docker's create and its confirmation: the seal it wrote vouches for it."""
    pending = row(1, "0", "a", confirmed=None, allocated=T - 700)  # past the timeout, too
    seals = {1: "s3cret-seal"}
    p = run([pending], [_sealed("a", "s3cret-seal")], seal=lambda r: seals.get(r.id))
    assert [(r.id, cid) for r, cid in p.confirm] == [(1, "id-a")]
    assert p.release == [] and p.conflicts == []


def test_a_wrong_or_missing_seal_confirms_nothing():
    pending = row(1, "0", "a", confirmed=None, allocated=T - 700)
    for label in ("forged", ""):
        p = run([pending], [_sealed("a", label)], seal=lambda r: "s3cret-seal")
        assert p.confirm == [] and [r.id for r, _ in p.release] == [1]
        assert [(c.container, c.kind) for c in p.conflicts] == [("a", "unrecorded")]
    # No key to compute seals with: nothing is vouched for either.
    p = run([pending], [_sealed("a", "s3cret-seal")], seal=lambda r: None)
    assert p.confirm == [] and [r.id for r, _ in p.release] == [1]


def test_labelled_containers_without_a_row_are_reported_never_adopted():
    p = run([], [view("x", "1:1", "MIG-c"), view("w", "0")])
    assert p.release == [] and p.record == []
    assert sorted((c.container, c.kind) for c in p.conflicts) == [("w", "unrecorded"), ("x", "unrecorded")]
    assert "has no record of creating this container" in p.conflicts[0].reason


def test_a_container_that_took_a_rows_name_is_not_the_rows():
    # The row's container (id-a) was removed; another with the same name and labels exists.
    old = view("a", "0", "GPU-a", cid="other", created=T - 1000)
    p = run([row(1, "0", "a")], [old])
    assert [(r.id, why) for r, why in p.release] == [
        (1, "container no longer exists (another container took its name)")
    ]
    assert [(c.container, c.kind) for c in p.conflicts] == [("a", "unrecorded")]
    # a moment after a recreation by ds01 (the new id not recorded yet) the row is kept
    fresh = view("a", "0", "GPU-a", cid="other", created=T - 5)
    assert run([row(1, "0", "a")], [fresh]).release == []


def test_rows_from_before_ids_record_the_container_that_existed_when_confirmed():
    legacy = row(1, "0", "a", cid=None)
    p = run([legacy], [view("a", "0", "GPU-a", created=T - 200)])
    assert p.record == [(legacy, "id-a")] and p.conflicts == [] and p.release == []
    # a container created after the row was confirmed is not the one that was confirmed
    p = run([legacy], [view("a", "0", "GPU-a", created=T - 50)])
    assert p.record == [] and [c.kind for c in p.conflicts] == ["unrecorded"]


def test_recorded_container_on_another_rows_slot_is_only_reported():
    p = run([row(1, "0", "a")], [view("a", "0", "GPU-a"), view("b", "0", "GPU-a")])
    assert p.release == [] and [(c.container, c.kind) for c in p.conflicts] == [("b", "unrecorded")]


def test_label_and_row_disagree_is_reported_not_changed():
    p = run([row(1, "0", "a")], [view("a", "1:0", "MIG-b")])
    assert p.release == [] and [(c.container, c.kind) for c in p.conflicts] == [("a", "mismatch")]


def test_stops_and_restarts_found_in_docker():
    p = run(
        [row(1, "0", "a"), row(2, "1:0", "b", stopped=T - 50)],
        [view("a", "0", state="exited"), view("b", "1:0", state="running")],
    )
    assert p.mark_stopped == ["a"] and p.restarted == ["b"]


def test_unmanaged_container_without_labels_is_never_adopted():
    p = run([], [ContainerView("plain", "", (), (), "running", "id-plain", T - 10)])
    assert p.empty()
