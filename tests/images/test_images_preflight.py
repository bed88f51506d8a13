"""`image create` refuses a base given as flags before the first question, not after five phases."""

from __future__ import annotations

import os

import pexpect

from support.cli import ds01_executable


def _spawn(args, **extra):
    env = dict(os.environ, TERM="xterm", COLUMNS="120", LINES="40", **extra)
    return pexpect.spawn(
        ds01_executable(), ["image", "create", *args], env=env, encoding="utf-8", timeout=60, dimensions=(40, 120)
    )


def test_unknown_version_refused_before_the_phases(session_tag):
    child = _spawn([f"{session_tag}-pf", "--framework", "Pytorch", "--version", "0.0.1"], MLC_ARCH="CUDA_ADA")
    index = child.expect(["Phase 2", "Jupyter", pexpect.EOF])
    assert index == 2, child.before
    child.close()
    assert child.exitstatus == 2
    assert "0.0.1" in child.before and "Phase" not in child.before


def test_missing_base_image_refused_before_the_phases(session_tag, docker_env):
    child = _spawn([f"{session_tag}-pf2", "--base-image", f"{session_tag}-absent:none"])
    index = child.expect(["Phase 2", pexpect.EOF])
    assert index == 1, child.before
    child.close()
    assert child.exitstatus == 2 and "not present locally" in child.before
