"""Under sudo, what the setup commands make for a user belongs to that user, not root."""

from __future__ import annotations

import os
import shutil

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="acting for another user needs root (sudo)")

UID = 4711


def _owners(root):
    owners = {root.stat().st_uid}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            owners.add(os.lstat(os.path.join(dirpath, name)).st_uid)
    return owners


def test_dir_create_git_init_readme_under_sudo_give_everything_to_the_caller(cli, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    env = {"SUDO_USER": "ownertest", "SUDO_UID": str(UID), "SUDO_GID": str(UID)}
    project = tmp_path / "proj"
    assert cli("project", "dir-create", "proj", "--dir", str(project), env=env).exit_code == 0
    assert cli("project", "git-init", str(project), env=env).exit_code == 0
    assert cli("project", "readme-create", str(project), env=env).exit_code == 0
    assert (project / ".git").is_dir() and (project / "README.md").is_file()
    assert _owners(project) == {UID}
