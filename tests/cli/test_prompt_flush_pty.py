"""Keys typed ahead do not answer the next question: ``y`` + Enter answers a yes/no question
with the ``y`` alone, and the Enter must not become an empty answer to the question after."""

from __future__ import annotations

import os
import sys
import time

import pexpect
import pytest

from support.cli import ds01_executable

TWO_QUESTIONS = """\
from ds01.terminal import Terminal
t = Terminal()
a = t.confirm("Go on?", default=False)
b = t.ask("Project name:")
print("ANSWERS", repr(a), repr(b))
"""


def _env(tmp_path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = dict(
        os.environ,
        TERM="xterm",
        HOME=str(home),
        DS01_STATE_DIR=str(tmp_path / "state"),
        DS01_LOG_DIR=str(tmp_path / "log"),
    )
    env.pop("NO_COLOR", None)
    return env


def test_an_enter_typed_with_a_y_does_not_answer_the_next_question(tmp_path):
    child = pexpect.spawn(sys.executable, ["-c", TWO_QUESTIONS], env=_env(tmp_path), encoding="utf-8", timeout=30)
    child.expect("Go on")
    child.send("y\r")  # the y answers; the Enter is typed ahead
    child.expect("Project name")
    time.sleep(0.5)
    child.send("thesis\r")
    child.expect("ANSWERS (.*)\r\n")
    assert child.match.group(1) == "True 'thesis'"
    child.expect(pexpect.EOF)


@pytest.mark.docker  # user setup surveys the user's containers before its first question
def test_user_setup_asks_the_project_name_after_a_typed_ahead_enter(tmp_path):
    child = pexpect.spawn(ds01_executable(), ["user", "setup"], env=_env(tmp_path), encoding="utf-8", timeout=30)
    child.expect("SSH key")
    child.send("n\r\r")  # one Enter too many, as hurried fingers type
    child.expect("Project name")
    time.sleep(0.5)
    assert "empty" not in (child.before or "")
    child.send("thesis\r")
    try:
        index = child.expect(["is empty", "git repository", pexpect.EOF])
        assert index == 1, child.before  # the next question, not "The project name is empty"
    finally:
        child.terminate(force=True)


def test_phases_are_numbered_as_shown():
    """A phase a flag settled is not shown and not counted: 1, 2, 3 -- never 1 then 4."""
    from types import SimpleNamespace

    from ds01.units.images.packages import ImageSettings
    from ds01.wizards.image_prompts import ask_phases

    said: list[str] = []
    term = SimpleNamespace(
        info=said.append,
        style=lambda text, *styles: text,
        error=said.append,
        confirm=lambda *a, **k: True,
        choose=lambda message, choices, **k: k.get("default") or choices[0],
        ask=lambda *a, **k: "",
    )
    request = SimpleNamespace(
        base_image=None,
        framework="pytorch",
        version="2.5",
        arch=None,
        jupyter=True,
        data_science=None,
        use_case=None,
        packages=[],
        system_packages=[],
    )
    ask_phases(
        term, request, ImageSettings(), ask_jupyter=False, ask_data_science=True, ask_use_case=True, ask_packages=True
    )
    headers = [s for s in said if s.startswith("Phase")]
    assert headers == ["Phase 1 of 3: data science", "Phase 2 of 3: use case", "Phase 3 of 3: your own packages"]
