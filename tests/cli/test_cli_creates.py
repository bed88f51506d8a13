"""The click-free creates (``cli.creates``) read a command line exactly as the click commands do:
the same parameters for every form they answer, and click for every other form."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from ds01.cli import creates
from ds01.cli.container.create import command as container_command
from ds01.cli.mlc.create import command as mlc_command

COMMANDS = {True: mlc_command, False: container_command}


def clicks(mlc: bool, argv: list[str]) -> dict:
    """What click gives the command's function for ``argv`` (the terminal flags aside)."""
    with COMMANDS[mlc].make_context("create", list(argv)) as ctx:
        return dict(ctx.params)


@pytest.mark.parametrize(
    ("mlc", "argv"),
    [
        (True, ["box", "--image", "ds01-base:busybox", "-w", "/tmp/ws", "-g", "0", "--script"]),
        (True, ["box", "--image=img:1", "--workspace=/w", "--data", "/d", "-m", "/m", "--arch", "CUDA_ADA"]),
        (True, ["box", "Pytorch", "2.1.0", "-g", "2", "--json"]),
        (True, ["-s", "--json", "box"]),
        (True, ["box", "--gpus", "all"]),  # refused by the command itself, the same either way
        (False, ["box", "--image", "img", "--gpus", "0", "-w", "/tmp/ws", "--script"]),
        (False, ["box", "--gpus=2", "--dry-run", "--json", "--guided"]),
        (False, ["box", "Pytorch", "2.1.0", "--project-dockerfile", "--wait", "30m", "-d", "/d", "-m", "/m"]),
        (False, ["--json", "box", "--arch", "CUDA_AMPERE", "--workspace", "relative/ws"]),
        (False, ["box", "--image", ""]),
    ],
)
def test_the_plain_forms_give_what_click_gives(mlc, argv):
    fast = creates.parse(argv, mlc=mlc)
    assert fast is not None, argv
    script, guided = fast.pop("script"), fast.pop("guided")
    assert fast == clicks(mlc, argv)
    assert script == any(w in ("-s", "--script") for w in argv)
    assert guided == ("--guided" in argv)


@pytest.mark.parametrize(
    ("mlc", "argv"),
    [
        (True, []),  # no NAME: the questions are click's
        (True, ["--image", "img"]),
        (True, ["box", "--help"]),
        (True, ["box", "-h"]),
        (True, ["box", "--", "x"]),
        (True, ["box", "-wsomewhere"]),  # a short option's value attached
        (True, ["box", "-w"]),  # its value missing
        (True, ["box", "-w", "-s"]),  # a value that looks like an option
        (True, ["box", "--image", "a", "--image", "b"]),  # given twice: click takes the last
        (True, ["box", "--script", "--script"]),
        (True, ["box", "--dry-run"]),  # container create's, not mlc create's
        (True, ["a", "b", "c", "d"]),
        (False, ["box", "--gpus", "-1"]),
        (False, ["box", "--gpus", "two"]),  # click explains what --gpus takes
        (False, ["box", "--gpus", "\u00b2"]),  # a digit to str.isdigit, not to int()
        (False, ["box", "-g", "1"]),  # mlc create's, not container create's
        (False, ["box", "--json=1"]),
        (False, ["box", "--no-such-option"]),
    ],
)
def test_every_other_form_goes_to_click(mlc, argv):
    assert creates.parse(argv, mlc=mlc) is None


@pytest.mark.parametrize("mlc", [True, False])
def test_the_tables_are_the_click_commands_options(mlc):
    """Every option of the click command is in the fast path's tables with its kind, and no
    other: a new option added to a command and not here fails this test."""
    values, flags = (
        (creates.MLC_VALUES, creates.MLC_FLAGS) if mlc else (creates.CONTAINER_VALUES, creates.CONTAINER_FLAGS)
    )
    declared_values, declared_flags = {}, {}
    for param in COMMANDS[mlc].params:
        if isinstance(param, click.Argument):
            assert param.name in creates.POSITIONAL
            continue
        if param.name == "help":
            continue
        for opt in param.opts:
            (declared_flags if param.is_flag else declared_values)[opt] = param
    assert set(declared_values) == set(values)
    assert set(declared_flags) == set(flags)
    for opt, param in declared_values.items():
        name, convert = values[opt]
        assert name == param.name and not param.multiple and param.nargs == 1, opt
        expected = (
            int
            if isinstance(param.type, click.types.IntParamType)
            else (Path if isinstance(param.type, click.Path) else str)
        )
        assert convert is expected, opt
    for opt, param in declared_flags.items():
        assert flags[opt] in (param.name, "script", "guided"), opt


@pytest.mark.parametrize("value", ["\u00b2", "\u2460", "1\u00b2", "-1", "two", "1.5", ""])
def test_mlc_gpus_that_are_not_a_count_are_refused_in_one_sentence(value):
    from ds01.cli.mlc._common import gpu_count
    from ds01.errors import UsageError

    with pytest.raises(UsageError, match="-g takes a number of GPU slots"):
        gpu_count(value)
