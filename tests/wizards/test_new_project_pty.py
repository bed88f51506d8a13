"""`new-project` answered through a real pseudo-terminal: the concise questions, then a shell."""

from __future__ import annotations

import os

import pexpect

from support.cli import ds01_executable

UP, DOWN, ENTER = "\x1b[A", "\x1b[B", "\r"


def test_new_project_concise_questions_and_shell(docker_env, base_image, caller):
    project = caller.project("np")
    env = dict(os.environ, TERM="xterm", NO_COLOR="1", COLUMNS="160", LINES="40")
    child = pexpect.spawn(
        ds01_executable(), ["new-project"], env=env, encoding="utf-8", timeout=60, dimensions=(40, 160)
    )
    try:
        child.expect("Project name")
        child.sendline("Not Valid")  # refused, asked again; nothing is created
        child.expect("use lowercase letters")
        child.expect("Project name")
        child.sendline(project)
        child.expect(f"Build the image {project}-image now")
        child.send("y")
        if child.expect(["Base image:", "Framework"]) == 1:
            child.send(UP)  # the last choice: a local base image
            child.send(ENTER)
            child.expect("Base image:")
        child.expect("Another local image")  # the server's base images: the offline base is the first
        child.send(ENTER)
        child.expect("Use case")
        child.expect("General ML")
        child.send(ENTER)  # the default: General ML
        child.expect("Extra pip packages")
        child.sendline("")
        child.expect(f"Create the container {project}")
        child.send(ENTER)
        child.expect("Start it now")
        child.send(ENTER)
        child.expect("container-run: started")
        child.expect(f"Open a shell in {project} now")
        child.send("y")
        child.expect("[$#] ")
        child.sendline("id -u; echo in-$((6*7)); pwd")
        child.expect(f"{caller.uid}")
        child.expect("in-42")
        child.expect("/workspace")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    dockerfile = (caller.workspace(project) / "Dockerfile").read_text()
    assert "ds01:phase=jupyter" in dockerfile and "ds01:phase=use-case:general-ml" in dockerfile
    assert not (caller.home / "workspace" / "Not Valid").exists()
    container = docker_env.containers.get(f"{project}._.{caller.uid}")
    assert container.labels["ds01.project"] == project
    assert container.status == "exited"  # the last shell out stopped it
