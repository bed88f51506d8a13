"""Under sudo the setup commands act *as* the caller: what they make is the caller's, and where
the caller cannot write they write nothing.

The caller is a real login (``tests/support/users.py``): the units run in a process dropped to
its uid, so its home must be one the kernel lets it into (pytest's tmp folders are root-only).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from support.users import make_user, sudo_env, world_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="acting for another user needs root (sudo)")


def _owners(root: Path) -> set[int]:
    owners = {root.stat().st_uid}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            owners.add(os.lstat(os.path.join(dirpath, name)).st_uid)
    return owners


@pytest.fixture
def user():
    with make_user() as ident:
        yield ident


def test_dir_create_git_init_readme_under_sudo_give_everything_to_the_caller(cli, user):
    env = sudo_env(user)
    project = user.home / "workspace" / "proj"
    assert cli("project", "dir-create", "proj", env=env).exit_code == 0
    assert cli("project", "git-init", str(project), env=env).exit_code == 0
    assert cli("project", "readme-create", str(project), env=env).exit_code == 0
    assert cli("project", "vscode-setup", "proj", env=env).exit_code == 0
    assert (project / ".git").is_dir() and (project / "README.md").is_file()
    assert (project / ".vscode" / "settings.json").is_file()
    assert _owners(user.home / "workspace") == {user.uid}


def test_git_init_under_sudo_uses_the_callers_git_identity_never_roots(cli, user, monkeypatch):
    """root's own git identity (its HOME's .gitconfig) must not sign the caller's first commit."""
    root_home = world_dir("ds01-roothome-")
    (root_home / ".gitconfig").write_text("[user]\n\tname = Root Person\n\temail = root@example.org\n")
    monkeypatch.setenv("HOME", str(root_home))  # sudo may leave root's HOME in place
    env = sudo_env(user)
    project = user.home / "proj"
    assert cli("project", "dir-create", "proj", "--dir", str(project), env=env).exit_code == 0
    r = cli("project", "git-init", str(project), "--json", env=env)
    assert r.exit_code == 0, r
    data = json.loads(r.stdout)
    assert data["initialized"] is True
    assert data["identity"] is None and data["committed"] is False
    assert any("git does not know who you are" in note for note in data["notes"])
    log = subprocess.run(
        ["git", "-C", str(project), "log", "--format=%an"],
        capture_output=True,
        text=True,
        user=user.uid,
        group=user.gid,
        env={"HOME": str(user.home), "PATH": os.environ["PATH"]},
    )
    assert "Root Person" not in log.stdout
    assert _owners(project) == {user.uid}


def test_git_init_under_sudo_commits_with_the_callers_own_identity(cli, user):
    gitconfig = user.home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Caller Person\n\temail = caller@example.org\n")
    os.chown(gitconfig, user.uid, user.gid)
    env = sudo_env(user)
    project = user.home / "proj"
    assert cli("project", "dir-create", "proj", "--dir", str(project), env=env).exit_code == 0
    r = cli("project", "git-init", str(project), "--json", env=env)
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["committed"] is True
    assert _owners(project) == {user.uid}


@pytest.mark.parametrize(
    "argv",
    [
        ("project", "dir-create", "proj", "--dir", "{root}/proj"),
        ("project", "git-init", "{root}"),
        ("project", "readme-create", "{root}"),
        ("project", "vscode-setup", "proj", "--dir", "{root}"),
        pytest.param(
            (
                "project",
                "init",
                "proj",
                "--dir",
                "{root}/proj",
                "--base-image",
                "ds01-base:busybox",
                "--yes",
                "--no-image",
                "--no-container",
            ),
            marks=pytest.mark.docker,
        ),
    ],
)
def test_under_sudo_nothing_is_written_where_the_caller_cannot_write(cli, user, argv):
    """ds01 runs as root for the caller: it must not become a way to write into root's folders.

    The units run with the caller's rights, so the kernel refuses exactly what the caller's own
    shell would be refused: one sentence naming the path, exit 1, and nothing written.
    """
    root_only = world_dir("ds01-rootonly-")
    result = cli(*(a.format(root=root_only) for a in argv), env=sudo_env(user))
    assert result.exit_code == 1, result
    assert "Permission denied" in result.stderr and str(root_only) in result.stderr
    assert list(root_only.iterdir()) == []


def test_under_sudo_a_folder_the_caller_owns_is_fine(cli, user):
    mine = user.home / "elsewhere"
    mine.mkdir()
    os.chown(mine, user.uid, user.gid)
    assert cli("project", "dir-create", "proj", "--dir", str(mine / "proj"), env=sudo_env(user)).exit_code == 0
    assert (mine / "proj" / "data").is_dir()
    assert _owners(mine / "proj") == {user.uid}
