"""The terminal object: data on stdout, messages on stderr, no colours off a terminal."""

from __future__ import annotations

import io

import pytest

from ds01.errors import UsageError
from ds01.terminal import Terminal, human_size


def _term(**kw):
    out, err = io.StringIO(), io.StringIO()
    return Terminal(out, err, **kw), out, err


def test_data_goes_to_stdout_and_messages_to_stderr():
    term, out, err = _term(color=False, interactive=False)
    term.json({"a": 1})
    term.table(["A", "B"], [("x", 1), ("longer", None)])
    term.warning("careful")
    term.success("done")
    assert out.getvalue() == '{\n  "a": 1\n}\nA       B\nx       1\nlonger\n'
    assert err.getvalue() == "warning: careful\n✓ done\n"


def test_guide_speaks_only_when_guided():
    term, _, err = _term(color=False, interactive=False)
    term.guide("why")
    assert err.getvalue() == ""
    term.guided = True
    term.guide("why")
    assert "why" in err.getvalue()


def test_colours_only_when_asked():
    term, _, err = _term(color=True, interactive=False)
    term.error("x")
    assert "\033[" in err.getvalue()


def test_no_terminal_means_no_prompt_but_a_usage_error():
    term, _, _ = _term(color=False, interactive=False)
    with pytest.raises(UsageError, match="^A VERSION is required"):
        term.choose("Version:", ["1"], what="a VERSION")


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (None, "-"),
        (0, "0B"),
        (999, "999B"),
        (1000, "1.0kB"),
        (1_500_000, "1.5MB"),
        (2_000_000_000, "2.0GB"),
        (3 * 10**12, "3.0TB"),
        (5 * 10**15, "5000.0TB"),
    ],
)
def test_human_size(n, text):
    assert human_size(n) == text


def test_progress_steps_without_a_terminal_print_each_step_once_and_a_counter_at_its_first_count():
    t, _out, err = _term()
    with t.progress("Creating container x…", steps=True) as status:
        for text in (
            "Pulling img:1: 0/3 layers",
            "Pulling img:1: 1/3 layers",
            "Pulling img:1: 3/3 layers",
            "Allocating 1 GPU slot(s)…",
            "No free GPU slot: 0 of 1 free. Waiting up to 1m for a GPU slot…",
            "Creating container x…",
        ):
            status.update(text)
    assert err.getvalue().splitlines() == [
        "Creating container x…",
        "Pulling img:1: 0/3 layers",
        "Allocating 1 GPU slot(s)…",
        "No free GPU slot: 0 of 1 free. Waiting up to 1m for a GPU slot…",
    ]


def test_progress_without_steps_prints_only_its_heading():
    t, _out, err = _term()
    with t.progress("Building img …") as status:
        for line in ("Step 1/3 : FROM base", "Step 2/3 : RUN pip install x"):
            status.update(line)
    assert err.getvalue().splitlines() == ["Building img …"]
