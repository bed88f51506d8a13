"""Attacks on the project setup commands run under sudo (root for an unprivileged caller).

Each test is the attack itself, done the way a student with a shell would: a real user, a real
``~/.gitconfig`` whose hook or fsmonitor records who runs it, real symlinks in ``~/.ssh`` and in
the project, the real ``git`` and ``ssh-keygen``, and ``ds01`` started as a real process with
sudo's environment. ds01 must act with the caller's rights only: the caller's programs never run
as root, and root never follows the caller's symlinks.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from support.cli import run_process
from support.users import make_user, sudo_env, world_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="attacks through sudo need root")


@pytest.fixture
def user():
    with make_user("ds01a") as ident:
        yield ident


def _as_sudo(user, *args: str, root_home: Path | None = None):
    """``sudo ds01 ARGS`` by ``user``: sudo's variables, root's HOME (as sudo may leave it)."""
    env = {**sudo_env(user), "HOME": str(root_home or world_dir("ds01-roothome-"))}
    return run_process(*args, env=env, timeout=180)


def _give(user, *paths: Path) -> None:
    for path in paths:
        os.lchown(path, user.uid, user.gid)


def _write(user, path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _give(user, path.parent)
    path.write_text(text)
    os.chmod(path, mode)
    _give(user, path)
    return path


# -- the caller's git configuration never runs as root ------------------------------------------


def _arm_git(user, how: str) -> Path:
    """A ~/.gitconfig whose hook (or fsmonitor) writes the uid running it to ~/marker."""
    marker = user.home / "marker"
    script = _write(
        user,
        user.home / "hooks" / ("post-commit" if how == "hooksPath" else "fsmonitor"),
        f"#!/bin/sh\nid -u >> {marker}\n",
        mode=0o755,
    )
    setting = f"[core]\n\thooksPath = {script.parent}\n" if how == "hooksPath" else f"[core]\n\tfsmonitor = {script}\n"
    _write(user, user.home / ".gitconfig", f"[user]\n\tname = Caller\n\temail = caller@example.org\n{setting}")
    return marker


def _ran_only_as(user, marker: Path) -> None:
    assert marker.exists(), "the caller's git hook did not run at all (the test would prove nothing)"
    assert {int(line) for line in marker.read_text().split()} == {user.uid}
    assert marker.stat().st_uid == user.uid


@pytest.mark.parametrize("how", ["hooksPath", "fsmonitor"])
def test_git_init_runs_the_callers_git_config_as_the_caller_never_as_root(user, how):
    marker = _arm_git(user, how)
    project = user.home / "proj"
    assert _as_sudo(user, "project", "dir-create", "proj", "--dir", str(project)).exit_code == 0
    r = _as_sudo(user, "project", "git-init", str(project))
    assert r.exit_code == 0, r
    _ran_only_as(user, marker)


@pytest.mark.docker  # reaches the engine through ds01 itself
@pytest.mark.parametrize("verb", [("project", "init"), ("user", "new-project")])
@pytest.mark.parametrize("how", ["hooksPath", "fsmonitor"])
def test_project_init_runs_git_as_the_caller(user, how, verb):
    marker = _arm_git(user, how)
    r = _as_sudo(user, *verb, "proj", "--yes", "--no-image", "--no-container")
    assert r.exit_code == 0, r
    assert (user.home / "workspace" / "proj" / ".git").is_dir()
    _ran_only_as(user, marker)


@pytest.mark.docker  # reaches the engine through ds01 itself
def test_user_setup_runs_git_as_the_caller(user):
    marker = _arm_git(user, "hooksPath")
    r = _as_sudo(user, "user", "setup", "proj", "--yes", "--no-ssh", "--no-image", "--no-container")
    assert r.exit_code == 0, r
    _ran_only_as(user, marker)


# -- ~/.ssh: root never follows the caller's symlinks --------------------------------------------


def _ssh_dir(user) -> Path:
    ssh = user.home / ".ssh"
    ssh.mkdir(mode=0o700)
    _give(user, ssh)
    return ssh


def _fake_key(user, ssh: Path) -> None:
    """A real key pair made by the caller's own ssh-keygen (as they would have one)."""
    import subprocess

    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / "id_ed25519")],
        check=True,
        user=user.uid,
        group=user.gid,
        env={"HOME": str(user.home), "PATH": os.environ["PATH"]},
    )


