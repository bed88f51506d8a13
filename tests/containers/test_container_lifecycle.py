"""run/start/stop/list/stats/cleanup/deploy/retire and `ds01 status` against the real engine,
including the whole hold-after-stop flow and ownership."""

from __future__ import annotations

import json
import time

from ds01.base import engine, execs
from ds01.identity import Identity


def _owner(cenv, user: str) -> Identity:
    uid = cenv.uid(user)
    return Identity(name=user, uid=uid, gid=uid, home=cenv.root / f"home-{user}", via_sudo=True)


def _exec(cenv, user: str, name: str, argv: list[str]) -> tuple[int, str]:
    owner = _owner(cenv, user)
    info = engine.find_container(name, owner)
    out: list[bytes] = []
    code = execs.run_command(info, owner, argv, out=out.append, err=out.append)
    return code, b"".join(out).decode()


def _list(cli, *extra: str) -> dict[str, dict]:
    r = cli("container", "list", "--json", *extra)
    assert r.exit_code == 0, r
    return {e["name"]: e for e in json.loads(r.stdout)}


def test_hold_after_stop_release_stale_and_recreate(cli, cenv, as_user, docker_env, base_image):
    as_user("alice")
    ws = cenv.workspace("alice")
    name = cenv.name("lc-hold")
    dname = cenv.docker_name("lc-hold", "alice")
    created = json.loads(cli("container", "create", name, "--image", base_image, "-w", str(ws), "--json").stdout)
    slot = created["slots"][0]
    assert cli("container", "start", name).exit_code == 0
    assert _exec(cenv, "alice", name, ["sh", "-c", "echo kept > /workspace/note.txt"])[0] == 0
    # stop: the hold clock starts; the slot stays and the user is told for how long.
    r = cli("container", "stop", name, "--timeout", "1")
    assert r.exit_code == 0 and "1h" in r.stderr and f"ds01 container cleanup {name}" in r.stderr
    assert "/workspace" in r.stderr
    entry = _list(cli)[name]
    assert entry["status"] == "stopped" and entry["gpu_slots"] == [slot] and entry["held_until"]
    (row,) = cenv.active_rows()
    assert row[4] is not None
    # start inside the window: same slot, clock cleared.
    s = json.loads(cli("container", "start", name, "--json").stdout)
    assert s == {"name": name, "docker_name": dname, "started": True, "recreated": False, "gpu_slots": [slot]}
    assert cenv.active_rows()[0][4] is None
    assert json.loads(cli("container", "stop", name, "--json").stdout)["held_until"]
    # Time travel: the stop happened two hours ago, past the 1h hold.
    from ds01.gpu.ledger import Ledger

    led = Ledger()
    with led.write() as conn:
        Ledger.set_stopped(conn, dname, None)  # set_stopped keeps an earlier time: clear it first
        Ledger.set_stopped(conn, dname, time.time() - 7200)
    led.close()
    as_user(None)  # release-stale runs from root's cron
    r = cli("gpu", "release-stale", "--json")
    assert r.exit_code == 0, r
    assert [e["container"] for e in json.loads(r.stdout)["released"]] == [dname]
    assert cenv.active_rows() == [] and not docker_env.api.containers(all=True, filters={"name": dname})
    as_user("alice")
    entry = _list(cli, "--all")[name]
    assert entry["status"] == "released" and entry["gpu_slots"] == []
    assert name not in _list(cli)
    plain = cli("container", "list")  # not "No containers; create one": it is only released
    assert "1 released" in plain.stderr and "create one" not in plain.stderr, plain
    # Someone else takes the old slot meanwhile; run recreates with a fresh allocation.
    as_user("bob")
    other = json.loads(
        cli(
            "container",
            "create",
            cenv.name("lc-taker"),
            "--image",
            base_image,
            "-w",
            str(cenv.workspace("bob")),
            "--json",
        ).stdout
    )
    assert other["slots"] == [slot]
    as_user("alice")
    s = json.loads(cli("container", "start", name, "--json").stdout)
    assert s["recreated"] is True and s["gpu_slots"] and s["gpu_slots"] != [slot]
    assert _exec(cenv, "alice", name, ["cat", "/workspace/note.txt"]) == (0, "kept\n")
    attrs = docker_env.api.inspect_container(dname)
    assert attrs["Config"]["Labels"]["ds01.gpu.slots"] == s["gpu_slots"][0]
    assert f"NVIDIA_VISIBLE_DEVICES={attrs['Config']['Labels']['ds01.gpu.uuids']}" in attrs["Config"]["Env"]
    assert attrs["HostConfig"]["CgroupParent"] == "ds01-student.slice"
    rows = {r[1]: r for r in cenv.active_rows()}
    assert rows[dname][0] == s["gpu_slots"][0] and rows[dname][3] == 1
    assert cli("container", "cleanup", name, "--force").exit_code == 0
    as_user("bob")
    assert cli("container", "cleanup", cenv.name("lc-taker")).exit_code == 0
    assert cenv.active_rows() == []


