"""The allocator's rules (SPEC §4 steps 1-4) as table-driven pure tests: each rule, each
tie-break, each refusal, every strategy, shared mode and reservations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ds01.gpu.allocator import Holding, Policy, Request, decide
from ds01.gpu.model import Slot
from ds01.limits.reservation import Reservation

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def whole(i: int, used: float = 0.0) -> Slot:
    return Slot(str(i), f"GPU-{i}", i, None, 80 * 1024**3, used)


def mig(g: int, m: int, profile: str = "1g.10gb") -> Slot:
    return Slot(f"{g}:{m}", f"MIG-{g}-{m}", g, profile, 10 * 1024**3)


def hold(
    slot: str,
    user: str = "bob",
    prio: int = 10,
    container: str | None = None,
    stopped: timedelta | None = None,
    hold_for: timedelta | None = None,
) -> Holding:
    stopped_at = None if stopped is None else NOW - stopped
    until = None if (stopped_at is None or hold_for is None) else stopped_at + hold_for
    return Holding(slot, container or f"{user}-{slot}", user, prio, NOW - timedelta(hours=3), stopped_at, until)


def req(count: int = 1, user: str = "alice", prio: int = 10, **kw) -> Request:
    return Request(user=user, container=kw.pop("container", "new._.1000"), count=count, priority=prio, **kw)


TWO_WHOLE_TWO_MIG = [whole(0), whole(1), mig(2, 0), mig(2, 1)]

CASES = [
    # id, slots, holdings, request, policy, reservations, expected slots or refusal class
    ("lowest slot id wins a tie", TWO_WHOLE_TWO_MIG, [], req(), Policy(), [], ("0",)),
    ("natural order: 2 before 10", [whole(10), whole(2)], [], req(), Policy(), [], ("2",)),
    ("taken slot skipped (exclusive)", TWO_WHOLE_TWO_MIG, [hold("0")], req(), Policy(), [], ("1",)),
    ("two slots for two GPUs", TWO_WHOLE_TWO_MIG, [], req(2, max_gpus_per_container=2), Policy(), [], ("0", "1")),
    ("allow_full_gpu false -> MIG slice", TWO_WHOLE_TWO_MIG, [], req(allow_full_gpu=False), Policy(), [], ("2:0",)),
    ("memory used breaks count ties", [whole(0, 50.0), whole(1, 5.0)], [], req(), Policy(), [], ("1",)),
    ("max_gpus_per_container refuses", TWO_WHOLE_TWO_MIG, [], req(2, max_gpus_per_container=1), Policy(), [], "policy"),
    (
        "max_gpus_per_container null = unlimited",
        TWO_WHOLE_TWO_MIG,
        [],
        req(3, max_gpus_per_container=None),
        Policy(),
        [],
        ("0", "1", "2:0"),
    ),
    (
        "max_mig_instances reached refuses",
        TWO_WHOLE_TWO_MIG,
        [hold("0", user="alice")],
        req(max_mig_instances=1),
        Policy(),
        [],
        "policy",
    ),
    (
        "max_mig_instances counts held slots too",
        TWO_WHOLE_TWO_MIG,
        [hold("0", user="alice", stopped=timedelta(minutes=5))],
        req(max_mig_instances=1),
        Policy(),
        [],
        "policy",
    ),
    (
        "max_mig_instances null = unlimited",
        TWO_WHOLE_TWO_MIG,
        [hold("0", user="alice"), hold("1", user="alice")],
        req(max_mig_instances=None),
        Policy(),
        [],
        ("2:0",),
    ),
    ("nothing free -> capacity", [whole(0)], [hold("0")], req(), Policy(), [], "capacity"),
    (
        "only whole GPUs free and not allowed -> policy",
        [whole(0), mig(1, 0)],
        [hold("1:0")],
        req(allow_full_gpu=False),
        Policy(),
        [],
        "policy",
    ),
    ("count 0 is a usage error", TWO_WHOLE_TWO_MIG, [], req(0), Policy(), [], "usage"),
    ("unknown strategy is a usage error", TWO_WHOLE_TWO_MIG, [], req(), Policy(strategy="random"), [], "usage"),
    # shared mode
    (
        "shared: least containers first",
        [whole(0), whole(1)],
        [hold("0")],
        req(),
        Policy(sharing="shared", max_containers_per_gpu=2),
        [],
        ("1",),
    ),
    (
        "shared: a full slot is skipped",
        [whole(0), whole(1)],
        [hold("0"), hold("1", container="x"), hold("1", container="y")],
        req(),
        Policy(sharing="shared", max_containers_per_gpu=2),
        [],
        ("0",),
    ),
    (
        "shared: all full -> capacity",
        [whole(0)],
        [hold("0", container="x"), hold("0", container="y")],
        req(),
        Policy(sharing="shared", max_containers_per_gpu=2),
        [],
        "capacity",
    ),
    (
        "shared: avoid higher-priority holders (priority_diff)",
        [whole(0), whole(1)],
        [hold("0", prio=90), hold("1", prio=10, container="a"), hold("1", prio=10, container="b")],
        req(prio=10),
        Policy(sharing="shared", max_containers_per_gpu=3),
        [],
        ("1",),
    ),
    (
        "least_allocated: empty slot beats sharing with lower priority",
        [whole(0), whole(1)],
        [hold("0", prio=5)],
        req(prio=50),
        Policy(sharing="shared", max_containers_per_gpu=2),
        [],
        ("1",),
    ),
    (
        "priority_aware: higher priority shares with lower-priority users first",
        [whole(0), whole(1)],
        [hold("0", prio=5)],
        req(prio=50),
        Policy(strategy="priority_aware", sharing="shared", max_containers_per_gpu=2),
        [],
        ("0",),
    ),
    (
        "priority_aware: not with higher-priority users",
        [whole(0), whole(1)],
        [hold("0", prio=90)],
        req(prio=50),
        Policy(strategy="priority_aware", sharing="shared", max_containers_per_gpu=2),
        [],
        ("1",),
    ),
    # reservations
    (
        "reserved slot goes only to its holder",
        [whole(0), whole(1)],
        [],
        req(),
        Policy(),
        [Reservation("carol", NOW - timedelta(hours=1), NOW + timedelta(hours=1), ("0",))],
        ("1",),
    ),
    (
        "holder gets reserved slots first",
        [whole(0), whole(1)],
        [],
        req(user="carol"),
        Policy(),
        [Reservation("carol", NOW - timedelta(hours=1), NOW + timedelta(hours=1), ("1",))],
        ("1",),
    ),
    (
        "only reserved slots free -> policy refusal",
        [whole(0), whole(1)],
        [hold("0")],
        req(),
        Policy(),
        [Reservation("carol", NOW - timedelta(hours=1), NOW + timedelta(hours=1), ("1",), "thesis deadline")],
        "policy",
    ),
    (
        "expired reservation is ignored",
        [whole(0), whole(1)],
        [hold("0")],
        req(),
        Policy(),
        [Reservation("carol", NOW - timedelta(hours=3), NOW - timedelta(hours=1), ("1",))],
        ("1",),
    ),
    (
        "future reservation is ignored",
        [whole(0), whole(1)],
        [hold("0")],
        req(),
        Policy(),
        [Reservation("carol", NOW + timedelta(hours=1), NOW + timedelta(hours=3), ("1",))],
        ("1",),
    ),
    (
        "respect_reservations false ignores them",
        [whole(0), whole(1)],
        [hold("0")],
        req(),
        Policy(respect_reservations=False),
        [Reservation("carol", NOW - timedelta(hours=1), NOW + timedelta(hours=1), ("1",))],
        ("1",),
    ),
]


@pytest.mark.parametrize(
    "slots,holdings,request_,policy,reservations,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rules(slots, holdings, request_, policy, reservations, expected):
    d = decide(slots, holdings, request_, policy=policy, reservations=reservations, now=NOW)
    if isinstance(expected, str):
        assert d.refused == expected, d
        assert d.slots == ()
        assert d.reason
    else:
        assert d.refused is None, d.reason
        assert d.slots == expected


@pytest.mark.parametrize("last,expected", [(None, "0"), ("0", "1"), ("1", "2:0"), ("2:1", "0"), ("2:0", "2:1")])
def test_round_robin_rotates_the_starting_slot(last, expected):
    d = decide(TWO_WHOLE_TWO_MIG, [], req(), policy=Policy(strategy="round_robin"), now=NOW, last_slot=last)
    assert d.slots == (expected,)


def test_round_robin_skips_taken_slots():
    d = decide(TWO_WHOLE_TWO_MIG, [hold("1")], req(), policy=Policy(strategy="round_robin"), now=NOW, last_slot="0")
    assert d.slots == ("2:0",)


def test_repeat_for_same_container_returns_what_it_holds():
    d = decide(TWO_WHOLE_TWO_MIG, [hold("1", user="alice", container="new._.1000")], req(), now=NOW)
    assert d.ok and d.existing and d.slots == ("1",)


def test_capacity_refusal_names_holders_and_next_expiry():
    holdings = [
        hold("0", user="bob", container="train._.1001"),
        hold("1", user="dave", container="nb._.1002", stopped=timedelta(minutes=30), hold_for=timedelta(hours=1)),
        hold("2:0", user="erin", stopped=timedelta(hours=2), hold_for=None),
        hold("2:1", user="frank", stopped=timedelta(minutes=50), hold_for=timedelta(hours=1)),
    ]
    d = decide(TWO_WHOLE_TWO_MIG, holdings, req(), now=NOW)
    assert d.refused == "capacity"
    assert "all 4 slot(s) are taken" in d.reason
    # the earliest hold to expire is frank's (10 min left), not dave's (30 min)
    assert "slot 2:1" in d.reason and "2026-03-01 12:10 UTC" in d.reason
    joined = "\n".join(d.details)
    assert "slot 0: bob (train._.1001, running)" in joined
    assert "slot 1: dave (nb._.1002, stopped, held until 2026-03-01 12:30 UTC)" in joined
    assert "held indefinitely" in joined


def test_capacity_refusal_without_expiring_holds_suggests_wait():
    d = decide([whole(0)], [hold("0")], req(), now=NOW)
    assert d.refused == "capacity" and "--wait" in d.reason


def test_reservation_refusal_names_holder_end_and_reason():
    r = Reservation("carol", NOW - timedelta(hours=1), NOW + timedelta(hours=2), ("1",), "thesis deadline")
    d = decide([whole(0), whole(1)], [hold("0")], req(), reservations=[r], now=NOW)
    assert d.refused == "policy"
    assert "reserved for carol until 2026-03-01 14:00 UTC (thesis deadline)" in d.reason


def test_quota_refusal_lists_what_the_user_holds():
    d = decide(TWO_WHOLE_TWO_MIG, [hold("0", user="alice", container="a._.1")], req(max_mig_instances=1), now=NOW)
    assert d.refused == "policy" and "already holds 1 of 1" in d.reason
    assert d.details == ("slot 0: alice (a._.1, running)",)


def test_decide_is_pure_and_deterministic():
    args = (TWO_WHOLE_TWO_MIG, [hold("0")], req())
    assert decide(*args, now=NOW) == decide(*args, now=NOW)


def test_capacity_refusal_with_some_free_says_how_many():
    # one slot of four is free, two are asked for: "all 4 are taken" would be false
    holdings = [hold("0"), hold("1"), hold("2:0")]
    d = decide(TWO_WHOLE_TWO_MIG, holdings, req(2, max_gpus_per_container=2), now=NOW)
    assert d.refused == "capacity"
    assert "asked for 2, 1 free" in d.reason and "are taken" not in d.reason


def test_capacity_refusal_on_a_server_without_slots():
    d = decide([], [], req(), now=NOW)
    assert d.refused == "capacity"
    assert "offers no GPU slot" in d.reason and "0 slot(s)" not in d.reason


def test_capacity_refusal_in_shared_mode_names_the_limit():
    holdings = [hold("0", container="a"), hold("0", container="b")]
    d = decide([whole(0)], holdings, req(), policy=Policy(sharing="shared", max_containers_per_gpu=2), now=NOW)
    assert d.refused == "capacity"
    assert "already have 2 container(s) (max_containers_per_gpu)" in d.reason