def _shadow_lines() -> list[str]:
    return [line for line in Path("/etc/shadow").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize(
    "argv",
    [
        ("project", "ssh-setup"),
        ("user", "setup", "proj", "--yes", "--no-image", "--no-container", "--no-git", "--no-vscode"),
    ],
)
def test_a_public_key_symlinked_to_shadow_does_not_print_shadow(user, argv):
    ssh = _ssh_dir(user)
    _write(user, ssh / "id_ed25519", "not really a key\n", mode=0o600)
    (ssh / "id_ed25519.pub").symlink_to("/etc/shadow")
    _give(user, ssh / "id_ed25519.pub")
    r = _as_sudo(user, *argv)
    assert r.exit_code != 0, r
    for line in _shadow_lines():
        assert line not in r.output
    assert "Permission denied" in r.output


def test_a_symlinked_ssh_config_does_not_give_the_caller_a_copy_of_its_target(user):
    secret_dir = world_dir("ds01-secret-")
    secret = secret_dir / "secret"
    secret.write_text("ROOT-ONLY-SECRET-7f3a\n")
    os.chmod(secret, 0o600)
    ssh = _ssh_dir(user)
    _fake_key(user, ssh)
    (ssh / "config").symlink_to(secret)
    _give(user, ssh / "config")
    r = _as_sudo(user, "project", "ssh-setup")
    assert r.exit_code == 1, r
    assert "ROOT-ONLY-SECRET" not in r.output
    assert (ssh / "config").is_symlink()
    for path in ssh.iterdir():
        if path.is_file() and not path.is_symlink():
            assert "ROOT-ONLY-SECRET" not in path.read_text(errors="replace")
    assert secret.read_text() == "ROOT-ONLY-SECRET-7f3a\n"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and secret.stat().st_uid == 0


def test_a_symlinked_key_does_not_make_root_chmod_its_target(user):
    target = world_dir("ds01-target-") / "root-file"
    target.write_text("a root-owned file\n")
    os.chmod(target, 0o644)
    ssh = _ssh_dir(user)
    _fake_key(user, ssh)
    (ssh / "id_ed25519").unlink()
    (ssh / "id_ed25519").symlink_to(target)
    _give(user, ssh / "id_ed25519")
    r = _as_sudo(user, "project", "ssh-setup")
    assert r.exit_code == 1, r
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert target.stat().st_uid == 0


def test_a_dangling_key_symlink_does_not_make_ssh_keygen_create_root_files_elsewhere(user):
    elsewhere = world_dir("ds01-elsewhere-")  # root's, 0755: the caller cannot create files in it
    ssh = _ssh_dir(user)
    (ssh / "id_ed25519").symlink_to(elsewhere / "planted")
    _give(user, ssh / "id_ed25519")
    r = _as_sudo(user, "project", "ssh-setup")
    assert r.exit_code == 1, r
    assert list(elsewhere.iterdir()) == []


def test_ssh_setup_under_sudo_makes_the_callers_key_as_the_caller(user):
    r = _as_sudo(user, "project", "ssh-setup")
    assert r.exit_code == 0, r
    ssh = user.home / ".ssh"
    assert {p.lstat().st_uid for p in [ssh, *ssh.iterdir()]} == {user.uid}
    assert stat.S_IMODE((ssh / "id_ed25519").stat().st_mode) == 0o600


def test_authorize_from_a_file_reads_it_as_the_caller(user):
    """--authorize FILE must not read a root-only file into the caller's authorized_keys."""
    import subprocess

    secret_dir = world_dir("ds01-rootkey-")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ROOT-ONLY-KEY", "-f", str(secret_dir / "key")],
        check=True,
    )
    os.chmod(secret_dir / "key.pub", 0o600)
    r = _as_sudo(user, "project", "ssh-setup", "--authorize", str(secret_dir / "key.pub"))
    assert r.exit_code == 1, r
    assert "Permission denied" in r.stderr
    authorized = user.home / ".ssh" / "authorized_keys"
    assert not authorized.exists() or "ROOT-ONLY-KEY" not in authorized.read_text()


# -- project folders: nothing written or chowned through a symlink to root's folders ------------


def _root_folder() -> Path:
    folder = world_dir("ds01-rootdir-")
    (folder / "keep").write_text("root's\n")
    return folder


def _untouched(folder: Path) -> None:
    assert [p.name for p in folder.iterdir()] == ["keep"]
    assert {folder.stat().st_uid, (folder / "keep").stat().st_uid} == {0}


def test_a_vscode_symlink_to_a_root_folder_gets_nothing_written(user):
    project = user.home / "workspace" / "proj"
    project.mkdir(parents=True)
    _give(user, project.parent, project)
    folder = _root_folder()
    (project / ".vscode").symlink_to(folder)
    _give(user, project / ".vscode")
    r = _as_sudo(user, "project", "vscode-setup", "proj")
    assert r.exit_code == 1, r
    _untouched(folder)


def test_user_setup_vscode_step_through_a_symlink_gets_nothing_written(user):
    folder = _root_folder()
    project = user.home / "workspace" / "proj"
    assert _as_sudo(user, "project", "dir-create", "proj").exit_code == 0
    (project / ".vscode").symlink_to(folder)
    _give(user, project / ".vscode")
    _as_sudo(user, "user", "setup", "proj", "--yes", "--no-ssh", "--no-git", "--no-image", "--no-container")
    _untouched(folder)


@pytest.mark.docker  # reaches the engine through ds01 itself
@pytest.mark.parametrize(
    "argv",
    [
        ("project", "dir-create", "proj"),
        ("project", "init", "proj", "--yes", "--no-git", "--no-image", "--no-container"),
    ],
)
def test_a_data_symlink_to_a_root_folder_gets_nothing_written_or_chowned(user, argv):
    project = user.home / "workspace" / "proj"
    project.mkdir(parents=True)
    _give(user, project.parent, project)
    folder = _root_folder()
    (project / "data").symlink_to(folder)
    _give(user, project / "data")
    r = _as_sudo(user, *argv)
    assert r.exit_code == 1, r
    assert "Permission denied" in r.stderr
    _untouched(folder)


# -- a question asked by a step that runs as the caller ------------------------------------------


def test_the_overwrite_question_works_in_the_step_run_as_the_caller(user):
    """The dropped child inherits the terminal: it asks, and what it then writes is the caller's."""
    import pexpect

    from support.cli import ds01_executable

    project = user.home / "thesis"
    _write(user, project / "README.md", "# Mine\n")
    env = {**os.environ, **sudo_env(user), "HOME": str(world_dir("ds01-roothome-")), "TERM": "xterm", "NO_COLOR": "1"}
    child = pexpect.spawn(
        ds01_executable(), ["readme-create", str(project)], env=env, encoding="utf-8", timeout=60, dimensions=(40, 160)
    )
    child.expect("Replace it")
    child.send("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    readme = project / "README.md"
    assert "ds01 image create thesis" in readme.read_text()
    assert readme.stat().st_uid == user.uid
