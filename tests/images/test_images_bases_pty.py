"""The base-image picker of ``image create`` through a real pseudo-terminal, where the GPU
architecture is unknown (no MLC_ARCH, a simulated inventory without compute capability): it
offers the server's base images, and no line tells the student to run docker."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_images_bases import write_config

from support.cli import ds01_executable

DOWN, ENTER = "\x1b[B", "\r"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _offered(cfg: Path) -> list[str]:
    """The refs the picker will show, in order (what ``image bases`` lists and is present)."""
    from ds01 import identity
    from ds01.limits.config import load_config
    from ds01.units.images.bases import bases
    from ds01.units.images.packages import ImageSettings

    config = load_config(cfg)
    settings = ImageSettings.from_config(config.images, config.security)
    return [b.ref for b in bases(settings, identity.current()) if b.present]


def _spawn(args: list[str], cfg: Path) -> pexpect.spawn:
    env = dict(os.environ, TERM="xterm", COLUMNS="120", LINES="40", DS01_CONFIG=str(cfg))
    env.pop("MLC_ARCH", None)
    return pexpect.spawn(
        ds01_executable(), ["image", "create", *args], env=env, encoding="utf-8", timeout=60, dimensions=(40, 120)
    )


def test_picker_offers_the_servers_bases_and_writes_the_dockerfile(docker_env, base_image, session_tag, tmp_path):
    cfg = write_config(tmp_path / "cfg", session_tag)
    offered = _offered(cfg)
    assert base_image in offered and f"{session_tag}-absent:1" not in offered
    project = f"{session_tag}-pick"
    child = _spawn(
        [
            project,
            "--no-build",
            "--no-jupyter",
            "--no-data-science",
            "--use-case",
            "custom",
            "--packages",
            "polars",
            "--system-packages",
            "",
        ],
        cfg,
    )
    seen = ""
    try:
        child.expect("Phase 1")
        child.expect("GPU architecture is not known")
        child.expect("Base image")
        child.expect("Another local image")
        seen += child.before
        for _ in range(offered.index(base_image)):
            child.send(DOWN)
        child.send(ENTER)
        child.expect("already contains")
        seen += child.before
        child.expect("Dockerfile written")
        child.expect(pexpect.EOF)
        seen += child.before
    finally:
        child.close()
    assert child.exitstatus == 0, seen
    assert "Framework:" not in seen  # no framework list without an architecture
    assert "docker " not in ANSI.sub("", seen).replace("ds01 ", "")
    dockerfile = Path(os.environ["HOME"]) / "dockerfiles" / project / "Dockerfile"
    assert f"FROM {base_image}" in dockerfile.read_text().splitlines()


def test_naming_another_image_is_checked_and_never_advises_docker(docker_env, base_image, session_tag, tmp_path):
    cfg = write_config(tmp_path / "cfg", session_tag)
    offered = _offered(cfg)
    project = f"{session_tag}-name"
    child = _spawn(
        [
            project,
            "--no-build",
            "--no-jupyter",
            "--no-data-science",
            "--use-case",
            "custom",
            "--packages",
            "polars",
            "--system-packages",
            "",
        ],
        cfg,
    )
    seen = ""
    try:
        child.expect("Another local image")
        for _ in range(len(offered)):  # past the offered bases to the last choice
            child.send(DOWN)
        child.send(ENTER)
        child.expect(r"Local base image \(name:tag\)")
        child.sendline("")  # empty: told where the list is, asked again
        child.expect("ds01 image bases")
        seen += child.before
        child.expect(r"Local base image \(name:tag\)")
        child.sendline(f"{session_tag}-missing:none")
        child.expect("not present locally")
        child.expect(r"Local base image \(name:tag\)")
        child.sendline(base_image)
        child.expect("Dockerfile written")
        child.expect(pexpect.EOF)
        seen += child.before
    finally:
        child.close()
    assert child.exitstatus == 0, seen
    assert "docker " not in ANSI.sub("", seen).replace("ds01 ", "")
    dockerfile = Path(os.environ["HOME"]) / "dockerfiles" / project / "Dockerfile"
    assert f"FROM {base_image}" in dockerfile.read_text().splitlines()
