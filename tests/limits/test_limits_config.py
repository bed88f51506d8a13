"""Strict validation of resource-limits.yaml: every problem found, each with key path and value."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ds01.errors import ConfigError, ExitCode
from ds01.limits.config import Config, Problem, check_file, load_config, topology_slots

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGIES = ROOT / "config" / "topologies"


def write(tmp_path: Path, text: str, name: str = "limits.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def check(tmp_path: Path, text: str, host_cpus: int = 64) -> tuple[Config | None, list[Problem], list[str]]:
    return check_file(write(tmp_path, text), host_cpus=host_cpus)


def by_path(problems: list[Problem]) -> dict[str, Problem]:
    return {p.key_path: p for p in problems}


def test_packaged_example_is_valid_and_complete() -> None:
    config, problems, _warnings = check_file(ROOT / "config" / "resource-limits.yaml", host_cpus=64)
    assert problems == []
    assert config is not None
    assert config.default_group == "student"
    assert {n: g.limits["priority"] for n, g in config.groups.items()} == {"student": 10, "researcher": 50, "admin": 90}
    assert config.groups["student"].limits["gpu_hold_after_stop"] == 3600
    assert config.groups["researcher"].limits["gpu_hold_after_stop"] == 7200
    assert config.groups["admin"].limits["gpu_hold_after_stop"] == 3 * 3600
    assert config.groups["admin"].limits["max_mig_instances"] is None
    assert config.gpu_allocation.inventory == "simulated"
    assert config.gpu_allocation.topology == (TOPOLOGIES / "demo-small.yaml").resolve()
    assert config.admins == frozenset()
    (reservation,) = config.reservations()
    assert reservation.start.year == 2027 and reservation.start.tzinfo is not None
    assert reservation.active(datetime(2027, 3, 2, tzinfo=UTC))
    assert not reservation.active(datetime(2027, 3, 6, tzinfo=UTC))


@pytest.mark.parametrize(
    ("name", "slots"),
    [
        ("demo-small.yaml", ["0", "1:0", "1:1"]),
        ("h200-x1.yaml", ["0"]),
        ("a100-40gb-x4.yaml", ["0", "1"] + [f"2:{m}" for m in range(3)] + [f"3:{m}" for m in range(7)]),
    ],
)
def test_topology_slots(name: str, slots: list[str]) -> None:
    assert topology_slots(TOPOLOGIES / name) == slots


def test_dgx_topology_has_mixed_mig_and_an_empty_mig_gpu() -> None:
    slots = topology_slots(TOPOLOGIES / "dgx-a100-80gb.yaml")
    assert {"0", "1", "2", "7", "3:6", "4:0", "5:3"} <= set(slots)
    assert not any(s.startswith("6") for s in slots)  # MIG on, no instances: no slot
    assert len(slots) == 3 + 7 + 7 + 4 + 1


def test_empty_file_and_empty_sections_mean_defaults(tmp_path: Path) -> None:
    config, problems, warnings = check(tmp_path, "")
    assert problems == [] and config is not None
    assert config.gpu_allocation.strategy == "least_allocated"
    assert any("sets nothing" in w for w in warnings)  # an emptied file is valid but suspicious
    config, problems, warnings = check(
        tmp_path,
        """
        defaults:
        groups:
        user_overrides:
        gpu_allocation:
        policies:
        advanced:
        images:
        wizard:
        admins:
    """,
    )
    assert problems == []
    assert not any("sets nothing" in w for w in warnings)
    assert config is not None
    assert config.gpu_allocation.inventory == "nvml"
    assert config.policies.pending_allocation_timeout == 600
    assert config.advanced.restart_policy == "no"
    assert config.images.use_cases == {} and config.images.jupyter is None
    assert config.wizard["default_use_case"] == "general-ml"
    assert config.defaults == {} and config.groups == {}


def test_every_problem_is_collected_with_path_value_and_forms(tmp_path: Path) -> None:
    _config, problems, _ = check(
        tmp_path,
        """
        defaults:
          memroy: 32g
          max_runtime: 48
          shm_size: -1g
          priority: 101
          allow_full_gpu: "yes"
        groups:
          student:
            members: [alice]
            idle_timeout: 5y
            max_cpus: many
          researcher:
            members: [alice]
        default_group: studnet
        gpu_allocation:
          strategy: fastest
          sharing: share
          inventory: fake
          device_requests: sometimes
          max_containers_per_gpu: 0
        advanced:
          restart_policy: always-ish
        gpu_alocation: {}
    """,
    )
    found = by_path(problems)
    assert set(found) == {
        "defaults.memroy",
        "defaults.max_runtime",
        "defaults.shm_size",
        "defaults.priority",
        "defaults.allow_full_gpu",
        "groups.student.idle_timeout",
        "groups.student.max_cpus",
        "groups.researcher.members",
        "default_group",
        "gpu_allocation.strategy",
        "gpu_allocation.sharing",
        "gpu_allocation.inventory",
        "gpu_allocation.device_requests",
        "gpu_allocation.max_containers_per_gpu",
        "advanced.restart_policy",
        "gpu_alocation",
    }
    assert "did you mean 'memory'" in found["defaults.memroy"].message
    assert "bare number" in found["defaults.max_runtime"].message
    assert "48h" in found["defaults.max_runtime"].message  # accepted forms shown
    assert found["defaults.max_runtime"].value == 48
    assert "negative" in found["defaults.shm_size"].message
    assert "from 1 to 100" in found["defaults.priority"].message
    assert "true or false" in found["defaults.allow_full_gpu"].message
    assert found["groups.researcher.members"].value == "alice"
    assert "already a member of group 'student'" in found["groups.researcher.members"].message
    assert "did you mean 'student'" in found["default_group"].message
    assert "least_allocated, priority_aware, round_robin" in found["gpu_allocation.strategy"].message
    assert "did you mean 'shared'" in found["gpu_allocation.sharing"].message
    assert "nvml, simulated" in found["gpu_allocation.inventory"].message
    assert "auto, always, never" in found["gpu_allocation.device_requests"].message
    assert "did you mean 'gpu_allocation'" in found["gpu_alocation"].message
    assert "did you mean 'always'" in found["advanced.restart_policy"].message
    for p in problems:
        assert p.file == str(tmp_path / "limits.yaml")
        assert p.format().startswith(f"{p.file}: {p.key_path}: ")


@pytest.mark.parametrize(
    ("yaml_text", "key_path", "fragment"),
    [
        ("defaults: [1, 2]", "defaults", "not a mapping"),
        ("groups:\n  student: 3", "groups.student", "not a mapping"),
        ("groups:\n  Data-Sci: {}", "groups.Data-Sci", "not a valid group name"),
        ("groups:\n  g:\n    members: alice", "groups.g.members", "not a list"),
        ("groups:\n  g:\n    members: [1234]", "groups.g.members", "quote numeric names"),
        ("defaults:\n  max_mig_instances: 1.5", "defaults.max_mig_instances", "not a whole number"),
        ("defaults:\n  max_mig_instances: -1", "defaults.max_mig_instances", "out of range"),
        ("defaults:\n  priority: 0", "defaults.priority", "out of range"),
        ("defaults:\n  priority: null", "defaults.priority", "may not be null"),
        ("defaults:\n  allow_full_gpu: null", "defaults.allow_full_gpu", "may not be null"),
        ("defaults:\n  max_cpus: 0", "defaults.max_cpus", "out of range"),
        ("defaults:\n  memory: 8g\n  memory_swap: 4g", "defaults.memory_swap", "smaller than memory"),
        ("gpu_allocation:\n  mig_gpus: [a]", "gpu_allocation.mig_gpus", "GPU indices"),
        ("gpu_allocation:\n  inventory: simulated", "gpu_allocation.topology", "required"),
        ("gpu_allocation:\n  topology: nowhere.yaml", "gpu_allocation.topology", "existing file"),
        ("images:\n  use_cases: {vision: [x]}", "images.use_cases.vision", "not a known use case"),
        ("images:\n  jupyter: jupyterlab", "images.jupyter", "not a list of strings"),
        ("wizard:\n  default_use_case: games", "wizard.default_use_case", "not an accepted value"),
        ("wizard:\n  colour: blue", "wizard.colour", "not a known key"),
        ("admins: alice", "admins", "not a list"),
        ("policies:\n  pending_allocation_timeout: 600", "policies.pending_allocation_timeout", "bare number"),
        ("policies:\n  pending_allocation_timeout: null", "policies.pending_allocation_timeout", "null"),
        ("user_overrides:\n  'bad user': {}", "user_overrides.bad user", "not a login name"),
    ],
)
def test_single_rejections(tmp_path: Path, yaml_text: str, key_path: str, fragment: str) -> None:
    config, problems, _ = check(tmp_path, yaml_text)
    assert config is None
    assert key_path in by_path(problems), problems
    assert fragment in by_path(problems)[key_path].message


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    _config, problems, _ = check(tmp_path, "- just\n- a list\n")
    assert len(problems) == 1 and problems[0].key_path == ""
    assert "top level" in problems[0].message


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    _config, problems, _ = check(tmp_path, "defaults:\n  memory: 8g\n  memory: 16g\n")
    assert len(problems) == 1
    assert problems[0].value == "memory" and "twice" in problems[0].message
    assert problems[0].key_path == "(line 3)"


def test_max_cpus_above_host_is_a_warning_not_an_error(tmp_path: Path) -> None:
    config, problems, warnings = check(tmp_path, "groups:\n  g:\n    max_cpus: 128\n", host_cpus=16)
    assert problems == [] and config is not None
    assert warnings == [f"{tmp_path / 'limits.yaml'}: groups.g.max_cpus: 128 is more than this host's 16 CPU cores."]


RESERVATION = """
gpu_allocation:
  inventory: simulated
  topology: {topology}
