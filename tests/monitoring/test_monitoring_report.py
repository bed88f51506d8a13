"""``ds01 admin report`` against a ledger with a known history at fixed times: MIG fractions,
container-hours from the history, refusals and idle stops from the event log, clipping to the
period, group roll-up, peak slots, and the same numbers in the table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

T0 = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
H = 3600.0


def h(n: float) -> float:
    return T0 + n * H


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _uuid_of(slot: str) -> str:
    from ds01 import paths
    from ds01.gpu import inputs
    from ds01.limits.config import load_config

    inv = inputs.inventory(load_config(paths.config_path()))
    found = inv.slot(slot)
    assert found is not None
    return found.uuid


def _history():
    """alice: a1 on the whole GPU 0 for 0h-10h (stopped 6h-7h), a2 on the 2g slice 1:1 from 8h to 20h;
    bob: b1 on the 3g slice 1:0 from 2h, never released; carol: c1 on the 1g slice 1:2 4h-5h."""
    from ds01.gpu.ledger import Ledger

    led = Ledger()
    plan = [
        ("a1", "alice", "0", 0, 10, [("allocate", 0), ("mark-stopped", 6), ("restart", 7), ("release", 10)]),
        ("b1", "bob", "1:0", 2, None, [("allocate", 2)]),
        ("c1", "carol", "1:2", 4, 5, [("allocate", 4), ("mark-stopped", 5), ("release", 5)]),
        ("a2", "alice", "1:1", 8, 20, [("allocate", 8), ("release-stale", 20)]),
    ]
    try:
        with led.write() as conn:
            for container, user, slot, start, end, events in plan:
                led.insert(
                    conn,
                    slot=slot,
                    uuid=_uuid_of(slot),
                    container=container,
                    user=user,
                    priority=10,
                    at=h(start),
                    confirmed=True,
                )
                row_id = conn.execute("SELECT MAX(id) FROM allocations").fetchone()[0]
                if end is not None:
                    led.release_row(conn, row_id, at=h(end), reason="released")
                for event, at in events:
                    led.record(conn, at=h(at), event=event, user=user, container=container, slot=slot)
    finally:
        led.close()
    log = Path(os.environ["DS01_LOG_DIR"])
    log.mkdir(parents=True, exist_ok=True)
    events = [
        {
            "event": "refuse",
            "user": "alice",
            "container": "a3",
            "gpu_id": "",
            "timestamp": _stamp(h(1)),
            "reason": "alice may hold at most 3 GPU slot(s).",
            "refused": "policy",
        },
        # an event written before refusals carried their kind: told apart by its wording
        {
            "event": "refuse",
            "user": "bob",
            "container": "b2",
            "gpu_id": "",
            "timestamp": _stamp(h(3)),
            "reason": "No free GPU slot for bob: all 5 slot(s) are taken.",
        },
        {
            "event": "refuse",
            "user": "bob",
            "container": "b2",
            "gpu_id": "",
            "timestamp": _stamp(h(30)),
            "reason": "x",
            "refused": "capacity",
        },
        # one idle stop, logged once per slot of the container
        {
            "event": "stop-idle",
            "user": "carol",
            "container": "c1",
            "gpu_id": "1:2",
            "timestamp": _stamp(h(5)),
            "reason": "idle",
        },
        {
            "event": "stop-idle",
            "user": "carol",
            "container": "c1",
            "gpu_id": "1:3",
            "timestamp": _stamp(h(5)),
            "reason": "idle",
        },
        {
            "event": "allocate",
            "user": "carol",
            "container": "c1",
            "gpu_id": "1:2",
            "timestamp": _stamp(h(4)),
            "reason": "priority 10",
        },
    ]
    (log / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


EXPECTED_USERS = {
    "alice": {
        "gpu_hours": round(10 + 4 * 2 / 7, 3),
        "container_hours": 13.0,
        "allocations": 2,
        "refusals_quota": 1,
        "refusals_capacity": 0,
        "idle_stops": 0,
        "peak_slots": 2,
    },
    "bob": {
        "gpu_hours": round(10 * 3 / 7, 3),
        "container_hours": 10.0,
        "allocations": 1,
        "refusals_quota": 0,
        "refusals_capacity": 1,
        "idle_stops": 0,
        "peak_slots": 1,
    },
    "carol": {
        "gpu_hours": round(1 / 7, 3),
        "container_hours": 1.0,
        "allocations": 1,
        "refusals_quota": 0,
        "refusals_capacity": 0,
        "idle_stops": 1,
        "peak_slots": 1,
    },
}


def _report(cli, *args: str, env: dict | None = None):
    return cli("admin", "report", "--since", "2026-01-05", "--until", "2026-01-05T12:00", *args, env=env)


def test_report_numbers_from_a_known_history(cli, menv):
    _history()
    r = _report(cli, "--json")
    assert r.exit_code == 0, r
    data = json.loads(r.stdout)
    assert data["since"] == "2026-01-05T00:00:00Z" and data["until"] == "2026-01-05T12:00:00Z"
    assert "3/7" in data["note"]
    got = {row["user"]: {k: v for k, v in row.items() if k != "user"} for row in data["rows"]}
    assert got == EXPECTED_USERS
    total = data["total"]
    assert total["user"] == "TOTAL"
    assert total["gpu_hours"] == pytest.approx(sum(v["gpu_hours"] for v in EXPECTED_USERS.values()))
    assert total["container_hours"] == 24.0
    assert (total["allocations"], total["refusals_quota"], total["refusals_capacity"], total["idle_stops"]) == (
        4,
        1,
        1,
        1,
    )
    assert total["peak_slots"] == 3  # 8h-10h: a1, a2 and b1


def test_csv_and_table_carry_the_same_numbers(cli, menv):
    _history()
    as_json = json.loads(_report(cli, "--json").stdout)
    r = _report(cli, "--csv")
    assert r.exit_code == 0, r
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["user"] for row in rows] == ["alice", "bob", "carol", "TOTAL"]
    for row, want in zip(rows, [*as_json["rows"], as_json["total"]], strict=True):
        for key, value in want.items():
            assert row[key] == str(value), key
        assert row["since"] == "2026-01-05T00:00:00Z" and row["until"] == "2026-01-05T12:00:00Z"
    table = _report(cli)
    assert table.exit_code == 0, table
    assert "3/7" in table.stdout  # the header says how MIG slots count
    alice = next(line for line in table.stdout.splitlines() if line.startswith("alice"))
    assert alice.split() == ["alice", "11.143", "13.0", "2", "1", "0", "0", "2"]


def test_period_clipping(cli, menv):
    _history()
    r = cli("admin", "report", "--since", "2026-01-05T09:00", "--until", "2026-01-05T11:00", "--json")
    data = json.loads(r.stdout)
    alice = next(row for row in data["rows"] if row["user"] == "alice")
    # a1 9h-10h on a whole GPU, a2 9h-11h on a 2g slice; neither was allocated inside the period
    assert alice["gpu_hours"] == round(1 + 2 * 2 / 7, 3)
    assert alice["container_hours"] == 3.0
    assert alice["allocations"] == 0 and alice["refusals_quota"] == 0
    assert {row["user"] for row in data["rows"]} == {"alice", "bob"}  # carol had nothing in 9h-11h


def test_group_roll_up(cli, menv):
    _history()
    data = json.loads(_report(cli, "--by", "group", "--json").stdout)
    groups = {row["group"]: row for row in data["rows"]}
    assert set(groups) == {"students", "staff"}
    assert groups["students"]["gpu_hours"] == round(10 + 4 * 2 / 7 + 10 * 3 / 7, 3)
    assert groups["students"]["peak_slots"] == 3  # a group's peak is its members' slots at one moment
    assert groups["students"]["refusals_quota"] + groups["students"]["refusals_capacity"] == 2
    assert groups["staff"]["idle_stops"] == 1
    assert data["total"]["group"] == "TOTAL"


def test_open_intervals_count_up_to_now():
    from ds01.orchestrators.monitoring.report import Interval, usage

    now = h(100)
    rows, total = usage(
        [Interval("dora", now - 1.5 * H, None, 3 / 7)],
        [Interval("dora", now - H, None)],
        [],
        since=h(0),
        until=h(1000),
        now=now,
    )
    assert rows[0]["gpu_hours"] == round(1.5 * 3 / 7, 3)
    assert rows[0]["container_hours"] == 1.0
    assert total["peak_slots"] == 1


@pytest.mark.parametrize(
    ("profile", "gpu", "fraction"),
    [
        (None, "NVIDIA A100-SXM4-80GB", 1.0),
        ("3g.40gb", "NVIDIA A100-SXM4-80GB", 3 / 7),
        ("1c.3g.40gb", "NVIDIA A100-SXM4-80GB", 1 / 7),
        ("7g.80gb", "NVIDIA H100 80GB HBM3", 1.0),
        ("2g.12gb", "NVIDIA A30", 0.5),
        ("1g.10gb+me", "NVIDIA A100-SXM4-80GB", 1 / 7),
    ],
)
def test_mig_fractions(profile, gpu, fraction):
    from ds01.orchestrators.monitoring.report import profile_fraction

    assert profile_fraction(profile, gpu) == pytest.approx(fraction)


def test_bad_periods_and_non_admins_are_refused(cli, menv):
    r = cli("admin", "report", "--since", "yesterday-ish")
    assert r.exit_code == 2 and "--since" in r.stderr
    r = cli("admin", "report", "--since", "2026-01-05", "--until", "2026-01-04")
    assert r.exit_code == 2 and "after" in r.stderr
    r = cli("admin", "report", env=menv.caller("alice"))
    assert r.exit_code == 3 and "admin" in r.stderr


def test_no_ledger_reports_nothing_and_creates_nothing(cli, menv):
    from ds01 import paths

    r = cli("admin", "report", "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["rows"] == []
    assert not (paths.state_dir() / "ds01.db").exists()
