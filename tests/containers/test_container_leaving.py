"""Leaving a container keeps the work in it alive: a job started in the background survives
`exit`; on a terminal ds01 lists it and asks (default: keep running); without one it keeps
running and says so. With nothing else running, the last shell out still stops it."""

from __future__ import annotations

import json
import os

from ds01.base import engine, execs
from ds01.identity import Identity
from support.cli import ds01_executable, run_process


def _create(cenv, base_image, short: str) -> str:
    name = cenv.name(short)
    r = run_process(
        "container", "create", name, "--image", base_image, "-w", str(cenv.workspace("alice")), env=cenv.caller("alice")
    )
    assert r.exit_code == 0, r
    return name


def _status(cenv, name: str) -> str:
    entries = json.loads(run_process("container", "list", "--json", env=cenv.caller("alice")).stdout)
    (mine,) = [e for e in entries if e["name"] == name]
    return mine["status"]


def _programs(cenv, name: str) -> list[str]:
    uid = cenv.uid("alice")
    owner = Identity(name="alice", uid=uid, gid=uid, home=cenv.root, via_sudo=True)
    return [p.command for p in execs.other_programs(engine.find_container(name, owner))]


def _spawn(cenv, name: str):
    import pexpect

    env = {**os.environ, **cenv.caller("alice"), "TERM": "xterm"}
    child = pexpect.spawn(ds01_executable(), ["container", "run", name], env=env, encoding="utf-8", timeout=60)
    child.expect("Opening a shell")
    child.expect(r"\$ ")
    return child


def test_a_background_job_survives_exit_and_enter_keeps_it(cenv, docker_env, base_image):
    import pexpect

    name = _create(cenv, base_image, "leave-keep")
    child = _spawn(cenv, name)
    child.sendline("sleep 1000 > /dev/null 2>&1 &")
    child.expect(r"\$ ")
    child.sendline("exit")
    child.expect("still run in it")
    child.expect("sleep 1000")
    child.expect("running ")
    child.expect(r"Stop .* anyway")
    child.sendline("")  # the default: keep running
    child.expect("keeps running for 1 program")
    child.expect("idle detection")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert _status(cenv, name) == "running"
    assert "sleep 1000" in _programs(cenv, name)


def test_answering_yes_stops_it(cenv, docker_env, base_image):
    import pexpect

    name = _create(cenv, base_image, "leave-stop")
    child = _spawn(cenv, name)
    child.sendline("sleep 1000 > /dev/null 2>&1 &")
    child.expect(r"\$ ")
    child.sendline("exit")
    child.expect(r"Stop .* anyway")
    child.sendline("y")
    child.expect("stopped \\(last shell closed\\)")
    child.expect(pexpect.EOF)
    child.close()
    assert _status(cenv, name) == "stopped"


def test_without_a_terminal_it_keeps_running_and_says_so(cenv, docker_env, base_image):
    name = _create(cenv, base_image, "leave-pipe")
    r = run_process("container", "run", name, env=cenv.caller("alice"), input="sleep 1000 > /dev/null 2>&1 &\nexit\n")
    assert r.exit_code == 0, r
    assert "still run in it" in r.stderr and "keeps running for 1 program" in r.stderr
    assert _status(cenv, name) == "running"


def test_nothing_left_running_stops_as_before(cenv, docker_env, base_image):
    name = _create(cenv, base_image, "leave-empty")
    r = run_process("container", "run", name, env=cenv.caller("alice"), input="echo hi\nexit\n")
    assert r.exit_code == 0 and "stopped (last shell closed)" in r.stderr, r
    assert "still run" not in r.stderr
    assert _status(cenv, name) == "stopped"
