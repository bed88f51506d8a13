"""Every numeric config value has a range: `limits check` refuses a value outside it, naming the
key and the range, so nothing that passes the check fails later (a duration that overflows a
date, a size Docker cannot hold, a CPU limit of infinity, a shared network namespace)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ds01.limits.config import check_file
from ds01.limits.schema import (
    ADVANCED_SPECS,
    GROUP_EXTRA_SPECS,
    PER_USER_SPECS,
    POLICIES_SPECS,
    SECTION_SPECS,
)


def _check(tmp_path: Path, section: str, key: str, value: str) -> list:
    path = tmp_path / "limits.yaml"
    path.write_text(f"{section}:\n  {key}: {value}\n")
    _config, problems, _warnings = check_file(path, host_cpus=8)
    return problems


# (section, key, YAML value, accepted?, fragment of the message when refused)
TABLE = [
    ("defaults", "gpu_hold_after_stop", "1000000000000000s", False, "at most 36500d"),
    ("defaults", "gpu_hold_after_stop", "36500d", True, ""),
    ("defaults", "gpu_hold_after_stop", "36501d", False, "at most 36500d"),
    ("defaults", "gpu_hold_after_stop", "0s", True, ""),
    ("defaults", "max_runtime", "5300w", False, "at most 36500d"),
    ("defaults", "idle_timeout", "2d", True, ""),
    ("policies", "max_keep_alive", "999999999d", False, "at most 36500d"),
    ("policies", "pending_allocation_timeout", "10m", True, ""),
    ("defaults", "memory", "1k", False, "from 6m to 8388607t"),
    ("defaults", "memory", "5m", False, "from 6m to 8388607t"),
    ("defaults", "memory", "6m", True, ""),
    ("defaults", "memory", "8388607t", True, ""),
    ("defaults", "memory", "8388608t", False, "from 6m to 8388607t"),
    ("defaults", "memory", "99999999999t", False, "from 6m to 8388607t"),
    ("defaults", "memory_swap", "1m", False, "from 6m"),
    ("defaults", "shm_size", "0b", False, "from 1b to 8388607t"),
    ("defaults", "shm_size", "64m", True, ""),
    ("defaults", "shm_size", "9999999t", False, "to 8388607t"),
    ("groups.g", "slice_memory", "1k", False, "from 6m"),
    ("defaults", "max_cpus", ".inf", False, "not a finite number"),
    ("defaults", "max_cpus", ".nan", False, "not a finite number"),
    ("defaults", "max_cpus", "1e-10", False, "from 0.01 to 1000000"),
    ("defaults", "max_cpus", "0", False, "from 0.01 to 1000000"),
    ("defaults", "max_cpus", "0.01", True, ""),
    ("defaults", "max_cpus", "1e12", False, "from 0.01 to 1000000"),
    ("groups.g", "slice_cpus", "0.001", False, "from 0.01"),
    ("defaults", "pids_limit", "0", False, "from 1 to 2^63-1"),
    ("defaults", "pids_limit", "-1", False, "from 1 to 2^63-1"),
    ("defaults", "pids_limit", "null", True, ""),
    ("defaults", "pids_limit", "9223372036854775808", False, "from 1 to 2^63-1"),
    ("defaults", "max_tasks", "4096", True, ""),
    ("defaults", "priority", "101", False, "from 1 to 100"),
    ("policies", "idle_cpu_percent", "0", False, "above 0"),
    ("policies", "idle_cpu_percent", "2.5", True, ""),
    ("advanced", "network_mode", "container:x", False, "another container's network namespace"),
    ("advanced", "network_mode", "host", False, "the host's network namespace"),
    ("advanced", "network_mode", "bridge", True, ""),
    ("advanced", "network_mode", "none", True, ""),
    ("advanced", "network_mode", "lab_net.1", True, ""),
    ("advanced", "network_mode", "'bad net'", False, "never host or container:NAME"),
]


@pytest.mark.parametrize(("section", "key", "value", "ok", "fragment"), TABLE)
def test_range_table(tmp_path, section, key, value, ok, fragment):
    if section.startswith("groups."):
        group = section.split(".", 1)[1]
        path = tmp_path / "limits.yaml"
        path.write_text(
            textwrap.dedent(f"""\
            groups:
              {group}:
                members: [someone]
                {key}: {value}
            """)
        )
        problems = check_file(path, host_cpus=8)[1]
        where = f"{section}.{key}"
    else:
        problems = _check(tmp_path, section, key, value)
        where = f"{section}.{key}"
    if ok:
        assert problems == []
    else:
        assert len(problems) == 1, problems
        text = problems[0].format()
        assert problems[0].key_path == where and fragment in text, text


def test_every_numeric_field_has_a_range():
    specs = [*PER_USER_SPECS, *GROUP_EXTRA_SPECS, *[s for specs in SECTION_SPECS.values() for s in specs]]
    for spec in specs:
        if spec.kind in ("int", "number", "size", "duration"):
            lo, hi = spec.bounds()
            assert lo is not None and hi is not None and lo <= hi, spec.name
            assert hi <= 2**63 - 1, spec.name
    assert {s.name for s in ADVANCED_SPECS if s.kind == "network"} == {"network_mode"}
    assert POLICIES_SPECS  # the policies section is covered by the same rule


@pytest.mark.parametrize(
    ("yaml", "fragment"),
    [
        ("defaults:\n  gpu_hold_after_stop: 1000000000000000s\n", "defaults.gpu_hold_after_stop"),
        ("defaults:\n  memory: 1k\n", "defaults.memory"),
        ("defaults:\n  max_cpus: .inf\n", "defaults.max_cpus"),
        ("defaults:\n  max_cpus: 1e-10\n", "defaults.max_cpus"),
        ("defaults:\n  shm_size: 10000000t\n", "defaults.shm_size"),
        ("advanced:\n  network_mode: container:x\n", "advanced.network_mode"),
    ],
)
def test_limits_check_refuses_naming_key_and_range(cli, tmp_path, yaml, fragment):
    path = tmp_path / "limits.yaml"
    path.write_text(yaml)
    result = cli("limits", "check", str(path))
    assert result.exit_code == 2, result
    assert fragment in result.stderr and "expected" in result.stderr
    assert "Traceback" not in result.output