def test_ownership_other_users_containers_are_not_found(cli, cenv, as_user, docker_env, base_image):
    as_user("alice")
    name = cenv.name("lc-own")
    assert (
        cli(
            "container", "create", name, "--image", base_image, "-w", str(cenv.workspace("alice")), "--gpus", "0"
        ).exit_code
        == 0
    )
    as_user("bob")
    nobody = cli("container", "stop", cenv.name("lc-nobody"))
    for verb in ("stop", "start", "cleanup", "retire"):
        r = cli("container", verb, name)
        assert r.exit_code == 2, (verb, r)
        assert r.stderr == nobody.stderr.replace(cenv.name("lc-nobody"), name)
    assert name not in _list(cli, "--all")
    # An admin from the config sees and acts on everyone's.
    as_user("boss")
    everyone = _list(cli, "--all")
    assert everyone[name]["user"] == "alice"
    assert cli("container", "start", name).exit_code == 0
    assert cli("container", "stop", name, "-f").exit_code == 0
    assert cli("container", "cleanup", name).exit_code == 0
    assert not docker_env.api.containers(all=True, filters={"name": cenv.docker_name("lc-own", "alice")})


def test_cleanup_refuses_running_then_all_stopped(cli, cenv, as_user, docker_env, base_image):
    as_user("alice")
    ws = str(cenv.workspace("alice"))
    a, b = cenv.name("lc-cl-a"), cenv.name("lc-cl-b")
    for n in (a, b):
        assert cli("container", "create", n, "--image", base_image, "-w", ws).exit_code == 0
    assert cli("container", "start", a).exit_code == 0
    r = cli("container", "cleanup", a, b)
    assert r.exit_code == 2 and "running" in r.stderr
    assert len(cenv.active_rows()) == 2  # all or nothing: b was not removed either
    r = cli("container", "cleanup", "--all-stopped", "--json")
    assert [d["name"] for d in json.loads(r.stdout) if d["name"].startswith(cenv.tag)] == [b]
    assert [row[1] for row in cenv.active_rows()] == [cenv.docker_name("lc-cl-a", "alice")]
    r = cli("container", "cleanup", a, "--force", "--json")
    (done,) = json.loads(r.stdout)
    assert done["removed"] and done["released"] and done["definition_removed"]
    assert cenv.active_rows() == [] and a not in _list(cli, "--all")
    assert cli("container", "cleanup", "--json").exit_code == 2  # no NAME and no terminal


def test_stats_status_deploy_retire_and_exit(cli, cenv, as_user, docker_env, base_image):
    as_user("alice")
    name = cenv.name("lc-dep")
    r = cli("container", "deploy", name, "--image", base_image, "-w", str(cenv.workspace("alice")), "--no-shell")
    assert r.exit_code == 0 and "created" in r.stderr, r
    rows = json.loads(cli("container", "stats", "--json").stdout)
    (mine,) = [x for x in rows if x["name"] == name]
    assert mine["memory_limit"] == 256 * 2**20 and mine["pids"] >= 1 and mine["gpu_processes"] is None
    assert len(mine["gpu_slots"]) == 1
    st = json.loads(cli("status", "--json").stdout)
    assert st["user"] == "alice" and st["group"] == "student"
    assert st["usage"] == {"containers": {"used": 1, "max": 3}, "gpu_slots": {"used": 1, "max": 2}}
    assert [c["name"] for c in st["containers"]] == [name] and st["limits"]["memory"]["display"] == "256m"
    text = cli("status")
    assert "Containers: 1 of 3" in text.stdout and name in text.stdout
    guided = cli("container", "list", "--guided")
    assert "ℹ" in guided.stderr
    r = cli("container", "retire", name, "--json")
    assert r.exit_code == 0, r
    done = json.loads(r.stdout)
    assert done["stopped"]["was_running"] and done["cleaned"]["removed"] and done["cleaned"]["released"]
    assert cenv.active_rows() == []
    assert "exit" in cli("container", "exit").stdout and "Ctrl-D" in cli("container", "exit").stdout


