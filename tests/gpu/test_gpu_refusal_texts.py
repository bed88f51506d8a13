"""Every refusal text of the allocator and the limits parsers, against the state it describes:
one row per state, with the exact sentence a user reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ds01.gpu.allocator import Holding, Policy, Request, decide
from ds01.gpu.model import Slot
from ds01.limits.reservation import Reservation
from ds01.limits.units import LimitsValueError, parse_duration, parse_size

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WHOLE = [Slot("0", "GPU-0", 0, None, 80 * 1024**3), Slot("1", "GPU-1", 1, None, 80 * 1024**3)]
MIG = [Slot("2:0", "MIG-2-0", 2, "1g.10gb", 10 * 1024**3)]


def h(
    slot: str,
    user: str = "bob",
    container: str = "c._.1",
    *,
    pending: bool = False,
    stopped: timedelta | None = None,
    hold: timedelta | None = None,
) -> Holding:
    stopped_at = None if stopped is None else NOW - stopped
    until = None if stopped_at is None or hold is None else stopped_at + hold
    return Holding(
        slot,
        container,
        user,
        10,
        NOW - timedelta(hours=1),
        stopped_at,
        until,
        uuid={"0": "GPU-0", "1": "GPU-1", "2:0": "MIG-2-0"}[slot],
        pending=pending,
    )


def r(count: int = 1, **kw) -> Request:
    return Request(user="alice", container=kw.pop("container", "new._.1"), count=count, priority=10, **kw)


RES = Reservation("carol", NOW - timedelta(hours=1), NOW + timedelta(hours=5), ("0", "1"), "thesis")

CASES = [
    # state, slots, holdings, request, policy, reservations, (class, exact reason), details
    ("asks for zero slots", WHOLE, [], r(0), Policy(), [], ("usage", "Ask for at least one GPU slot (got 0)."), ()),
    (
        "unknown strategy",
        WHOLE,
        [],
        r(),
        Policy(strategy="fastest"),
        [],
        ("usage", "Unknown allocation strategy 'fastest'."),
        (),
    ),
    (
        "another user's row has this container name",
        WHOLE,
        [h("0", container="new._.1")],
        r(),
        Policy(),
        [],
        (
            "policy",
            "The ledger holds GPU slot(s) for new._.1 for bob, not for alice; an admin must release them "
            "first (`ds01 gpu release new._.1`).",
        ),
        (),
    ),
    (
        "more slots than one container may have",
        WHOLE,
        [],
        r(2, max_gpus_per_container=1),
        Policy(),
        [],
        ("policy", "alice may use at most 1 GPU slot(s) per container (asked for 2); ask for fewer."),
        (),
    ),
    (
        "quota zero: GPU use not allowed, nothing to release",
        WHOLE,
        [],
        r(max_mig_instances=0),
        Policy(),
        [],
        (
            "policy",
            "GPU use is not allowed for alice (max_mig_instances: 0); ask an admin if you need a GPU, or "
            "create the container without one.",
        ),
        (),
    ),
    (
        "holds nothing, asks for more than the quota",
        WHOLE,
        [],
        r(2, max_mig_instances=1, max_gpus_per_container=2),
        Policy(),
        [],
        ("policy", "alice may hold at most 1 GPU slot(s) at once (asked for 2); ask for fewer."),
        (),
    ),
    (
        "quota full, one running container",
        WHOLE,
        [h("0", "alice")],
        r(max_mig_instances=1),
        Policy(),
        [],
        (
            "policy",
            "alice already holds 1 of 1 allowed GPU slot(s); release one (`container retire NAME` or "
            "`gpu release CONTAINER`) first.",
        ),
        ("slot 0: alice (c._.1, running)",),
    ),
    (
        "quota full, pending allocation (container not created yet)",
        WHOLE,
        [h("0", "alice", pending=True)],
        r(max_mig_instances=1),
        Policy(),
        [],
        (
            "policy",
            "alice already holds 1 of 1 allowed GPU slot(s); release one (`container retire NAME` or "
            "`gpu release CONTAINER`) first.",
        ),
        ("slot 0: alice (c._.1, allocated, container not created yet)",),
    ),
    (
        "two over the quota",
        WHOLE + MIG,
        [h("0", "alice", "a._.1"), h("1", "alice", "b._.1")],
        r(2, max_mig_instances=2, max_gpus_per_container=2),
        Policy(),
        [],
        (
            "policy",
            "alice already holds 2 of 2 allowed GPU slot(s); release 2 (`container retire NAME` or "
            "`gpu release CONTAINER`) first.",
        ),
        ("slot 0: alice (a._.1, running)", "slot 1: alice (b._.1, running)"),
    ),
    (
        "free slots reserved for someone else",
        WHOLE,
        [],
        r(),
        Policy(),
        [RES],
        (
            "policy",
            "The free slot(s) 0, 1 are reserved for carol until 2026-03-01 17:00 UTC (thesis); try again "
            "after the reservation ends.",
        ),
        (),
    ),
    (
        "only whole GPUs free, user may not have one",
        WHOLE + MIG,
        [h("2:0")],
        r(allow_full_gpu=False),
        Policy(),
        [],
        (
            "policy",
            "Only whole GPUs are free and alice may not use a whole GPU (allow_full_gpu: false); wait for a "
            "MIG slice to free up.",
        ),
        (),
    ),
    (
        "no slot on this server",
        [],
        [],
        r(),
        Policy(),
        [],
        (
            "capacity",
            "This server offers no GPU slot at all; `ds01 gpu status` says why (no GPU found, or MIG "
            "enabled without instances).",
        ),
        (),
    ),
    (
        "fewer free than asked",
        WHOLE,
        [h("0")],
        r(2, max_gpus_per_container=2),
        Policy(),
        [],
        ("capacity", "Not enough free GPU slots for alice: asked for 2, 1 free. Try again later, or use --wait."),
        ("slot 0: bob (c._.1, running)",),
    ),
    (
        "all taken, one pending, one stopped and held",
        WHOLE,
        [h("0", pending=True), h("1", "carol", "d._.1", stopped=timedelta(minutes=30), hold=timedelta(hours=1))],
        r(),
        Policy(),
        [],
        (
            "capacity",
            "No free GPU slot for alice: all 2 slot(s) are taken. The next hold expires at 2026-03-01 "
            "12:30 UTC (slot 1, in about 30 min).",
        ),
        (
            "slot 0: bob (c._.1, allocated, container not created yet)",
            "slot 1: carol (d._.1, stopped, held until 2026-03-01 12:30 UTC)",
        ),
    ),
    (
        "all taken, held indefinitely",
        WHOLE[:1],
        [h("0", stopped=timedelta(hours=2))],
        r(),
        Policy(),
        [],
        ("capacity", "No free GPU slot for alice: all 1 slot(s) are taken. Try again later, or use --wait."),
        ("slot 0: bob (c._.1, stopped since 2026-03-01 10:00 UTC, held indefinitely)",),
    ),
    (
        "shared mode, every slot full",
        WHOLE[:1],
        [h("0"), h("0", "carol", "d._.1")],
        r(),
        Policy(sharing="shared", max_containers_per_gpu=2),
        [],
        (
            "capacity",
            "No free GPU slot for alice: all 1 slot(s) already have 2 container(s) (max_containers_per_gpu). "
            "Try again later, or use --wait.",
        ),
        ("slot 0: bob (c._.1, running)", "slot 0: carol (d._.1, running)"),
    ),
]


@pytest.mark.parametrize(
    ("state", "slots", "holdings", "request_", "policy", "reservations", "want", "details"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_allocator_refusal_says_what_is_true(
    state, slots, holdings, request_, policy, reservations, want, details
) -> None:
    d = decide(slots, holdings, request_, policy=policy, reservations=reservations, now=NOW)
    assert (d.refused, d.reason) == want
    assert d.details == details


UNITS = [
    (
        "duration '--': no number at all",
        parse_duration,
        "--",
        "k: '--' is not a duration; expected a number with a unit s, m, h, d or w (e.g. 30m, 0.5h, 48h, 2d, 1h30m)",
    ),
    (
        "duration below zero",
        parse_duration,
        "-5m",
        "k: '-5m' is negative; expected a number with a unit s, m, h, d or w (e.g. 30m, 0.5h, 48h, 2d, 1h30m)",
    ),
    (
        "duration without unit",
        parse_duration,
        "48",
        "k: '48' is a bare number without a unit; expected a number with a unit s, m, h, d or w (e.g. 30m, 0.5h, "
        "48h, 2d, 1h30m)",
    ),
    (
        "duration as a word",
        parse_duration,
        "never",
        "k: 'never' has no known duration unit; expected a number with a unit s, m, h, d or w (e.g. 30m, 0.5h, "
        "48h, 2d, 1h30m)",
    ),
    (
        "size '-': no number at all",
        parse_size,
        "-",
        "k: '-' is not a size; expected a number with a unit b, k, m, g or t (docker style, e.g. 512m, 32g, 1.5g, 1t)",
    ),
    (
        "size below zero",
        parse_size,
        "-1g",
        "k: '-1g' is negative; expected a number with a unit b, k, m, g or t (docker style, e.g. 512m, 32g, 1.5g, 1t)",
    ),
]


@pytest.mark.parametrize(("state", "parse", "value", "sentence"), UNITS, ids=[u[0] for u in UNITS])
def test_limits_value_refusal_says_what_is_true(state, parse, value, sentence) -> None:
    with pytest.raises(LimitsValueError) as err:
        parse(value, key="k")
    assert str(err.value) == sentence
