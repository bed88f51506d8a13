"""The one name rule: every command that makes a project, image or container name gives the
same verdict for the same name, and a refused name is exit 2 before Docker is asked."""

from __future__ import annotations

import pytest

from ds01.base.names import NAME_MAX, name_problem, split_docker_name, validate_name, validate_new_name
from ds01.errors import ExitCode, UsageError
from ds01.orchestrators.project_init import validate_project as init_rule
from ds01.units.images.common import image_name
from ds01.units.images.common import validate_project as image_rule
from ds01.units.project.files import validate_project_name as dir_rule


def _container_rule(name: str) -> str:
    from ds01 import identity
    from ds01.units.containers.create import CreateRequest, check_request

    check_request(CreateRequest(name=name, owner=identity.current(), gpus=0))
    return name


# What each command that makes a name checks it with.
RULES = {
    "project dir-create": dir_rule,
    "image create": image_rule,
    "project init": init_rule,
    "container create": _container_rule,
    "mlc create": validate_new_name,
}

# name -> True (may be created) / False (refused), the same for every command.
TABLE = [
    ("my-thesis", True),
    ("my.thesis", True),
    ("run_2", True),
    ("a__b", True),
    ("a--b", True),
    ("a", True),
    ("9lives", True),
    ("x" * NAME_MAX, True),
    ("x" * (NAME_MAX + 1), False),
    ("x" * 50, False),
    ("MyThesis", False),
    ("a._.b", False),
    ("a..b", False),
    ("a.-b", False),
    ("a___b", False),
    ("-x", False),
    ("_x", False),
    ("x-", False),
    ("x.", False),
    (".x", False),
    ("has#hash", False),
    ("sp ace", False),
    ("ümlaut", False),
    ("", False),
]


@pytest.mark.parametrize("command", sorted(RULES))
@pytest.mark.parametrize(("name", "ok"), TABLE)
def test_every_command_gives_the_same_verdict(command, name, ok):
    rule = RULES[command]
    if ok:
        assert rule(name) == name
    else:
        with pytest.raises(UsageError) as err:
            rule(name)
        assert err.value.exit_code == ExitCode.USAGE
        assert f"at most {NAME_MAX} characters" in err.value.message


@pytest.mark.parametrize(("name", "ok"), TABLE)
def test_an_accepted_name_makes_a_valid_image_reference_and_container_name(name, ok):
    from ds01.base.names import docker_name

    if not ok:
        return
    # Docker's reference grammar for a repository path component, and its container-name grammar.
    import re

    assert re.fullmatch(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", image_name(name))
    full = docker_name(name, 1000)
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", full)
    assert split_docker_name(full) == (name, 1000)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("MyThesis", "(try 'mythesis')"),
        ("a._.b", "'._.'"),
        ("has#hash", "'#'"),
        ("x" * 50, "50 characters long"),
        ("-x", "start and end with a letter or digit"),
        ("", "The container name is empty"),
    ],
)
def test_a_refusal_says_why(name, fragment):
    assert name_problem(name) is not None
    with pytest.raises(UsageError) as err:
        validate_new_name(name)
    assert fragment in err.value.message


@pytest.mark.parametrize("name", ["MyBox", "AIME_Box-1", "my.thesis", "x" * 60])
def test_existing_containers_keep_their_names(name):
    """AIME's mlc allows capitals: such containers are managed (and recreated) by their names."""
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["a._.b", "has#hash", "-x", ""])
def test_existing_names_still_follow_docker(name):
    with pytest.raises(UsageError):
        validate_name(name)


# -- one command line per command: refused with exit 2, before any Docker call ----------------

DEAD = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


@pytest.mark.parametrize("name", ["MyThesis", "a._.b", "x" * 50])
def test_dir_create_refuses(cli, tmp_path, name):
    r = cli("project", "dir-create", name, "--dir", str(tmp_path / "p"), env=DEAD)
    assert r.exit_code == 2, r
    assert "use lowercase letters" in r.stderr
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("name", ["MyThesis", "a._.b", "x" * 50])
def test_image_create_refuses_before_docker(cli, tmp_path, name):
    r = cli(
        "image",
        "create",
        name,
        "--framework",
        "Pytorch",
        "--project-dockerfile",
        str(tmp_path / "p"),
        "--no-build",
        env={**DEAD, "MLC_ARCH": "CUDA_ADA"},
    )
    assert r.exit_code == 2, r
    assert "use lowercase letters" in r.stderr and "reference format" not in r.stderr
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("name", ["MyThesis", "a._.b", "x" * 50])
def test_container_create_refuses_before_docker(cli, name):
    r = cli("container", "create", name, "--image", "ds01-base:busybox", "--gpus", "0", env=DEAD)
    assert r.exit_code == 2, r
    assert "use lowercase letters" in r.stderr


@pytest.mark.parametrize("name", ["MyThesis", "a._.b", "x" * 50])
def test_mlc_create_refuses_before_docker(cli, name):
    r = cli("mlc", "create", name, "--image", "ds01-base:busybox", "-s", env=DEAD)
    assert r.exit_code == 2, r
    assert "use lowercase letters" in r.stderr
