"""On a real terminal, a misspelt noun gets the command line that was meant."""

from __future__ import annotations

import os

import pexpect

from support.cli import ds01_executable


def test_a_typo_on_a_terminal_gets_a_suggestion(tmp_path):
    env = dict(
        os.environ,
        TERM="xterm",
        COLUMNS="80",
        DS01_STATE_DIR=str(tmp_path / "state"),
        DS01_LOG_DIR=str(tmp_path / "log"),
    )
    child = pexpect.spawn(
        ds01_executable(), ["contianer", "list"], env=env, encoding="utf-8", timeout=30, dimensions=(24, 80)
    )
    child.expect("Did you mean: ds01 container list")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "Traceback" not in (child.before or "")
