"""Container names and labels: pure rules, no Docker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ds01.base import labels as lbl
from ds01.base.names import NAME_MAX, display_name, docker_name, split_docker_name, validate_new_name
from ds01.errors import ExitCode, UsageError


@pytest.mark.parametrize("name", ["pt250", "my-project_2", "my.thesis", "a", "9lives", "x" * NAME_MAX])
def test_valid_names_pass(name):
    assert validate_new_name(name) == name


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "is empty"),
        ("has#hash", "'#'"),
        ("-leading", "start and end with a letter or digit"),
        ("_leading", "start and end with a letter or digit"),
        ("sp ace", "' '"),
        ("My-Project", "(try 'my-project')"),
        ("a._.b", "'._.'"),
        ("ümlaut", "'ü'"),
        ("x" * (NAME_MAX + 1), f"at most {NAME_MAX}"),
    ],
)
def test_invalid_names_are_usage_errors_saying_why(name, fragment):
    with pytest.raises(UsageError) as err:
        validate_new_name(name)
    assert err.value.exit_code == ExitCode.USAGE
    assert fragment in err.value.message


def test_docker_name_round_trip():
    assert docker_name("pt", 1000) == "pt._.1000"
    assert split_docker_name("/pt._.1000") == ("pt", 1000)
    assert split_docker_name("stable") == ("stable", None)  # AIME v1: no suffix
    assert display_name("my-x._.4242") == "my-x"


def test_aime_labels_match_the_conventions():
    labels = lbl.aime_labels(
        user="alice",
        name="pt",
        arch="CUDA_ADA",
        workspace=Path("/home/alice/ws"),
        data=None,
        models=Path("/m"),
        framework="Pytorch",
        version="2.5.0",
        gpus="all",
        custom_image=None,
    )
    assert labels == {
        "aime.mlc": "alice",
        "aime.mlc.NAME": "pt",
        "aime.mlc.USER": "alice",
        "aime.mlc.ARCH": "CUDA_ADA",
        "aime.mlc.MLC_VERSION": "4",
        "aime.mlc.WORK_MOUNT": "/home/alice/ws",
        "aime.mlc.DATA_MOUNT": "-",
        "aime.mlc.MODELS_MOUNT": "/m",
        "aime.mlc.FRAMEWORK": "Pytorch-2.5.0",
        "aime.mlc.GPUS": "all",
        "aime.mlc.DS01_MANAGED": "true",
    }
    custom = lbl.aime_labels(
        user="a",
        name="n",
        arch="-",
        workspace=Path("/w"),
        data=None,
        models=None,
        framework=None,
        version=None,
        gpus="1",
        custom_image="me/img:1",
    )
    assert custom["aime.mlc.CUSTOM_IMAGE"] == "me/img:1"


def test_ds01_labels_engine_keys_cannot_be_overridden():
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    got = lbl.ds01_labels("alice", 4242, {"ds01.group": "student", "ds01.gpu.slots": "0:1"}, now=now)
    assert got == {
        "ds01.group": "student",
        "ds01.gpu.slots": "0:1",
        "ds01.user": "alice",
        "ds01.uid": "4242",
        "ds01.created_at": "2026-01-02T03:04:05Z",
    }
    for bad in ({"ds01.user": "root"}, {"ds01.uid": "0"}, {"aime.mlc": "bob"}, {"com.evil": "x"}):
        with pytest.raises(UsageError):
            lbl.ds01_labels("alice", 4242, bad)


def test_mount_value_reads_every_aime_spelling_of_none():
    assert lbl.mount_value("-") is None
    assert lbl.mount_value("") is None  # AIME v1
    assert lbl.mount_value("/d") == "/d"
