"""The command frame: dispatch by name, help spellings, exit codes, error rendering."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from ds01.cli.root import root
from ds01.cli.tree import ALIASES, DISPATCHER_NOUNS, NOUNS, symlink_names, translate_argv0
from ds01.errors import NoCapacity, PolicyRefused, UsageError
from support.cli import ds01_executable, run_process


@pytest.mark.parametrize("columns", ["60", "80", "120", "200"])
def test_fast_root_help_is_what_click_prints(columns):
    # A real process: CliRunner forces click's width to 80 columns.
    env = dict(os.environ, COLUMNS=columns)
    by_click = subprocess.run(
        [sys.executable, "-c", "from ds01.cli.root import root; root.main(['--help'], prog_name='ds01')"],
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    fast = subprocess.run([ds01_executable(), "--help"], capture_output=True, text=True, env=env).stdout
    assert fast == by_click


@pytest.mark.parametrize(
    ("prog", "args", "expected"),
    [
        ("ds01", ["gpu", "status"], ["gpu", "status"]),
        ("container-create", ["x", "--gpus", "1"], ["container", "create", "x", "--gpus", "1"]),
        ("image-list", [], ["image", "list"]),
        ("container", ["create", "x"], ["container", "create", "x"]),
        ("user-setup", ["--yes"], ["user", "setup", "--yes"]),
        ("new-user", [], ["user", "setup"]),
        ("new-project", [], ["user", "new-project"]),
        ("project-init", ["p"], ["project", "init", "p"]),
        ("dir-create", ["p"], ["project", "dir-create", "p"]),
        ("mlc-create", ["x"], ["mlc", "create", "x"]),
        ("python3", ["--help"], ["--help"]),
        ("something-else", ["a"], ["a"]),
    ],
)
def test_argv0_translation(prog, args, expected):
    assert translate_argv0(prog, list(args)) == expected


def test_every_noun_has_a_group_and_every_verb_imports():
    for noun in NOUNS:
        group = root.get_command(click.Context(root), noun)
        assert isinstance(group, click.Group), noun
        for verb in group.list_commands(click.Context(group)):
            cmd = group.get_command(click.Context(group), verb)
            assert isinstance(cmd, click.Command), f"{noun} {verb}"
            assert cmd.help, f"`ds01 {noun} {verb}` has no help text"


def test_symlink_names_cover_dispatchers_and_aliases():
    names = symlink_names()
    for noun in DISPATCHER_NOUNS:
        assert noun in names
    for alias in ALIASES:
        assert alias in names


@pytest.mark.parametrize("flag", ["-h", "--help", "--info"])
def test_help_spellings_on_a_subcommand(cli, flag):
    result = cli("admin", "symlinks", flag)
    assert result.exit_code == 0
    assert "Usage: ds01 admin symlinks" in result.stdout


def test_version(cli):
    from ds01 import __version__

    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"ds01 {__version__}"


def test_unknown_command_is_a_usage_error(cli):
    result = cli("frobnicate")
    assert result.exit_code == 2
    assert "No such command" in result.stderr


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (UsageError("Bad name 'x#'."), 2),
        (PolicyRefused("Over quota."), 3),
        (NoCapacity("No free GPU slot."), 4),
    ],
)
def test_library_errors_become_one_sentence_and_their_exit_code(cli, exc, code):
    @click.command("boom")
    def boom():
        raise exc

    root.add_command(boom)
    try:
        result = cli("boom")
    finally:
        root.commands.pop("boom")
    assert result.exit_code == code
    assert result.stderr == f"error: {exc.message}\n"
    assert result.stdout == ""


def test_unexpected_exception_has_no_traceback_unless_debug(cli, monkeypatch):
    @click.command("crash")
    def crash():
        raise RuntimeError("kaputt")

    root.add_command(crash)
    try:
        result = cli("crash")
        assert result.exit_code == 1
        assert "Traceback" not in result.output
        assert "kaputt" in result.stderr and "DS01_DEBUG=1" in result.stderr
        monkeypatch.setenv("DS01_DEBUG", "1")
        with pytest.raises(RuntimeError):
            from ds01.cli import run

            run(["crash"])
    finally:
        root.commands.pop("crash")


@pytest.mark.parametrize(
    ("link_name", "usage"),
    [
        ("container-create", "Usage: ds01 container create"),
        ("image-list", "Usage: ds01 image list"),
        ("admin-symlinks", "Usage: ds01 admin symlinks"),
        ("container", "Usage: ds01 container [OPTIONS] COMMAND"),
    ],
)
def test_symlinked_name_dispatches_in_a_real_process(tmp_path, link_name, usage):
    link = tmp_path / link_name
    link.symlink_to(ds01_executable())
    result = run_process("--help", executable=str(link))
    assert result.exit_code == 0
    assert usage in result.stdout


def test_no_colour_codes_when_not_a_terminal(cli):
    result = cli("frobnicate")
    assert "\033[" not in result.output


def test_source_never_uses_getlogin_or_shell_strings():
    src = Path(__file__).resolve().parents[2] / "src" / "ds01"
    offenders = []
    for path in src.rglob("*.py"):
        text = path.read_text()
        for needle in (r"(?<!`)os\.getlogin\(", r"shell=True", r"os\.system\("):
            if re.search(needle, text):
                offenders.append(f"{path.relative_to(src)}: {needle}")
    assert offenders == []


def test_help_and_version_import_no_heavy_modules():
    probe = (
        "import sys\n"
        "from ds01.cli import run\n"
        "for argv in (['--help'], ['--version'], ['admin', '--help']):\n"
        "    run(argv)\n"
        "heavy = [m for m in ('docker', 'questionary', 'pynvml', 'rich.table', 'rich.console') if m in sys.modules]\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=dict(os.environ, NO_COLOR="1"), check=True
    )
    assert proc.stderr.strip() == "[]"


def _commands():
    for noun in NOUNS:
        group = root.get_command(click.Context(root), noun)
        for verb in group.list_commands(click.Context(group)):
            yield noun, verb, group.get_command(click.Context(group), verb)


def _options(cmd):
    return {opt for param in cmd.params for opt in getattr(param, "opts", [])}


def test_every_tier2_and_higher_command_takes_guided():
    missing = [
        f"{noun} {verb}"
        for noun, verb, cmd in _commands()
        if noun in DISPATCHER_NOUNS and "--guided" not in _options(cmd)
    ]
    assert missing == []


def test_every_listing_and_status_command_takes_json():
    reporting = {"list", "status", "user-status", "stats", "show", "check"}
    missing = [
        f"{noun} {verb}" for noun, verb, cmd in _commands() if verb in reporting and "--json" not in _options(cmd)
    ]
    assert missing == []