def test_what_container_exit_advises_keeps_a_program_running(cli, cenv, as_user, docker_env, base_image):
    """`container exit` says: nohup does not survive the last shell, `mlc start -d` does."""
    from support.cli import run_process

    as_user("alice")
    advice = cli("container", "exit").stdout
    assert "nohup" in advice and "ds01 mlc start -d NAME" in advice
    name = cenv.name("lc-keep")
    assert (
        cli(
            "container", "create", name, "--image", base_image, "-w", str(cenv.workspace("alice")), "--gpus", "0"
        ).exit_code
        == 0
    )
    r = run_process(
        "container", "run", name, input="nohup sleep 60 >/dev/null 2>&1 &\nexit\n", env=cenv.caller("alice")
    )
    assert r.exit_code == 0 and "stopped (last shell closed)" in r.stderr, r
    assert "commands from standard input" in r.stderr and "Ctrl-D" not in r.stderr
    assert not engine.find_container(name, _owner(cenv, "alice")).running
    assert cli("mlc", "start", "-d", name, "sleep", "60").exit_code == 0
    r = run_process("container", "run", name, input="exit\n", env=cenv.caller("alice"))
    assert r.exit_code == 0 and "last shell closed" not in r.stderr, r
    assert engine.find_container(name, _owner(cenv, "alice")).running
    assert cli("container", "retire", name, "--force").exit_code == 0


def test_a_paused_container_is_alive_for_stop_start_cleanup_and_release(cli, cenv, as_user, docker_env, base_image):
    """``docker pause`` (an admin, or a group-mode member) freezes a container without stopping
    it: its processes and GPU memory stay. ds01 must not take it for stopped: a stop stops it
    (and only then starts the hold clock), a start resumes it, a cleanup without --force and the
    release of stale holds leave it alone."""
    from ds01.units.containers import activity
    from support.cli import run_process

    as_user("alice")
    ws = str(cenv.workspace("alice"))
    name = cenv.name("lc-pause")
    dname = cenv.docker_name("lc-pause", "alice")
    assert cli("container", "create", name, "--image", base_image, "-w", ws).exit_code == 0
    assert cli("container", "start", name).exit_code == 0
    container = docker_env.containers.get(dname)

    container.pause()
    assert dname not in {i.docker_name for i in activity.stopped_containers()}
    r = cli("container", "cleanup", name)
    assert r.exit_code == 2 and f"{name} is paused; stop it first" in r.stderr, r
    r = cli("mlc", "remove", name)
    assert r.exit_code == 2 and "is paused; stop it first" in r.stderr, r
    status = json.loads(cli("status", "--json").stdout)
    assert dname in {row["container"] for row in status["lifecycle"]}  # still under its limits
    r = cli("container", "start", name)  # resumed, not refused with Docker's advice to unpause
    assert r.exit_code == 0 and "unpause" not in r.stderr, r
    container.reload()
    assert container.status == "running"

    container.pause()
    assert cenv.active_rows()[0][4] is None  # no hold clock while it is alive
    r = cli("container", "stop", name, "--timeout", "1")
    assert r.exit_code == 0 and "was not running" not in r.stderr and "1h" in r.stderr, r
    container.reload()
    assert container.status == "exited"
    assert cenv.active_rows()[0][4] is not None  # the hold clock starts at the real stop

    assert cli("mlc", "start", name).exit_code == 0
    container.pause()
    r = cli("mlc", "start", name)
    assert r.exit_code == 0, r
    container.reload()
    assert container.status == "running"
    container.pause()
    # resumes it once, then opens the shell (a real process: the shell needs real descriptors)
    r = run_process("container", "run", name, input="echo inside-$((6*7))\nexit\n")
    assert r.exit_code == 0 and "error" not in r.stderr and "inside-42" in r.stdout, r
    assert cli("mlc", "start", name).exit_code == 0  # (the last shell's exit may have stopped it)
    container.pause()
    r = cli("mlc", "stop", name)
    assert r.exit_code == 0 and "was not running" not in r.stderr, r
    container.reload()
    assert container.status == "exited"
