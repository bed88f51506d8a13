"""A command takes the validated config from the last-good record while the files are the ones
validated (``limits.stamp``), and validates again whenever anything that decided the
validation changed: the file (even in place at the same size), the topology it names, the
host's CPU count, the code that validates, or a write too close to the read to be told apart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ds01.errors import ConfigError
from ds01.limits import config as config_module
from ds01.limits import last_good, stamp
from support.configs import aged

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def setup(tmp_path, monkeypatch):
    # Files here tick in nanoseconds: a short racy window keeps these tests quick
    # (test_the_racy_window_covers_filesystems_that_tick_in_seconds pins the real one).
    monkeypatch.setattr(stamp, "RACY_NS", 20_000_000)
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "resource-limits.yaml"
    shutil.copyfile(ROOT / "config" / "resource-limits.yaml", config)
    shutil.copytree(ROOT / "config" / "topologies", tmp_path / "topologies")
    monkeypatch.setenv("DS01_STATE_DIR", str(state))
    monkeypatch.setenv("DS01_CONFIG", str(config))
    return config, state


def _no_parse(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("the config was parsed again")

    monkeypatch.setattr(config_module, "load_config", refuse)


def _parses(monkeypatch) -> list[Path]:
    """The config files parsed from now on (``load_config`` still parses them)."""
    parsed: list[Path] = []
    real = config_module.load_config
    monkeypatch.setattr(config_module, "load_config", lambda p: parsed.append(p) or real(p))
    return parsed


def _record(state: Path) -> dict:
    return json.loads(last_good.store_path(state).read_text())


def test_a_stamped_config_is_taken_from_the_record_without_parsing(setup, monkeypatch):
    config, state = setup
    first = last_good.load(aged(config), use=last_good.TAKE)
    assert _record(state)["stamp"]["files"][0][0] == str(config)
    _no_parse(monkeypatch)
    again = last_good.load(config, use=last_good.TAKE)
    assert again == first
    assert again.path == config


def test_a_command_on_a_stamped_config_imports_no_yaml(setup):
    config, state = setup
    last_good.load(aged(config), use=last_good.TAKE)
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ds01.limits import last_good\n"
        f"cfg = last_good.load(Path({str(config)!r}), use=last_good.TAKE)\n"
        "print(cfg.defaults['max_containers_per_user'], 'yaml' in sys.modules, 'ds01.yaml12' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ)
    assert done.returncode == 0, done.stderr
    limit = config_module.load_config(config).defaults["max_containers_per_user"]
    assert done.stdout.split() == [str(limit), "False", "False"]


def test_a_file_rewritten_in_place_at_the_same_size_is_validated_again(setup):
    config, _state = setup
    text = config.read_text()
    assert "max_containers_per_user: 2 " in text
    last_good.load(aged(config), use=last_good.TAKE)
    inode = config.stat().st_ino
    with config.open("r+") as fh:  # same inode, same size: only its ctime tells
        fh.write(text.replace("max_containers_per_user: 2 ", "max_containers_per_user: 5 ", 1))
    assert (config.stat().st_ino, config.stat().st_size) == (inode, len(text.encode()))
    assert last_good.load(config, use=last_good.TAKE).defaults["max_containers_per_user"] == 5


def test_a_file_read_right_after_a_write_is_not_stamped(setup, monkeypatch):
    """Written and validated in one clock tick, a second write could keep the identity: no stamp."""
    config, state = setup
    ctime = os.stat(config).st_ctime_ns
    monkeypatch.setattr(time, "time_ns", lambda: ctime + stamp.RACY_NS // 2)
    last_good.load(config, use=last_good.TAKE)
    assert "stamp" not in _record(state)
    assert not stamp.valid_as_stamped(str(config), str(state))
    monkeypatch.undo()
    monkeypatch.setenv("DS01_STATE_DIR", str(state))
    last_good.load(aged(config), use=last_good.TAKE)  # the next read, once the file is older, stamps it
    assert stamp.valid_as_stamped(str(config), str(state))


def test_the_racy_window_covers_filesystems_that_tick_in_seconds(setup, monkeypatch):
    """On a filesystem whose times tick once a second (ext4 with small inodes, some network
    filesystems) a same-size rewrite within the second keeps every part of the identity: a
    read inside that second must not be stamped, whatever the fine clock says."""
    config, state = setup
    monkeypatch.undo()  # the real window
    monkeypatch.setenv("DS01_STATE_DIR", str(state))
    assert stamp.RACY_NS >= 2_000_000_000

    def coarse(path):  # the identity as such a filesystem reports it: whole seconds
        found = real_identity(path)
        return None if found is None else [*found[:3], found[3] // 10**9 * 10**9, found[4] // 10**9 * 10**9]

    real_identity = stamp.identity
    monkeypatch.setattr(stamp, "identity", coarse)
    tick = coarse(str(config))[4]
    for offset, stamped in ((900_000_000, False), (1_500_000_000, False), (2_100_000_000, True)):
        mark = stamp.make(str(config), None, "group", read_at_ns=tick + offset)
        assert (mark is not None) is stamped, offset


def test_a_changed_topology_file_is_validated_again(setup, tmp_path):
    config, _state = setup
    topology = tmp_path / "topologies" / "demo-small.yaml"
    first = last_good.load(aged(config), use=last_good.TAKE)
    assert first.gpu_allocation.topology == topology
    topology.write_text("gpus:\n  - {name: g, memory: 80g, mig: [foo]}\n")
    with pytest.raises(ConfigError) as refused:
        last_good.load(config, use=last_good.TAKE, is_admin=lambda _config: True)
    assert "is not a MIG profile" in str(refused.value.details)


@pytest.mark.parametrize("change", ["cpus", "code", "version"])
def test_a_change_of_what_decided_the_validation_is_validated_again(setup, monkeypatch, change):
    config, state = setup
    last_good.load(aged(config), use=last_good.TAKE)
    assert stamp.valid_as_stamped(str(config), str(state))
    if change == "cpus":
        monkeypatch.setattr(os, "cpu_count", lambda: 4096)
    elif change == "code":
        monkeypatch.setattr(stamp, "_code_mark", lambda: [[0, 0]])
    else:
        monkeypatch.setattr(stamp, "__version__", "0.0.0-other")
    assert not stamp.valid_as_stamped(str(config), str(state))
    parsed = _parses(monkeypatch)
    last_good.load(config, use=last_good.TAKE)
    assert parsed == [config]


def test_a_record_of_another_config_file_is_not_taken(setup, tmp_path, monkeypatch):
    config, _state = setup
    last_good.load(aged(config), use=last_good.TAKE)
    other = tmp_path / "other.yaml"
    shutil.copyfile(config, other)
    aged(other)
    parsed = _parses(monkeypatch)
    assert last_good.load(other, use=last_good.TAKE).path == other
    assert parsed == [other]


def test_a_record_whose_config_cannot_be_rebuilt_is_ignored(setup, monkeypatch):
    config, state = setup
    last_good.load(aged(config), use=last_good.TAKE)
    store = last_good.store_path(state)
    record = _record(state)
    record["config"] = {"$dc": "NotAConfigType", "f": {}}
    store.write_text(json.dumps(record))
    parsed = _parses(monkeypatch)
    assert last_good.load(config, use=last_good.TAKE).path == config
    assert parsed == [config]


def test_a_simulated_inventorys_capabilities_come_with_the_validated_config(setup, monkeypatch):
    """A create's catalog architecture needs the topology's compute capabilities: read once, at
    validation, and carried by the stamped record (the stamp covers the topology file)."""
    from ds01.gpu import facts
    from ds01.limits import topology

    config, _state = setup
    first = last_good.load(aged(config), use=last_good.TAKE)
    expected = [gpu.compute_capability for gpu in topology.simulated_topology(first.gpu_allocation.topology).gpus]
    assert first.gpu_allocation.compute_capabilities == tuple(expected)

    def refuse(*_a, **_k):
        raise AssertionError("the topology file was read again")

    monkeypatch.setattr(topology, "read_topology", refuse)
    _no_parse(monkeypatch)
    again = last_good.load(config, use=last_good.TAKE)
    assert facts.compute_capabilities(again) == expected


def test_a_tilde_path_is_taken_only_by_a_process_with_the_same_home(setup, tmp_path, monkeypatch):
    """``images.aime_catalog: ~/…`` expands with the validating process's HOME: a record made by
    root (HOME=/root) must not hand a user root's expansion, so another HOME validates afresh."""
    config, state = setup
    text = config.read_text()
    packaged = "aime_catalog: /opt/aime-ml-containers/ml_images.repo"
    assert packaged in text
    config.write_text(text.replace(packaged, "aime_catalog: ~/ml.repo"))
    monkeypatch.setenv("HOME", str(tmp_path / "first"))
    first = last_good.load(aged(config), use=last_good.TAKE)
    assert first.images.aime_catalog == tmp_path / "first" / "ml.repo"
    assert stamp.valid_as_stamped(str(config), str(state))
    monkeypatch.setenv("HOME", str(tmp_path / "second"))
    assert not stamp.valid_as_stamped(str(config), str(state))
    assert last_good.load(config, use=last_good.TAKE).images.aime_catalog == tmp_path / "second" / "ml.repo"
    # A config whose paths use no ~ is the same for every HOME.
    config.write_text(text)
    last_good.load(aged(config), use=last_good.TAKE)
    monkeypatch.setenv("HOME", str(tmp_path / "third"))
    assert stamp.valid_as_stamped(str(config), str(state))
