"""Lifecycle passes on the real engine: idle stops (CPU, GPU and shells judged together),
keep-alive, max_runtime, removal after container_hold_after_stop and recreation, dry runs,
one pass at a time. The clock of a pass is injected, so a 20s idle timeout needs no 20s wait."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ds01.identity import Identity


def _config():
    from ds01 import paths
    from ds01.limits.config import load_config

    return load_config(paths.config_path())


def _pass(at: float, **kw):
    from ds01.orchestrators.lifecycle import run_pass

    # Only this session's containers: the engine is shared, and a pass with a clock hours ahead
    # would stop or remove whatever else runs on it.
    tag = os.environ["DS01_TEST_SESSION_TAG"]
    return run_pass(_config(), now=lambda: at, stop_timeout=1, only=lambda name: tag in name, **kw)


def _owner(lenv, user: str) -> Identity:
    uid = lenv.uid(user)
    return Identity(name=user, uid=uid, gid=uid, home=Path("/home") / user, via_sudo=True)


def _make(cli, lenv, as_user, user: str, short: str, *, ws: str = "ws") -> dict:
    as_user(user)
    r = cli(
        "container",
        "create",
        lenv.name(short),
        "--image",
        "ds01-base:busybox",
        "-w",
        str(lenv.workspace(user, ws)),
        "--json",
    )
    assert r.exit_code == 0, r
    assert cli("container", "start", lenv.name(short)).exit_code == 0
    as_user(None)
    return json.loads(r.stdout)


def _busy_loop(lenv, user: str, short: str) -> None:
    from ds01.base import engine, execs

    owner = _owner(lenv, user)
    info = engine.find_container(lenv.name(short), owner)
    assert execs.run_command(info, owner, ["sh", "-c", "while :; do :; done"], detach=True) == 0


def _state(docker_env, lenv, short: str, user: str) -> str | None:
    found = docker_env.api.containers(all=True, filters={"name": lenv.docker_name(short, user)})
    return found[0]["State"] if found else None


def _rows(name: str) -> list:
    from ds01.gpu.ledger import Ledger

    led = Ledger()
    try:
        return led.rows_for(name)
    finally:
        led.close()


def _names(entries: list[dict]) -> set[str]:
    return {e["container"] for e in entries}


def test_idle_container_is_stopped_busy_ones_are_not(cli, lenv, as_user, docker_env):
    lenv.rewrite(idle="20s")
    idle = _make(cli, lenv, as_user, "alice", "lc-sleep")
    _make(cli, lenv, as_user, "alice", "lc-cpu")
    gpu = _make(cli, lenv, as_user, "bob", "lc-gpu")
    _busy_loop(lenv, "alice", "lc-cpu")
    lenv.mark_busy(gpu["slots"][0])  # bob's slot does work: the simulated inventory says so
    sleepy, cpu, gpu_name = (
        lenv.docker_name("lc-sleep", "alice"),
        lenv.docker_name("lc-cpu", "alice"),
        lenv.docker_name("lc-gpu", "bob"),
    )
    t0 = time.time()
    first = _pass(t0)
    assert first.sampled >= 3 and not first.stopped_idle and not first.warned  # no CPU delta yet
    time.sleep(3)
    second = _pass(t0 + 25)
    assert _names(second.stopped_idle) == {sleepy}, second
    (entry,) = second.stopped_idle
    assert entry["user"] == "alice" and "idle longer than idle_timeout 20s" in entry["reason"]
    assert "no shell open" in entry["reason"] and "GPU slot" in entry["reason"]
    assert _state(docker_env, lenv, "lc-sleep", "alice") == "exited"
    assert _state(docker_env, lenv, "lc-cpu", "alice") == "running"
    assert _state(docker_env, lenv, "lc-gpu", "bob") == "running"
    # Stopped like `container stop`: the GPU slot is held, not released.
    (row,) = _rows(sleepy)
    assert row.slot == idle["slots"][0] and row.stopped_at is not None and row.released_at is None
    log = (Path(os.environ["DS01_LOG_DIR"]) / "gpu-allocations.log").read_text()
    assert f"|stop-idle|alice|{sleepy}|{row.slot}|idle longer than idle_timeout 20s" in log
    events = [json.loads(line) for line in (Path(os.environ["DS01_LOG_DIR"]) / "events.jsonl").read_text().splitlines()]
    assert any(e["event"] == "stop-idle" and e["container"] == sleepy for e in events)
    # The owner finds a notice at `ds01 status`.
    as_user("alice")
    status = json.loads(cli("status", "--json").stdout)
    assert any(n["kind"] == "stopped" and n["container"] == lenv.name("lc-sleep") for n in status["notices"])
    assert {r["container"] for r in status["lifecycle"]} == {cpu}
    # ... and at the next `container run`.
    from support.cli import run_process

    r = run_process("container", "run", lenv.name("lc-sleep"), env=lenv.caller("alice"), input="exit 0\n")
    assert r.exit_code == 0, r
    assert f"Your container {lenv.name('lc-sleep')} was stopped: idle longer than" in r.stderr
    as_user("bob")
    assert json.loads(cli("status", "--json").stdout)["notices"] == []  # notices are per user
    # The GPU evidence names the busy slot.
    as_user(None)
    rows = json.loads(cli("monitor", "idle", "--json").stdout)
    (g,) = [r for r in rows if r["container"] == gpu_name]
    assert g["idle"] is False and "busy" in g["evidence"] and g["action"] == "none"


def test_keep_alive_postpones_the_idle_stop_until_it_ends(cli, lenv, as_user, docker_env):
    lenv.rewrite(idle="20s", max_keep_alive="2m")
    _make(cli, lenv, as_user, "alice", "lc-ka")
    _make(cli, lenv, as_user, "bob", "lc-kafile", ws="kaws")
    as_user("alice")
    r = cli("container", "keep-alive", lenv.name("lc-ka"), "1h", "--json")  # more than the 2m policy allows
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["capped"] is True
    as_user(None)
    # bob keeps his alive with a file in his workspace (read as bob).
    ka = lenv.workspace("bob", "kaws") / ".keep-alive"
    ka.write_text("90s\n")
    os.chown(ka, lenv.uid("bob"), lenv.uid("bob"))
    t0 = time.time()
    _pass(t0)
    second = _pass(t0 + 25)
    assert second.stopped_idle == [] and _state(docker_env, lenv, "lc-ka", "alice") == "running"
    assert _names(second.warned) == {lenv.docker_name("lc-ka", "alice"), lenv.docker_name("lc-kafile", "bob")}
    third = _pass(t0 + 100)  # bob's 90s are over; alice's keep-alive is capped at 2m
    assert _names(third.stopped_idle) == {lenv.docker_name("lc-kafile", "bob")}
    assert third.warned == []  # warned once per stop time
    fourth = _pass(t0 + 200)
    assert _names(fourth.stopped_idle) == {lenv.docker_name("lc-ka", "alice")}


def test_keep_alive_file_that_is_a_symlink_is_not_followed(cli, lenv, as_user, docker_env):
    lenv.rewrite(idle="20s")
    _make(cli, lenv, as_user, "alice", "lc-kalink", ws="lws")
    secret = lenv.world / "root-only"
    secret.write_text("1h\n")
    os.chmod(secret, 0o600)
    link = lenv.workspace("alice", "lws") / ".keep-alive"
    link.symlink_to(secret)
    os.lchown(link, lenv.uid("alice"), lenv.uid("alice"))
    t0 = time.time()
    _pass(t0)
    assert _names(_pass(t0 + 25).stopped_idle) == {lenv.docker_name("lc-kalink", "alice")}


def test_max_runtime_stops_a_busy_container_and_keep_alive_does_not_extend_it(cli, lenv, as_user, docker_env):
    lenv.rewrite(runtime="30s", idle="1h")
    _make(cli, lenv, as_user, "alice", "lc-rt")
    _busy_loop(lenv, "alice", "lc-rt")
    as_user("alice")
    assert cli("container", "keep-alive", lenv.name("lc-rt")).exit_code == 0
    as_user(None)
    t0 = time.time()
    first = _pass(t0)
    assert _names(first.warned) == {lenv.docker_name("lc-rt", "alice")}  # 30s < idle_warning: warned at once
    second = _pass(t0 + 60)
    assert _names(second.stopped_runtime) == {lenv.docker_name("lc-rt", "alice")}, second
    assert "max_runtime 30s" in second.stopped_runtime[0]["reason"]
    assert _state(docker_env, lenv, "lc-rt", "alice") == "exited"


def test_stopped_container_is_removed_then_recreated_with_its_workspace(cli, lenv, as_user, docker_env):
    from ds01.units.containers import definitions

    lenv.rewrite(container_hold="1m", gpu_hold="null")
    made = _make(cli, lenv, as_user, "alice", "lc-rm")
    (lenv.workspace("alice") / "thesis.txt").write_text("chapter 1\n")
    as_user("alice")
    assert cli("container", "stop", lenv.name("lc-rm"), "--timeout", "1").exit_code == 0
    as_user(None)
    dname = lenv.docker_name("lc-rm", "alice")
    assert _pass(time.time()).removed == []  # not yet
    report = _pass(time.time() + 120)
    assert [(e["user"], e["container"]) for e in report.removed] == [("alice", dname)]
    assert _state(docker_env, lenv, "lc-rm", "alice") is None and _rows(dname) == []
    assert definitions.load(_owner(lenv, "alice"), lenv.name("lc-rm")) is not None
    log = (Path(os.environ["DS01_LOG_DIR"]) / "gpu-allocations.log").read_text()
    assert f"|remove-stopped|alice|{dname}|{made['slots'][0]}|" in log
    as_user("alice")
    r = cli("container", "start", lenv.name("lc-rm"), "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["recreated"] is True
    from ds01.base import engine, execs

    owner = _owner(lenv, "alice")
    out: list[bytes] = []
    execs.run_command(
        engine.find_container(lenv.name("lc-rm"), owner), owner, ["cat", "/workspace/thesis.txt"], out=out.append
    )
    assert b"".join(out) == b"chapter 1\n"


def test_dry_run_changes_nothing(cli, lenv, as_user, docker_env):
    import sqlite3

    lenv.rewrite(idle="20s", container_hold="1m")
    _make(cli, lenv, as_user, "alice", "lc-dry")
    _make(cli, lenv, as_user, "alice", "lc-dry2")
    as_user("alice")
    assert cli("container", "stop", lenv.name("lc-dry2"), "--timeout", "1").exit_code == 0
    as_user(None)
    t0 = time.time()
    _pass(t0)
    state = Path(os.environ["DS01_STATE_DIR"])
    logs = Path(os.environ["DS01_LOG_DIR"])

    def snapshot():
        conn = sqlite3.connect(state / "ds01.db")
        try:
            db = [
                conn.execute(f"SELECT * FROM {t}").fetchall()
                for t in ("allocations", "samples", "history", "keep_alive")
            ]
        finally:
            conn.close()
        files = {p.name: p.read_bytes() for p in logs.iterdir()}
        # SQLite's -wal/-shm files come and go with connections; the rows above are the content.
        return db, files, sorted(p.name for p in state.rglob("*") if not p.name.endswith(("-wal", "-shm")))

    before = snapshot()
    report = _pass(t0 + 200, dry_run=True)
    assert _names(report.stopped_idle) == {lenv.docker_name("lc-dry", "alice")}
    assert _names(report.removed) == {lenv.docker_name("lc-dry2", "alice")}
    assert snapshot() == before
    assert _state(docker_env, lenv, "lc-dry", "alice") == "running"
    assert _state(docker_env, lenv, "lc-dry2", "alice") == "exited"
    r = cli("lifecycle", "run", "--dry-run", "--json")
    assert r.exit_code == 0, r
    assert set(json.loads(r.stdout)) >= {"sampled", "warned", "stopped_idle", "stopped_runtime", "released", "removed"}
    assert snapshot() == before


def test_a_second_pass_while_one_runs_skips(cli, lenv, as_user, docker_env):
    from ds01.orchestrators.lifecycle import _lock

    fd = _lock(_config())
    try:
        r = cli("lifecycle", "run", "--json")
        assert r.exit_code == 0, r
        assert json.loads(r.stdout)["skipped"] is True
        assert "skipped" in cli("lifecycle", "run").stderr
    finally:
        os.close(fd)
    r = cli("lifecycle", "run", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["skipped"] is False


def test_lifecycle_run_is_for_admins(cli, lenv, as_user):
    as_user("alice")
    r = cli("lifecycle", "run")
    assert r.exit_code == 3 and "admin" in r.stderr
