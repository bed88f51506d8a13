"""Commands forgive: Docker's spellings reach the verb meant, a typo is answered with the
command line that was probably meant, and every piece of advice is a command that works for
that user in that state."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (("contianer", "list"), "Did you mean: ds01 container list"),
        (("cont", "list"), "Did you mean: ds01 container list"),
        (("container", "lsit"), "Did you mean: ds01 container list"),
        (("container", "craete", "x"), "Did you mean: ds01 container create x"),
        (("imgae", "ls"), "Did you mean: ds01 image ls"),
        (("stauts",), "Did you mean: ds01 status"),
        (("dir-craete",), "ds01 dir-create"),
        (("list",), "ds01 container list, ds01 image list"),
    ],
)
def test_a_typo_gets_the_command_that_was_meant(cli, argv, suggestion):
    r = cli(*argv)
    assert r.exit_code == 2, r
    assert suggestion in r.stderr
    assert "Traceback" not in r.output


def test_nothing_close_points_at_help(cli):
    r = cli("container", "xyzzy")
    assert r.exit_code == 2 and "See `ds01 container --help` for the commands." in r.stderr


def test_a_misspelt_link_name_is_dispatched_for_a_suggestion():
    from ds01.cli.tree import translate_argv0

    assert translate_argv0("contianer-list", ["-a"]) == ["contianer", "list", "-a"]
    assert translate_argv0("container-lsit", []) == ["container", "lsit"]
    assert translate_argv0("something-else", ["x"]) == ["x"]  # not a ds01 name at all: untouched


def test_docker_spellings_are_the_same_commands():
    from ds01.cli.container import group as container
    from ds01.cli.image import group as image

    assert container.get_command(None, "ls") is container.get_command(None, "list")
    assert container.get_command(None, "ps") is container.get_command(None, "list")
    assert container.get_command(None, "rm") is container.get_command(None, "cleanup")
    assert image.get_command(None, "ls") is image.get_command(None, "list")
    assert image.get_command(None, "rm") is image.get_command(None, "delete")


def test_aliases_are_listed_in_help_but_are_no_symlinks(cli):
    from ds01.cli.tree import VERB_ALIASES, symlink_names

    r = cli("container", "--help")
    assert r.exit_code == 0 and "Also accepted" in r.stdout and "ls, ps" in r.stdout
    names = set(symlink_names())
    for noun, aliases in VERB_ALIASES.items():
        for alias in aliases:
            assert f"{noun}-{alias}" not in names
    assert cli("image", "rm", "--help").exit_code == 0
