"""The systemd driver's slice units: what they say, and that systemd-analyze verify accepts them
with no warning."""

from __future__ import annotations

import shutil

import pytest

from ds01.limits.config import load_config
from ds01.ops import slices


def test_units_carry_the_group_totals_and_pass_systemd_analyze(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (scripts/setup.sh installs systemd)")
    config = load_config()  # the packaged example: student 48 CPUs / 384g, lab uncapped
    units = {s.unit: slices.unit_text(s) for s in slices.wanted(config)}
    assert "ds01.slice" in units
    student = units["ds01-student.slice"]
    assert "CPUQuota=4800%" in student and f"MemoryMax={384 * 1024**3}" in student
    assert "MemoryMax" not in units["ds01.slice"]
    assert slices.verify_units(units) == []


def test_systemd_analyze_names_a_broken_unit():
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    bad = {"ds01-x.slice": "[Slice]\nCPUQuota=lots\n"}
    assert slices.verify_units(bad) != []


def test_units_are_written_under_a_root_and_only_once(tmp_path, monkeypatch):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")

    class L:
        driver, version = "systemd", 2

    out = slices.setup(load_config(), layout=L(), unit_root=tmp_path)
    assert out.changes and all(str(tmp_path) in c for c in out.changes)
    assert (tmp_path / "etc/systemd/system/ds01-student.slice").is_file()
    assert slices.setup(load_config(), layout=L(), unit_root=tmp_path).changes == []
    assert slices.check(load_config(), L(), unit_root=tmp_path) == []
