"""`user setup` driven through a real pseudo-terminal answering every prompt, and by flags alone;
re-running either changes nothing."""

from __future__ import annotations

import json
import os

import pexpect
import pytest
from wizard_support import not_owned_by, snapshot

from support.cli import ds01_executable

UP, DOWN, ENTER = "\x1b[A", "\x1b[B", "\r"


def _spawn(*args: str) -> pexpect.spawn:
    env = dict(os.environ, TERM="xterm", NO_COLOR="1", COLUMNS="160", LINES="40")
    return pexpect.spawn(ds01_executable(), list(args), env=env, encoding="utf-8", timeout=60, dimensions=(40, 160))


def _finish(child: pexpect.spawn) -> None:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before


def test_user_setup_through_a_pty_then_rerun(docker_env, base_image, caller):
    project = caller.project("tty")
    child = _spawn("user-setup", "--hostname", "gpu01.lab.example.org")
    try:
        # The lesson comes first, in plain words.
        for text in ("Images", "Containers", "/workspace", "GPUs", "MIG slice", "Stopping", "held for you", "Limits"):
            child.expect(text)
        child.expect("Set up an SSH key")
        child.send("y")
        child.expect("ssh-setup: made a new key pair")
        child.expect("ssh-ed25519 ")
        child.expect("Host gpu01")
        child.expect("Project name")
        child.sendline(project)
        child.expect("git repository")
        child.send("y")
        child.expect(f"Build the image {project}-image now")
        child.send("y")
        child.expect("Phase 1")
        if child.expect(["Base image:", "Framework"]) == 1:
            child.send(UP)  # the last choice: a local base image
            child.send(ENTER)
            child.expect("Base image:")
        child.expect("Another local image")  # the server's base images: the offline base is the first
        child.send(ENTER)
        child.expect("already contains")
        child.expect(r"Install Jupyter")
        child.send("n")
        child.expect("data-science packages")
        child.send(ENTER)  # default: yes
        child.expect("Use case")
        child.send(DOWN)  # General ML -> Computer Vision
        child.send(ENTER)
        child.expect("Extra pip packages")
        child.sendline("polars==1.0")
        child.expect(f"Create the container {project}")
        child.send("y")
        child.expect("Start it now")
        child.send("y")
        child.expect("image-create: wrote")
        child.expect("container-run: started")
        child.expect("Write VS Code settings")
        child.send("y")
        child.expect("vscode-setup: wrote VS Code settings")
        child.expect(f"Your project {project} is ready")
        _finish(child)
    finally:
        child.close()

    root = caller.workspace(project)
    assert (caller.home / ".ssh" / "id_ed25519").is_file()
    assert "Host gpu01" in (caller.home / ".ssh" / "config").read_text()
    assert (root / ".git").is_dir() and (root / "README.md").is_file()
    assert (root / ".vscode" / "ds01-attach.json").is_file()
    assert "ds01:phase=use-case:cv" in (root / "Dockerfile").read_text()
    assert "ds01:phase=jupyter" not in (root / "Dockerfile").read_text()
    assert not_owned_by(caller.home, caller.uid) == []
    image = docker_env.images.get(f"{project}-image")
    container = docker_env.containers.get(f"{project}._.{caller.uid}")
    assert container.labels["ds01.project"] == project and container.image.id == image.id
    assert container.status == "running"

    # Again through the terminal: only the questions of steps that are not done are asked.
    before = snapshot(caller.home)
    child = _spawn("user", "new", "--hostname", "gpu01.lab.example.org")
    try:
        child.expect("Set up an SSH key")
        child.send("y")
        child.expect("ssh-setup: you already have a key")
        child.expect("Project name")
        child.sendline(project)
        for step in ("dir-create", "git-init", "readme-create", "image-create", "container-create", "container-run"):
            child.expect(f"= {step}: ")
        child.expect("Write VS Code settings")
        child.send("y")
        child.expect("= vscode-setup: the VS Code settings are already there")
        _finish(child)
    finally:
        child.close()
    assert snapshot(caller.home) == before
    assert docker_env.images.get(f"{project}-image").id == image.id
    assert docker_env.containers.get(f"{project}._.{caller.uid}").id == container.id


def test_user_setup_with_flags_only_then_rerun(cli, docker_env, base_image, caller):
    project = caller.project("flags")
    args = [
        "user",
        "setup",
        project,
        "--yes",
        "--json",
        "--hostname",
        "gpu01.lab.example.org",
        "--base-image",
        base_image,
        "--use-case",
        "rl",
        "--no-jupyter",
        "--packages",
        "rich",
    ]
    r = cli(*args)
    assert r.exit_code == 0, r
    data = json.loads(r.stdout)
    assert data["ok"] is True
    assert data["ssh"]["status"] == "done" and data["vscode"]["status"] == "done"
    assert {s["status"] for s in data["project"]["steps"]} == {"done"}
    assert data["ssh"]["details"]["host_alias"] == "gpu01"
    assert data["vscode"]["details"]["container"] == f"{project}._.{caller.uid}"
    assert "Images" in r.stderr and "GPU slot" in r.stderr  # guided by default, even in scripts
    root = caller.workspace(project)
    assert "ds01:phase=use-case:rl" in (root / "Dockerfile").read_text()
    assert not_owned_by(caller.home, caller.uid) == []
    image_id = docker_env.images.get(f"{project}-image").id
    container_id = docker_env.containers.get(f"{project}._.{caller.uid}").id

    before = snapshot(caller.home)
    r = cli(*args)
    assert r.exit_code == 0, r
    again = json.loads(r.stdout)
    assert again["ssh"]["status"] == "already done" and again["vscode"]["status"] == "already done"
    assert {s["status"] for s in again["project"]["steps"]} == {"already done"}
    r = cli("user", "setup", project, "--yes", "--no-guided", "--hostname", "gpu01.lab.example.org")
    assert r.exit_code == 0, r
    assert "Images" not in r.stderr
    assert snapshot(caller.home) == before
    assert docker_env.images.get(f"{project}-image").id == image_id
    assert docker_env.containers.get(f"{project}._.{caller.uid}").id == container_id


@pytest.mark.docker  # reaches the engine through ds01 itself
def test_user_setup_skips_ssh_and_vscode_on_request(cli, caller):
    project = caller.project("nossh")
    r = cli(
        "user",
        "setup",
        project,
        "--yes",
        "--json",
        "--no-ssh",
        "--no-vscode",
        "--no-image",
        "--no-container",
        "--no-guided",
    )
    assert r.exit_code == 0, r
    data = json.loads(r.stdout)
    assert data["ssh"]["status"] == "skipped" and data["vscode"]["status"] == "skipped"
    assert not (caller.home / ".ssh").exists()
    assert not (caller.workspace(project) / ".vscode").exists()
    assert (caller.workspace(project) / "README.md").is_file()


def test_user_setup_without_a_terminal_needs_a_name(cli, caller):
    r = cli("user", "setup", "--yes", "--no-ssh")
    assert r.exit_code == 2, r
    assert "PROJECT is required" in r.stderr
    assert list(caller.home.iterdir()) == [caller.home / ".gitconfig"]
