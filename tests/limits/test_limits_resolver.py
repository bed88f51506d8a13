"""Resolution order, null versus absent, sources, and the Docker renderings of limits."""

from __future__ import annotations

import copy
import pickle
import textwrap
from pathlib import Path

import pytest

from ds01.limits.config import Config, check_file
from ds01.limits.resolver import (
    PER_USER_FIELDS,
    ResolvedLimits,
    container_resources,
    docker_run_args,
    format_value,
    resolve,
)

G = 1024**3


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "limits.yaml"
    path.write_text(textwrap.dedent(text))
    config, problems, _ = check_file(path, host_cpus=64)
    assert problems == []
    assert config is not None
    return config


LAYERED = """
    defaults:
      memory: 16g
      max_runtime: 24h
      idle_timeout: 12h
      max_cpus: 4
    default_group: student
    groups:
      student:
        members: [stu]
        priority: 10
        memory: 32g
        idle_timeout: null        # null: never, and it does not fall through to defaults
      researcher:
        members: [res]
        priority: 50
        max_mig_instances: null
        shm_size: 8g
    user_overrides:
      res:
        max_runtime: null
        memory: 64g
      stu:
        priority: 20
"""


def test_resolution_order_and_sources(tmp_path: Path) -> None:
    config = load(tmp_path, LAYERED)
    res = resolve(config, "res")
    assert (res.group, res.group_source) == ("researcher", "member")
    assert res.memory == 64 * G and res.sources["memory"] == "user_override"
    assert res.max_runtime is None and res.sources["max_runtime"] == "user_override"
    assert res.max_mig_instances is None and res.sources["max_mig_instances"] == "group:researcher"
    assert res.shm_size == 8 * G and res.sources["shm_size"] == "group:researcher"
    assert res.idle_timeout == 12 * 3600 and res.sources["idle_timeout"] == "defaults"
    assert res.max_gpus_per_container == 1 and res.sources["max_gpus_per_container"] == "builtin"
    # A user in user_overrides without a priority of their own gets 100.
    assert res.priority == 100 and res.sources["priority"] == "user_override"
    assert set(res.sources) == set(PER_USER_FIELDS) == set(res.values)


def test_null_does_not_fall_through(tmp_path: Path) -> None:
    config = load(tmp_path, LAYERED)
    stu = resolve(config, "stu")
    assert stu.idle_timeout is None and stu.sources["idle_timeout"] == "group:student"
    assert stu.memory == 32 * G
    assert stu.max_runtime == 24 * 3600 and stu.sources["max_runtime"] == "defaults"
    assert stu.priority == 20 and stu.sources["priority"] == "user_override"


def test_unknown_user_gets_default_group(tmp_path: Path) -> None:
    config = load(tmp_path, LAYERED)
    who = resolve(config, "stranger")
    assert (who.group, who.group_source) == ("student", "default_group")
    assert who.sources["memory"] == "default_group:student"
    assert who.sources["max_cpus"] == "defaults"
    assert who.priority == 10


def test_no_default_group_means_defaults_then_builtins(tmp_path: Path) -> None:
    config = load(tmp_path, "defaults:\n  memory: 8g\n")
    who = resolve(config, "stranger")
    assert (who.group, who.group_source) == (None, "defaults")
    assert who.sources["memory"] == "defaults"
    assert who.priority == 10 and who.sources["priority"] == "builtin"
    assert who.allow_full_gpu is True and who.max_mig_instances == 1
    assert who.gpu_hold_after_stop == 3600


def test_empty_config_resolves_to_builtins(tmp_path: Path) -> None:
    who = resolve(load(tmp_path, ""), "anyone")
    assert set(who.sources.values()) == {"builtin"}
    assert docker_run_args(who) == ["--cgroup-parent=ds01.slice"]
    assert container_resources(who) == {"cgroup_parent": "ds01.slice"}


