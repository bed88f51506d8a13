"""Under sudo, DS01_CONFIG/DS01_STATE_DIR/DS01_LOG_DIR count only when root controls the path.

The attack: a student runs ds01 through sudo with ``DS01_CONFIG`` pointing at a config of
their own that grants them every GPU (or a state folder they can edit). ds01 must ignore it,
say so in one line, and use the installed path. A path root owns and the caller cannot
change (an admin's staging config, the suite's own temporary folders) still counts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ds01 import paths
from support.cli import run_process
from support.users import make_user, sudo_env, world_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sudo callers and root-owned paths need root")

TOPOLOGY = Path(__file__).resolve().parents[2] / "config" / "topologies" / "demo-small.yaml"
EVIL = """\
defaults:
  max_mig_instances: null
  max_gpus_per_container: null
  max_containers_per_user: null
  priority: 100
admins: [{user}]
gpu_allocation:
  inventory: simulated
  topology: {topology}
"""


def _owned_by(path: Path, user) -> Path:
    os.chown(path, user.uid, user.gid)
    return path


def test_attack_own_config_granting_unlimited_gpus_is_ignored_under_sudo():
    with make_user() as user:
        evil = user.home / "my-limits.yaml"
        evil.write_text(EVIL.format(user=user.name, topology=TOPOLOGY))
        _owned_by(evil, user)
        env = {**sudo_env(user), "DS01_CONFIG": str(evil)}
        result = run_process("limits", "show", user.name, "--json", env=env)
        assert result.exit_code == 0, result
        shown = json.loads(result.stdout)
        # The installed (packaged) config's limits, not the caller's own.
        assert shown["limits"]["max_mig_instances"] == 1
        assert shown["limits"]["max_containers_per_user"] is not None
        assert shown["priority"] == 10
        assert f"ignoring DS01_CONFIG={evil}" in result.stderr
        assert result.stderr.count("ignoring DS01_CONFIG") == 1

        # The same file as plain root (no sudo caller) is an admin's choice and counts.
        as_root = run_process(
            "limits", "show", user.name, "--json", env={"DS01_CONFIG": str(evil), "SUDO_USER": "", "SUDO_UID": ""}
        )
        assert as_root.exit_code == 0, as_root
        assert json.loads(as_root.stdout)["limits"]["max_mig_instances"] is None


def test_state_and_log_folders_the_caller_controls_are_ignored(monkeypatch):
    with make_user() as user:
        mine = user.home / "state"
        mine.mkdir()
        _owned_by(mine, user)
        for key, value in sudo_env(user).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DS01_STATE_DIR", str(mine))
        monkeypatch.setenv("DS01_LOG_DIR", str(user.home / "not-yet"))  # the caller could create it
        assert paths.state_dir() == paths.DEFAULT_STATE_DIR
        assert paths.log_dir() == paths.DEFAULT_LOG_DIR

        # A root-owned folder inside the caller's home: they could rename it away and put their own.
        boxed = user.home / "rootbox"
        boxed.mkdir()
        monkeypatch.setenv("DS01_STATE_DIR", str(boxed))
        assert paths.state_dir() == paths.DEFAULT_STATE_DIR


def test_root_controlled_paths_count_and_symlinks_resolve(monkeypatch):
    with make_user() as user:
        world = world_dir()
        config = world / "staging.yaml"
        config.write_text("defaults: {}\n")
        state = world / "state"  # does not exist yet; its folder is root's and 0755
        link = user.home / "cfg-link"
        link.symlink_to(config)
        for key, value in sudo_env(user).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DS01_CONFIG", str(link))
        monkeypatch.setenv("DS01_STATE_DIR", str(state))
        # The resolved path is what ds01 uses: re-pointing the caller's link later changes nothing.
        assert paths.config_path() == config
        assert paths.state_dir() == state

        # Writable by the caller through their group, or by everyone: no longer root's alone.
        # (A process judges each override once: each change below is looked at afresh.)
        os.chown(config, 0, user.gid)
        os.chmod(config, 0o664)
        paths.forget()
        assert paths.config_path() == paths.installed_config_path()
        os.chown(config, 0, 0)
        os.chmod(config, 0o644)
        os.chmod(world, 0o777)
        paths.forget()
        assert paths.config_path() == paths.installed_config_path()
        assert paths.state_dir() == paths.DEFAULT_STATE_DIR
        os.chmod(world, 0o1777)  # sticky: the caller may add names but not replace root's file
        paths.forget()
        assert paths.config_path() == config
        assert paths.state_dir() == paths.DEFAULT_STATE_DIR  # ...but could create the missing folder


def test_an_admin_of_the_installed_config_keeps_overrides(monkeypatch):
    with make_user() as user:
        world = world_dir()
        installed = world / "resource-limits.yaml"
        installed.write_text(f"admins: [{user.name}]\n")
        monkeypatch.setattr(paths, "DEFAULT_CONFIG", installed)
        own = user.home / "mine.yaml"
        own.write_text("{}\n")
        _owned_by(own, user)
        for key, value in sudo_env(user).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DS01_CONFIG", str(own))
        assert paths.config_path() == own
        installed.write_text("admins: []\n")
        paths.forget()
        assert paths.config_path() == installed


def test_each_override_is_judged_once_per_process(monkeypatch):
    """The folder walk, the caller's groups and the installed admins are read at the first use of
    an override, not at every call; another value, or another caller, is judged on its own."""
    with make_user() as user:
        world = world_dir()
        config = world / "staging.yaml"
        config.write_text("defaults: {}\n")
        judged = []
        real = paths._judge

        def judge(name, value, path, caller):
            judged.append((name, value))
            return real(name, value, path, caller)

        monkeypatch.setattr(paths, "_judge", judge)
        for key, value in sudo_env(user).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DS01_CONFIG", str(config))
        for _ in range(3):
            assert paths.config_path() == config
        assert judged == [("DS01_CONFIG", str(config))]
        other = world / "other.yaml"
        other.write_text("defaults: {}\n")
        monkeypatch.setenv("DS01_CONFIG", str(other))
        assert paths.config_path() == other
        monkeypatch.setenv("SUDO_UID", str(user.uid + 1))
        assert paths.config_path() == other
        assert judged == [("DS01_CONFIG", str(config)), ("DS01_CONFIG", str(other)), ("DS01_CONFIG", str(other))]


def test_without_sudo_or_for_root_overrides_count_as_given(monkeypatch, tmp_path):
    target = tmp_path / "anything.yaml"
    monkeypatch.setenv("DS01_CONFIG", str(target))
    assert paths.config_path() == target
    monkeypatch.setenv("SUDO_USER", "root")
    monkeypatch.setenv("SUDO_UID", "0")
    assert paths.config_path() == target
