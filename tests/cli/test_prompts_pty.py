"""Prompts on a real terminal: Ctrl-C stops the command with one line and exit 130."""

from __future__ import annotations

import os

import pexpect

from support.cli import ds01_executable


def test_ctrl_c_at_a_prompt_is_one_line_and_exit_130(tmp_path):
    env = dict(os.environ, TERM="xterm", DS01_STATE_DIR=str(tmp_path / "state"), DS01_LOG_DIR=str(tmp_path / "log"))
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(ds01_executable(), ["container", "create"], env=env, encoding="utf-8", timeout=30)
    child.expect("Container name")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    after = child.before
    assert "Interrupted." in after
    assert "Cancelled by user" not in after and "Traceback" not in after