def test_two_hundred_users_each_resolve_to_their_group(tmp_path: Path) -> None:
    groups = {"student": 10, "researcher": 50, "admin": 90, "guest": 5}
    expected: dict[str, str] = {}
    lines = ["default_group: guest", "groups:"]
    for index, (name, priority) in enumerate(groups.items()):
        members = [f"u{n:03d}" for n in range(200) if n % 4 == index]
        expected.update({m: name for m in members})
        lines += [f"  {name}:", f"    priority: {priority}", f"    members: [{', '.join(members)}]"]
    config = load(tmp_path, "\n".join(lines) + "\n")
    assert len(expected) == 200
    for user, group in expected.items():
        res = resolve(config, user)
        assert (res.group, res.group_source, res.priority) == (group, "member", groups[group]), user
        assert res.sources["priority"] == f"group:{group}"


def test_docker_renderings_come_from_one_table(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        groups:
          student:
            members: [stu]
            max_cpus: 2.5
            memory: 32g
            memory_swap: 48g
            shm_size: 512m
            pids_limit: 1024
    """,
    )
    res = resolve(config, "stu")
    assert docker_run_args(res, host_cpus=8) == [
        "--cpus=2.5",
        "--memory=32g",
        "--memory-swap=48g",
        "--shm-size=512m",
        "--pids-limit=1024",
        "--cgroup-parent=ds01-student.slice",
    ]
    assert container_resources(res, host_cpus=8) == {
        "nano_cpus": 2_500_000_000,
        "mem_limit": 32 * G,
        "memswap_limit": 48 * G,
        "shm_size": 512 * 1024**2,
        "pids_limit": 1024,
        "cgroup_parent": "ds01-student.slice",
    }


def test_cpus_above_host_are_capped_for_docker(tmp_path: Path) -> None:
    res = resolve(load(tmp_path, "defaults:\n  max_cpus: 32\n"), "x")
    assert res.max_cpus == 32  # the configured value is reported as is
    assert docker_run_args(res, host_cpus=4)[0] == "--cpus=4"
    assert container_resources(res, host_cpus=4)["nano_cpus"] == 4_000_000_000


def test_null_limits_give_no_flags(tmp_path: Path) -> None:
    res = resolve(load(tmp_path, "defaults:\n  memory: null\n  max_cpus: null\n  shm_size: 1g\n"), "x")
    assert docker_run_args(res) == ["--shm-size=1g", "--cgroup-parent=ds01.slice"]


def test_to_json_shape(tmp_path: Path) -> None:
    data = resolve(load(tmp_path, LAYERED), "res").to_json()
    assert list(data) == ["user", "group", "priority", "limits", "sources"]
    assert list(data["limits"]) == list(PER_USER_FIELDS)
    assert data["limits"]["memory"] == 64 * G and data["limits"]["max_runtime"] is None
    assert data["limits"]["idle_timeout"] == 43200
    assert data["sources"]["shm_size"] == "group:researcher"


def test_reservation_attached_to_its_user() -> None:
    root = Path(__file__).resolve().parents[2]
    config, _problems, _ = check_file(root / "config" / "resource-limits.yaml")
    assert config is not None
    holder = resolve(config, "researcher2")
    assert holder.reservation is not None and holder.reservation.slots == ("0",)
    assert resolve(config, "student1").reservation is None


def test_resolved_limits_attribute_access_and_copying(tmp_path: Path) -> None:
    res = resolve(load(tmp_path, LAYERED), "stu")
    assert res.memory == res.values["memory"]
    with pytest.raises(AttributeError):
        _ = res.no_such_field
    assert copy.deepcopy(res) == res
    assert pickle.loads(pickle.dumps(res)) == res
    assert isinstance(res, ResolvedLimits)


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("memory", 32 * G, "32g"),
        ("idle_timeout", 5400, "1h30m"),
        ("idle_timeout", None, "never"),
        ("max_mig_instances", None, "unlimited"),
        ("allow_full_gpu", False, "no"),
        ("max_cpus", 2.5, "2.5"),
        ("max_cpus", 8, "8"),
    ],
)
def test_format_value(name: str, value: object, text: str) -> None:
    assert format_value(name, value) == text
