"""`ds01 image create` answered phase by phase through a real pseudo-terminal."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from support.cli import ds01_executable

UP, DOWN, ENTER = "\x1b[A", "\x1b[B", "\r"


def test_interactive_create_through_a_pty(docker_env, base_image, session_tag, tmp_path):
    project = f"{session_tag}-tty"
    env = dict(os.environ, TERM="xterm", MLC_ARCH="CUDA_ADA", COLUMNS="120", LINES="40")
    child = pexpect.spawn(
        ds01_executable(), ["image", "create"], env=env, encoding="utf-8", timeout=60, dimensions=(40, 120)
    )
    try:
        child.expect("Project name")
        child.sendline("Not A Name")  # refused, asked again
        child.expect("use lowercase letters")
        child.expect("Project name")
        child.sendline(project)
        child.expect("Phase 1")
        child.expect("Framework")
        child.expect("Pytorch")
        child.send(UP)  # wraps to the last choice: a local base image
        child.send(ENTER)
        child.expect("Base image")  # the server's base images, then naming another
        child.expect("Another local image")
        child.send(UP)
        child.send(ENTER)
        child.expect("Local base image")
        child.sendline(f"{session_tag}-missing:none")  # not on this server: asked again
        child.expect("not present locally")
        child.expect("Local base image")
        child.sendline("Not An Image")  # not even a valid reference: asked again
        child.expect("not present locally")
        child.expect("Local base image")
        child.sendline(base_image)
        child.expect("already contains")
        child.expect("Phase 2")
        child.expect(r"Install Jupyter \(jupyter jupyterlab ipykernel ipywidgets\)")
        child.send("n")
        child.expect("Phase 3")
        child.expect("data-science packages")
        child.send(ENTER)  # default: yes
        child.expect("Phase 4")
        child.expect("Use case")
        child.send(DOWN)  # General ML -> Computer Vision
        child.send(ENTER)
        child.expect("adds: opencv-python-headless")
        child.expect("Phase 5")
        child.expect("Extra pip packages")
        child.sendline("pandas;rm")  # refused, asked again
        child.expect("not a valid package specifier")
        child.expect("Extra pip packages")
        child.sendline("polars==1.0")
        child.expect("System packages for apt")
        child.sendline("libgl1;id")  # not a Debian name: asked again
        child.expect("not a Debian package name")
        child.expect("System packages for apt")
        child.sendline("")
        child.expect(f"Build {project}-image now")
        child.send(ENTER)
        child.expect("Built")
        child.expect(f"ds01 container create {project}")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    out = docker_env.containers.run(
        f"{project}-image",
        ["cat", "/var/lib/pip-stand-in/calls.log"],
        remove=True,
        labels={"ds01.test.session": session_tag},
    )
    calls = [line.rstrip("\t").split("\t") for line in out.decode().splitlines()]
    assert calls == [
        ["install", "--no-cache-dir", "pandas", "scipy", "scikit-learn", "matplotlib", "seaborn"],
        ["install", "--no-cache-dir", "opencv-python-headless", "timm", "albumentations", "pillow", "scikit-image"],
        ["install", "--no-cache-dir", "polars==1.0"],
    ]
    dockerfile = Path(os.environ["HOME"]) / "dockerfiles" / project / "Dockerfile"
    assert "ds01:phase=use-case:cv" in dockerfile.read_text()