user_overrides:
  alice:
    reservation_start: {start}
    reservation_end: {end}
    reserved_gpus: {slots}
"""


def reservation(
    tmp_path: Path,
    slots: str = "['0']",
    start: str = "2027-03-01T09:00:00",
    end: str = "2027-03-02T09:00:00",
    topology: str = "topologies/demo-small.yaml",
):
    return check(tmp_path, RESERVATION.format(topology=topology, start=start, end=end, slots=slots))


def test_reservation_valid_against_simulated_topology(tmp_path: Path) -> None:
    config, problems, _ = reservation(tmp_path, slots="['0', 1:1]", start="'2027-03-01T09:00:00+01:00'")
    assert problems == []
    assert config is not None
    (res,) = config.reservations()
    assert res.slots == ("0", "1:1")
    assert res.start == datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    assert res.reason is None


def test_reservation_date_only_is_midnight_utc(tmp_path: Path) -> None:
    config, problems, _ = reservation(tmp_path, start="2027-03-01", end="2027-03-02")
    assert problems == [] and config is not None
    assert config.reservations()[0].start == datetime(2027, 3, 1, tzinfo=UTC)


def test_reservation_unknown_slot_names_topology_slots(tmp_path: Path) -> None:
    _config, problems, _ = reservation(tmp_path, slots="['1', '5:0', '1:0']")
    bad = [p for p in problems if p.key_path == "user_overrides.alice.reserved_gpus"]
    assert [p.value for p in bad] == ["1", "5:0"]  # GPU 1 is in MIG mode: only 1:0 and 1:1 exist
    assert "0, 1:0, 1:1" in bad[0].message


def test_reservation_slot_syntax_checked_even_with_nvml(tmp_path: Path) -> None:
    config, problems, _ = check(
        tmp_path,
        """
        user_overrides:
          alice:
            reservation_start: 2027-03-01T09:00:00
            reservation_end: 2027-03-02T09:00:00
            reserved_gpus: ['7:3', 'gpu0']
    """,
    )
    assert config is None
    assert [p.value for p in problems] == ["gpu0"]


def test_reservation_ending_before_start(tmp_path: Path) -> None:
    _config, problems, _ = reservation(tmp_path, start="2027-03-02T09:00:00", end="2027-03-01T09:00:00")
    assert [p.key_path for p in problems] == ["user_overrides.alice.reservation_end"]
    assert "not after reservation_start" in problems[0].message


def test_reservation_half_given(tmp_path: Path) -> None:
    _config, problems, _ = check(
        tmp_path,
        """
        user_overrides:
          alice:
            reservation_start: 2027-03-01T09:00:00
            reserved_gpus: ['0']
    """,
    )
    paths = {p.key_path for p in problems}
    assert paths == {"user_overrides.alice.reservation_end", "user_overrides.alice.reserved_gpus"}


def test_reservation_bad_datetime(tmp_path: Path) -> None:
    _config, problems, _ = reservation(tmp_path, start="'next tuesday'")
    assert problems[0].key_path == "user_overrides.alice.reservation_start"
    assert "ISO 8601" in problems[0].message


def test_topology_relative_to_config_dir_first(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("gpus:\n  - {name: X, memory: 10g, mig: null}\n")
    config, problems, _ = reservation(tmp_path, topology="mine.yaml")
    assert problems == [] and config is not None
    assert config.gpu_allocation.topology == tmp_path / "mine.yaml"


def test_topology_falls_back_to_packaged_topologies(tmp_path: Path) -> None:
    config, problems, _ = reservation(tmp_path, topology="h200-x1.yaml")
    assert problems == [] and config is not None
    assert config.gpu_allocation.topology == (TOPOLOGIES / "h200-x1.yaml").resolve()


def test_broken_topology_is_reported_with_its_own_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("gpus:\n  - {name: X, memory: 10, mig: null, colour: red}\n")
    _config, problems, _ = reservation(tmp_path, topology="bad.yaml")
    files = {p.file for p in problems}
    assert str(tmp_path / "bad.yaml") in files
    assert {p.key_path for p in problems} >= {"gpus[0].memory", "gpus[0].colour"}


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_text("defaults: [unclosed\n"), "not valid YAML at line"),
        (lambda p: p.mkdir(), "is a directory"),
    ],
)
def test_unreadable_files_raise_config_error_naming_the_path(tmp_path: Path, setup, fragment: str) -> None:
    path = tmp_path / "limits.yaml"
    setup(path)
    _config, problems, _ = check_file(path)
    assert len(problems) == 1 and fragment in problems[0].message
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in info.value.message and fragment in info.value.message
    assert info.value.exit_code == ExitCode.USAGE


def test_load_config_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "defaults:\n  memory: 32\n  max_runtime: 48\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "2 problem(s)" in info.value.message and str(path) in info.value.message
    assert len(info.value.details) == 2
    assert any("defaults.memory: 32 is a bare number" in d for d in info.value.details)


def test_load_config_defaults_to_active_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path, "default_group: null\n")
    monkeypatch.setenv("DS01_CONFIG", str(path))
    assert load_config().path == path


def test_reservation_with_empty_slot_list(tmp_path: Path) -> None:
    _config, problems, _ = reservation(tmp_path, slots="[]")
    assert [(p.key_path, p.value) for p in problems] == [("user_overrides.alice.reserved_gpus", [])]
    assert "is empty" in problems[0].message


def test_empty_lists_given_as_null(tmp_path: Path) -> None:
    config, problems, _ = check(
        tmp_path,
        """
        groups:
          student:
            members:
        images:
          use_cases:
        admins:
    """,
    )
    assert problems == [] and config is not None
    assert config.groups["student"].members == ()
    assert config.images.use_cases == {}
    assert config.admins == frozenset()


ODD_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    "",
    "x",
    "1h",
    "1g",
    "-2g",
    [],
    ["a"],
    [1, "b"],
    {},
    {"a": 1},
    "2027-01-01T00:00:00",
]


def _all_keys() -> list[tuple[str, str]]:
    from ds01.limits import schema

    keys = [("defaults", s.name) for s in schema.PER_USER_SPECS]
    keys += [("groups.g", s.name) for s in schema.PER_USER_SPECS + schema.GROUP_EXTRA_SPECS]
    keys += [("user_overrides.u", s.name) for s in schema.PER_USER_SPECS + schema.OVERRIDE_EXTRA_SPECS]
    for section, specs in schema.SECTION_SPECS.items():
        keys += [(section, s.name) for s in specs]
    return keys


@pytest.mark.parametrize(("section", "key"), _all_keys())
def test_any_value_gives_a_config_or_problems_never_an_exception(tmp_path: Path, section: str, key: str) -> None:
    import yaml

    for value in ODD_VALUES:
        data: dict = {}
        node = data
        for part in section.split("."):
            node = node.setdefault(part, {})
        node[key] = value
        path = tmp_path / "odd.yaml"
        path.write_text(yaml.safe_dump(data))
        config, problems, _ = check_file(path, host_cpus=8)
        assert (config is None) == bool(problems), (section, key, value)
        for p in problems:
            assert p.key_path and p.message, p
