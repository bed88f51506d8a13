"""``ds01 monitor dashboard``: one frame at 80 and 200 columns (columns drop by priority), the
JSON frame, what a user sees of others, and the live view driven through a real
pseudo-terminal (starts, refreshes, quits on q, leaves the terminal's settings as they were).
Also ``container list``: the keep-alive and the time left before a stop."""

from __future__ import annotations

import json
import os
import re

import pytest
from monitoring_support import ds01_env, running

from support.cli import ds01_executable, run_process


def _once(columns: int, **extra: str) -> str:
    r = run_process("monitor", "dashboard", "--once", env=ds01_env({"COLUMNS": str(columns), **extra}))
    assert r.exit_code == 0, r
    return r.stdout


def test_one_frame_fits_80_columns_and_shows_more_at_200(cli, menv, tagged, monkeypatch):
    name = tagged("dash")
    running(cli, menv, monkeypatch, name)
    assert cli("gpu", "allocate", "bob", "b1", "1", "10").exit_code == 0
    assert cli("gpu", "allocate", "bob", "b2", "5", "10").exit_code == 3  # an event with a long reason
    narrow = _once(80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert "\x1b[" not in narrow  # NO_COLOR and no terminal: plain text
    for heading in (
        "GPU slots",
        "SLOT",
        "STATE",
        "USER",
        "Running containers",
        "CPU%",
        "STOP IN",
        "Users",
        "SLOTS",
        "Last events",
    ):
        assert heading in narrow, heading
    assert "REASON" not in narrow  # the least important column of the events dropped first
    assert name in narrow and "alice" in narrow and "b1" in narrow
    assert re.search(rf"{re.escape(name)}\s+alice\s+[\d.-]+\s+[\d.]+[kMG]?B/268\.4MB", narrow), narrow
    wide = _once(200)
    assert max(len(line) for line in wide.splitlines()) <= 200
    for heading in ("PROFILE", "GPU MEM", "ACTIVITY", "PIDS", "UP", "REASON"):
        assert heading in wide, heading
    assert "3g.40gb" in wide


def test_json_frame_and_what_a_user_sees(cli, menv, tagged, monkeypatch):
    mine = running(cli, menv, monkeypatch, tagged("dash-own"))
    assert cli("gpu", "allocate", "bob", "b1", "1", "10").exit_code == 0
    admin = json.loads(cli("monitor", "dashboard", "--json").stdout)
    assert set(admin) == {"generated_at", "everyone", "slots", "containers", "users", "events", "warnings"}
    assert admin["everyone"] is True
    holders = {h["user"]: h["container"] for s in admin["slots"] for h in s["holders"]}
    assert holders["bob"] == "b1" and holders["alice"] == mine
    assert {u["user"] for u in admin["users"]} >= {"alice", "bob"}
    own = next(c for c in admin["containers"] if c["container"] == mine)
    assert own["memory_limit_bytes"] == 256 * 1024 * 1024 and own["pids"] >= 1
    assert own["uptime_seconds"] >= 0 and own["stop_in_seconds"] is not None  # max_runtime 48h

    bob = json.loads(cli("monitor", "dashboard", "--json", env=menv.caller("bob")).stdout)
    assert bob["everyone"] is False
    seen = {h["user"]: h["container"] for s in bob["slots"] for h in s["holders"]}
    assert seen["alice"] is None and seen["bob"] == "b1"  # the slot map, not others' container names
    assert bob["containers"] == []  # alice's container is not his
    assert [u["user"] for u in bob["users"]] == ["bob"]
    assert all(e["user"] == "bob" for e in bob["events"])


@pytest.mark.docker  # reaches the engine through ds01 itself
def test_live_view_in_a_real_terminal_quits_on_q_and_restores_it(cli, menv, tmp_path):
    import pexpect

    assert cli("gpu", "allocate", "carol", "c1", "1", "10").exit_code == 0
    env = ds01_env({"TERM": "xterm", "PS1": "READY> "})
    env.pop("COLUMNS", None)
    shell = pexpect.spawn(
        "/bin/bash",
        ["--norc", "--noprofile"],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 80),
        cwd=str(tmp_path),
    )
    try:
        shell.expect("READY> ")
        shell.sendline("stty -a > before.txt")
        shell.expect("READY> ")
        shell.sendline(f"{ds01_executable()} monitor dashboard --interval 0.5; echo EXIT=$?")
        shell.expect("ds01 dashboard")
        shell.expect("c1")
        first = shell.before
        shell.expect("ds01 dashboard", timeout=10)  # the next frame: it refreshes on its own
        assert "GPU slots" in first or "carol" in shell.before
        shell.send("q")
        shell.expect(r"EXIT=(\d+)")
        assert shell.match.group(1) == "0"
        shell.expect("READY> ")
        shell.sendline("stty -a > after.txt")
        shell.expect("READY> ")
        shell.sendline("cmp before.txt after.txt && echo SAME")
        shell.expect("SAME")
    finally:
        shell.close(force=True)


def test_container_list_shows_keep_alive_and_time_to_stop(cli, menv, tagged, monkeypatch):
    name = tagged("list")
    docker_name = running(cli, menv, monkeypatch, name)
    env = menv.caller("alice")
    r = cli("container", "keep-alive", name, "3h", env=env)
    assert r.exit_code == 0, r
    entries = json.loads(cli("container", "list", "--json", env=env).stdout)
    entry = next(e for e in entries if e["docker_name"] == docker_name)
    assert entry["keep_alive_until"] is not None
    assert entry["runtime_stop_at"] is not None and entry["idle_stop_at"] is None  # not idle yet
    assert 47 * 3600 < entry["stop_in_seconds"] <= 48 * 3600
    table = cli("container", "list", env=env)
    assert table.exit_code == 0, table
    line = next(line for line in table.stdout.splitlines() if line.startswith(name))
    assert "(runtime)" in line and re.search(r"\b(2d|1d23h|47h)", line), line
    assert "KEEP-ALIVE" in table.stdout and "STOP IN" in table.stdout


def test_columns_drop_by_priority():
    from ds01.cli.monitor.dashboard import fit

    columns = (("A", 1), ("B", 3), ("C", 2), ("D", 3))
    rows = [["a" * 10, "b" * 10, "c" * 10, "d" * 10]]
    assert fit(columns, rows, 200) == [0, 1, 2, 3]
    assert fit(columns, rows, 34) == [0, 1, 2]  # D (priority 3, rightmost) goes first
    assert fit(columns, rows, 22) == [0, 2]
    assert fit(columns, rows, 5) == [0]  # priority 1 is never dropped


@pytest.mark.docker  # reaches the engine through ds01 itself
@pytest.mark.parametrize("width", [80, 200])
def test_empty_server_frame(cli, menv, width):
    out = _once(width)
    assert "Running containers: none running" in out
    assert max(len(line) for line in out.splitlines()) <= width
    assert os.environ.get("NO_COLOR") == "1"
