"""``ds01 admin add-user`` and ``ds01 admin users`` with real host users and the real engine.

add-user in group mode puts a real login into the docker group (``id -nG`` says so) and
records it in the config through an edit that keeps every comment and changes nothing else
(``limits check`` still passes). Where the edit cannot be made safely (an immutable file, a
members list shared through a YAML anchor) the file is left byte for byte as it was, the
lines to add are printed, and the exit status is 1. ``admin users`` lists every known user
with the containers and GPU slots they really hold.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support import configs
from support.users import make_user, sudo_env

ROOT = Path(__file__).resolve().parent.parent.parent
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="adds real users to the docker group: needs root")


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "resource-limits.yaml"
    shutil.copyfile(ROOT / "config" / "resource-limits.yaml", path)
    monkeypatch.setenv("DS01_CONFIG", str(path))
    return path


def _groups_of(name: str) -> list[str]:
    return subprocess.run(["id", "-nG", name], capture_output=True, text=True, check=True).stdout.split()


@root_only
def test_add_user_group_mode_docker_group_and_a_comment_keeping_edit(cli, config):
    before = config.read_text()
    with make_user() as u:
        assert "docker" not in _groups_of(u.name)
        r = cli("admin", "add-user", u.name, "--group", "researcher")
        assert r.exit_code == 0, r.output
        assert "docker" in _groups_of(u.name)
        after = config.read_text()
        # Exactly one line changed: the researcher group's members; every comment is still there.
        diff = [
            line
            for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        assert diff == [
            "-    members: [researcher1, researcher2]",
            f"+    members: [researcher1, researcher2, {u.name}]",
        ], diff
        assert cli("limits", "check").exit_code == 0
        shown = json.loads(cli("limits", "show", u.name, "--json").stdout)
        assert shown["group"] == "researcher"
        # Again: nothing to do, nothing changed.
        again = cli("admin", "add-user", u.name, "--group", "researcher")
        assert again.exit_code == 0 and "already" in again.output
        assert config.read_text() == after


def test_add_user_group_mode_needs_root_and_changes_nothing_without_it(cli, config, monkeypatch):
    """Not root: group mode is refused before the config is touched (no half-done add)."""
    before = config.read_bytes()
    monkeypatch.setattr(os, "geteuid", lambda: 4242)
    r = cli("admin", "add-user", "newbie", "--group", "student")
    assert r.exit_code == 3, r.output
    assert "needs root" in r.output and "nothing was changed" in r.output
    assert config.read_bytes() == before


@root_only
def test_add_user_immutable_config_prints_the_lines(cli, config):
    before = config.read_bytes()
    subprocess.run(["chattr", "+i", str(config)], check=True)
    try:
        with make_user() as u:
            r = cli("admin", "add-user", u.name, "--group", "student")
            assert r.exit_code == 1, r.output
            assert "cannot be written" in r.output and "Add these lines yourself" in r.output
            assert f"members: [..., {u.name}]" in r.stdout
            assert "docker" in _groups_of(u.name)  # the docker group part still happened
    finally:
        subprocess.run(["chattr", "-i", str(config)], check=True)
    assert config.read_bytes() == before
    assert not list(config.parent.glob(f".{config.name}*"))  # no probe or temporary file left


@root_only
def test_add_user_shared_anchor_list_prints_the_lines(cli, config):
    """The admin group's members double as `admins` through an anchor: appending to the list
    would also make the new user a ds01 admin. The file is left alone and the lines printed."""
    text = config.read_text()
    text = text.replace("    members: [datasciencelab]", "    members: &labadmins [datasciencelab]", 1)
    text = text.replace("admins: []", "admins: *labadmins", 1)
    config.write_text(text)
    assert cli("limits", "check").exit_code == 0
    with make_user() as u:
        r = cli("admin", "add-user", u.name, "--group", "admin")
        assert r.exit_code == 1, r.output
        assert "YAML anchor" in r.output and f"members: [..., {u.name}]" in r.stdout
    assert config.read_text() == text


def test_add_user_unknown_group_is_a_usage_error(cli, config):
    before = config.read_bytes()
    r = cli("admin", "add-user", "someone", "--group", "nosuch")
    assert r.exit_code == 2 and "no group 'nosuch'" in r.output
    assert config.read_bytes() == before


@pytest.mark.docker
@root_only
def test_users_lists_real_containers_and_slots(cli, tmp_path, monkeypatch, docker_env, session_tag):
    from ds01.base import docker_client

    docker_client.reset_client()
    with make_user() as u:
        configs.use(
            monkeypatch,
            configs.write(
                tmp_path, configs.topology(None), groups={"lab": {"members": [u.name, "idle-member"], "priority": 40}}
            ),
        )
        name = f"{session_tag}-users"
        as_u = sudo_env(u)
        try:
            r = cli("container", "create", name, "--image", "ds01-base:busybox", "--gpus", "1", "--json", env=as_u)
            assert r.exit_code == 0, r.output
            assert cli("container", "start", name, env=as_u).exit_code == 0
            listing = cli("admin", "users", "--json")
            assert listing.exit_code == 0, listing.output
            rows = {row["user"]: row for row in json.loads(listing.stdout)["users"]}
            mine = rows[u.name]
            assert mine["group"] == "lab" and mine["priority"] == 40
            assert (mine["containers"], mine["running"]) == (1, 1)
            assert mine["slots"] == ["0"], mine
            assert mine["last_activity"] is not None
            idle = rows["idle-member"]
            assert (idle["group"], idle["containers"], idle["slots"], idle["last_activity"]) == ("lab", 0, [], None)
            table = cli("admin", "users")
            assert table.exit_code == 0
            line = next(x for x in table.stdout.splitlines() if x.split()[:1] == [u.name])
            assert line.split()[1:5] == ["lab", "40", "1/1", "0"], line
        finally:
            cli("container", "cleanup", name, "--force", env=as_u)
            docker_client.reset_client()
