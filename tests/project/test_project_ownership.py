"""Under sudo, what the setup commands make for a user belongs to that user, not root."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="acting for another user needs root (sudo)")

UID = 4711


def _owners(root):
    owners = {root.stat().st_uid}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            owners.add(os.lstat(os.path.join(dirpath, name)).st_uid)
    return owners


def _mine(tmp_path):
    """A folder the sudo caller owns (the project lands in it)."""
    mine = tmp_path / "mine"
    mine.mkdir()
    os.chown(mine, UID, UID)
    return mine


def test_dir_create_git_init_readme_under_sudo_give_everything_to_the_caller(cli, tmp_path):
    env = {"SUDO_USER": "ownertest", "SUDO_UID": str(UID), "SUDO_GID": str(UID)}
    project = _mine(tmp_path) / "proj"
    assert cli("project", "dir-create", "proj", "--dir", str(project), env=env).exit_code == 0
    assert cli("project", "git-init", str(project), env=env).exit_code == 0
    assert cli("project", "readme-create", str(project), env=env).exit_code == 0
    assert (project / ".git").is_dir() and (project / "README.md").is_file()
    assert _owners(project) == {UID}


def test_git_init_under_sudo_uses_the_callers_git_identity_never_roots(cli, tmp_path):
    """root's own git identity (its HOME's .gitconfig) must not sign the caller's first commit."""
    root_home = Path(os.environ["HOME"])
    (root_home / ".gitconfig").write_text("[user]\n\tname = Root Person\n\temail = root@example.org\n")
    env = {"SUDO_USER": "ownertest-nohome", "SUDO_UID": str(UID), "SUDO_GID": str(UID)}
    project = _mine(tmp_path) / "proj"
    assert cli("project", "dir-create", "proj", "--dir", str(project), env=env).exit_code == 0
    r = cli("project", "git-init", str(project), "--json", env=env)
    assert r.exit_code == 0, r
    data = json.loads(r.stdout)
    assert data["initialized"] is True
    assert data["identity"] is None and data["committed"] is False
    assert any("git does not know who you are" in note for note in data["notes"])
    log = subprocess.run(["git", "-C", str(project), "log", "--format=%an"], capture_output=True, text=True,
                         env=dict(os.environ, SUDO_UID=str(UID)))
    assert "Root Person" not in log.stdout
    assert _owners(project) == {UID}


@pytest.mark.parametrize(
    "argv",
    [
        ("project", "dir-create", "proj", "--dir", "{root}/proj"),
        ("project", "git-init", "{root}"),
        ("project", "readme-create", "{root}"),
        ("project", "vscode-setup", "proj", "--dir", "{root}/proj"),
        ("image", "create", "proj", "--base-image", "ds01-base:busybox", "--project-dockerfile", "{root}/proj",
         "--no-build", "--yes"),
        ("project", "init", "proj", "--dir", "{root}/proj", "--base-image", "ds01-base:busybox", "--yes",
         "--no-image", "--no-container"),
    ],
)
def test_under_sudo_nothing_is_written_where_the_caller_cannot_write(cli, tmp_path, argv):
    """ds01 runs as root for the caller: it must not become a way to write into root's folders."""
    root_only = tmp_path / "root-only"
    root_only.mkdir(mode=0o755)
    env = {"SUDO_USER": "ownertest", "SUDO_UID": str(UID), "SUDO_GID": str(UID)}
    result = cli(*(a.format(root=root_only) for a in argv), env=env)
    assert result.exit_code == 3, result
    assert "You cannot write to" in result.stderr
    assert list(root_only.iterdir()) == []


def test_under_sudo_a_folder_the_caller_owns_is_fine(cli, tmp_path):
    mine = _mine(tmp_path)
    env = {"SUDO_USER": "ownertest", "SUDO_UID": str(UID), "SUDO_GID": str(UID)}
    assert cli("project", "dir-create", "proj", "--dir", str(mine / "proj"), env=env).exit_code == 0
    assert (mine / "proj" / "data").is_dir()
