"""YAML 1.2 scalars in ds01's files: each YAML 1.1 trap, in the config and in a topology, with both
inventories. Each test would fail with PyYAML's default (YAML 1.1) resolver."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ds01 import yaml12
from ds01.limits.config import check_file

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "config" / "topologies" / "demo-small.yaml"  # slots 0, 1:0, 1:1


def check(tmp_path: Path, text: str, inventory: str = "nvml"):
    head = (
        "gpu_allocation:\n  inventory: simulated\n  topology: " + str(TOPOLOGY) + "\n"
        if inventory == "simulated"
        else ""
    )
    path = tmp_path / "limits.yaml"
    path.write_text(head + textwrap.dedent(text))
    return check_file(path, host_cpus=64)


def by_path(problems):
    return {p.key_path: p for p in problems}


def test_loader_resolves_the_yaml_1_1_traps_as_yaml_1_2() -> None:
    data = yaml12.load(
        "a: [1:0, 2:3]\nb: no\nc: on\nd: 017\ne: 0o17\nf: 1_000\ng: 2027-03-01\nh: yes\ni: true\nj: null\nk: 1.5\n"
    )
    assert data == {
        "a": ["1:0", "2:3"],
        "b": "no",
        "c": "on",
        "d": 17,
        "e": "0o17",
        "f": "1_000",
        "g": "2027-03-01",
        "h": "yes",
        "i": True,
        "j": None,
        "k": 1.5,
    }


RESERVATION = """
user_overrides:
  alice:
    reservation_start: 2027-03-01T09:00:00
    reservation_end: 2027-03-02T09:00:00
    reserved_gpus: {slots}
"""


@pytest.mark.parametrize("inventory", ["nvml", "simulated"])
def test_unquoted_mig_slot_ids_are_the_slots_written(tmp_path: Path, inventory: str) -> None:
    # YAML 1.1 reads [1:0, 1:1] as the base-60 numbers [60, 61].
    config, problems, _ = check(tmp_path, RESERVATION.format(slots="[1:0, 1:1]"), inventory)
    assert problems == [] and config is not None
    assert config.reservations()[0].slots == ("1:0", "1:1")


def test_unquoted_slot_not_in_topology_is_named_as_written(tmp_path: Path) -> None:
    _config, problems, _ = check(tmp_path, RESERVATION.format(slots="[1:0, 2:3]"), "simulated")
    assert [(p.key_path, p.value) for p in problems] == [("user_overrides.alice.reserved_gpus", "2:3")]


@pytest.mark.parametrize("inventory", ["nvml", "simulated"])
@pytest.mark.parametrize(
    ("slots", "value", "fix"),
    [("[0]", 0, "quote it: '0'"), ("[1.5]", 1.5, "quote it: '1:0'"), ("[true]", True, "quote it: '1:0'")],
)
def test_slot_ids_of_another_type_are_refused_with_the_fix(
    tmp_path: Path, inventory: str, slots: str, value: object, fix: str
) -> None:
    config, problems, _ = check(tmp_path, RESERVATION.format(slots=slots), inventory)
    assert config is None
    (p,) = problems
    assert (p.key_path, p.value) == ("user_overrides.alice.reserved_gpus", value)
    assert p.message.startswith(f"is not a slot id string; {fix}; expected quoted slot ids such as '0'")


@pytest.mark.parametrize("inventory", ["nvml", "simulated"])
def test_yes_no_on_off_are_strings(tmp_path: Path, inventory: str) -> None:
    config, problems, _ = check(tmp_path, "advanced:\n  restart_policy: no\n", inventory)
    assert problems == [] and config is not None and config.advanced.restart_policy == "no"
    _config, problems, _ = check(
        tmp_path, "defaults:\n  allow_full_gpu: yes\nadvanced:\n  restart_policy: off\n", inventory
    )
    found = by_path(problems)
    assert found["defaults.allow_full_gpu"].value == "yes"  # YAML 1.1: True, silently
    assert found["defaults.allow_full_gpu"].message.startswith("is not true or false")
    assert found["advanced.restart_policy"].value == "off"  # YAML 1.1: False


@pytest.mark.parametrize("inventory", ["nvml", "simulated"])
def test_no_octal_no_underscores_no_infinity(tmp_path: Path, inventory: str) -> None:
    config, problems, _ = check(tmp_path, "defaults:\n  max_mig_instances: 010\n", inventory)
    assert problems == [] and config is not None
    assert config.defaults["max_mig_instances"] == 10  # YAML 1.1: octal 8
    _config, problems, _ = check(
        tmp_path, "defaults:\n  pids_limit: 1_000\n  max_containers_per_user: 0o17\n  max_cpus: .inf\n", inventory
    )
    found = by_path(problems)
    assert (found["defaults.pids_limit"].value, found["defaults.pids_limit"].message.split(";")[0]) == (
        "1_000",
        "is not a whole number",
    )
    assert found["defaults.max_containers_per_user"].value == "0o17"
    assert found["defaults.max_cpus"].message.split(";")[0] == "is not a finite number"


def _topology(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "topo.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def test_topology_flags_yes_no_are_not_booleans(tmp_path: Path) -> None:
    topo = _topology(
        tmp_path,
        """
        gpus:
          - name: A100
            memory: 80g
            mig: null
            lost: no
    """,
    )
    path = tmp_path / "limits.yaml"
    path.write_text(f"gpu_allocation:\n  inventory: simulated\n  topology: {topo}\n")
    config, problems, _ = check_file(path, host_cpus=64)
    assert config is None
    assert [(p.key_path, p.value) for p in problems] == [("gpus[0].lost", "no")]  # YAML 1.1: False


def test_topology_busy_list_names_mig_slots_as_written(tmp_path: Path) -> None:
    from ds01.gpu import inventory

    topo = _topology(
        tmp_path,
        """
        gpus:
          - name: A100
            memory: 80g
            mig: [3g.40gb, 3g.40gb]
        busy: [0:1]
    """,
    )
    inv = inventory.load("simulated", topo)
    activity = inventory.simulated_activity(inv, topo)
    busy = sorted(s.id for s in inv.slots if activity[s.uuid].busy)
    assert busy == ["0:1"]  # YAML 1.1: the number 1, naming no slot
