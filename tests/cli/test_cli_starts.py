"""Which command lines the click-free starts (``cli.starts``) answer, and that every option they
accept is one the click command has, with the same meaning (a flag of the same name)."""

from __future__ import annotations

import pytest

from ds01.cli import starts


@pytest.fixture
def calls(monkeypatch):
    seen: list[tuple] = []
    monkeypatch.setattr(starts, "_mlc_start", lambda name, *, script: seen.append(("mlc", name, script)) or 0)
    monkeypatch.setattr(starts, "_container_start", lambda name, flags: seen.append(("container", name, flags)) or 0)
    return seen


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["mlc", "start", "box"], ("mlc", "box", False)),
        (["mlc", "start", "-s", "box"], ("mlc", "box", True)),
        (["mlc", "start", "--script", "box"], ("mlc", "box", True)),
        (["container", "start", "box"], ("container", "box", set())),
        (["container", "start", "box", "--json"], ("container", "box", {"as_json"})),
        (["container", "start", "--guided", "-s", "box"], ("container", "box", {"guided", "script"})),
    ],
)
def test_the_plain_starts_are_answered_without_click(calls, argv, expected):
    assert starts.fast(argv) == 0
    assert calls == [expected]


@pytest.mark.parametrize(
    "argv",
    [
        ["mlc", "start"],  # no NAME: click asks or refuses
        ["mlc", "start", "box", "-s"],  # after NAME: a COMMAND to run in the container
        ["mlc", "start", "box", "echo", "hi"],
        ["mlc", "start", "-d", "box", "sleep", "1"],
        ["mlc", "start", "--help"],
        ["mlc", "start", "box", "--help"],
        ["container", "start"],  # the picker
        ["container", "start", "--wait", "5m", "box"],
        ["container", "start", "box", "--help"],
        ["container", "start", "a", "b"],
        ["container", "stop", "box"],
        ["image", "start", "box"],
        ["start"],
    ],
)
def test_every_other_form_goes_to_click(calls, argv):
    assert starts.fast(argv) is None
    assert calls == []


@pytest.mark.parametrize(
    ("module", "accepted"),
    [("ds01.cli.mlc.start", starts.SCRIPT), ("ds01.cli.container.start", tuple(starts.CONTAINER_FLAGS))],
)
def test_the_accepted_options_are_flags_of_the_click_command(module, accepted):
    import importlib

    import click

    command = importlib.import_module(module).command
    flags = {
        opt: param
        for param in command.params
        if isinstance(param, click.Option)
        for opt in (*param.opts, *param.secondary_opts)
    }
    for option in accepted:
        assert option in flags, option
        assert flags[option].is_flag, option
    if module.endswith("container.start"):
        names = {flags[o].name for o in accepted}
        assert {starts.CONTAINER_FLAGS[o] for o in accepted} <= names | {"script", "guided"}
