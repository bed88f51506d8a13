"""The orchestrator's plain logic: names, what counts as an image choice, the report's keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from ds01.errors import OperationFailed, UsageError
from ds01.identity import Identity
from ds01.orchestrators import project_init as orch

OWNER = Identity(name="alice", uid=4242, gid=4242, home=Path("/home/alice"), via_sudo=True)


@pytest.mark.parametrize("name", ["thesis", "my-thesis", "cv_2024", "a1", "a.b"])
def test_valid_names(name):
    assert orch.validate_project(name) == name


@pytest.mark.parametrize("name", ["", "My-Thesis", "a..b", "a b", "-a", "a-", "x" * 49, "a/b", "a._.1"])
def test_invalid_names_are_usage_errors(name):
    with pytest.raises(UsageError):
        orch.validate_project(name)


def test_default_directory_is_in_the_workspace_and_dir_overrides():
    assert orch.project_dir(orch.InitRequest("p", OWNER)) == Path("/home/alice/workspace/p")
    assert orch.project_dir(orch.InitRequest("p", OWNER, directory=Path("/srv/x"))) == Path("/srv/x")


@pytest.mark.parametrize(
    ("kwargs", "given"),
    [
        ({}, False),
        ({"use_case": "cv"}, True),
        ({"base_image": "b:1"}, True),
        ({"framework": "Pytorch"}, True),
        ({"packages": ["rich"]}, True),
        ({"jupyter": False}, True),
        ({"data_science": True}, True),
        ({"gpus": 0, "git": False}, False),
    ],
)
def test_image_choices_given(kwargs, given):
    assert orch.InitRequest("p", OWNER, **kwargs).image_choices_given() is given


def test_report_json_keys_and_error():
    report = orch.InitReport("p", Path("/w/p"), "p-image", "p")
    report.steps.append(orch.StepOutcome("dir-create", orch.DONE, "made", {"x": 1}))
    data = report.to_json()
    assert list(data) == ["project", "directory", "image", "container", "ok", "error", "exit_code", "steps"]
    assert data["ok"] is True and data["exit_code"] == 0 and data["error"] is None
    assert data["steps"] == [{"step": "dir-create", "status": "done", "message": "made", "details": {"x": 1}}]
    report.error = OperationFailed("Building p-image failed.")
    assert report.to_json()["exit_code"] == 1 and report.to_json()["ok"] is False
    assert report.step("dir-create") is report.steps[0] and report.step("git-init") is None


@pytest.mark.parametrize(("name", "hint"), [("MyProj", "(try 'myproj')"), ("a..b", ""), ("a-", ""), ("x" * 49, "")])
def test_a_refused_name_states_the_one_rule_projects_follow(name, hint):
    """The same sentence whichever of the directory, image or container rules refused the name."""
    with pytest.raises(UsageError) as err:
        orch.validate_project(name)
    message = err.value.message
    assert "lowercase letters and digits, with '.', '_' or '-' between them" in message
    assert "at most 48 characters" in message
    assert hint in message
