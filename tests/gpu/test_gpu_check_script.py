"""dev/gpu_check.py without a GPU: it reports NVML unavailable in its JSON report and one line, and
exits non-zero; its inventory and activity steps read a (fake) NVML through ds01's own module."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pynvml
import pytest
from dev import gpu_check
from fake_nvml import dgx_a100, h100_shared, install

ROOT = Path(__file__).resolve().parents[2]


def _no_library(monkeypatch):
    def no_library(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(pynvml, "nvmlLib", None)
    monkeypatch.setattr(pynvml, "_nvmlGetFunctionPointer_cache", {})
    monkeypatch.setattr(pynvml, "CDLL", no_library)


def test_without_nvml_it_reports_and_exits_1(monkeypatch, tmp_path, capsys):
    _no_library(monkeypatch)
    monkeypatch.setenv("OUT", str(tmp_path))
    assert gpu_check.main([]) == 1
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and line.startswith("gpu_check: FAILED - NVML unavailable")
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["ok"] is False and report["steps"][0]["name"] == "inventory"
    assert report["steps"][0]["ok"] is False and "Shared Library Not Found" in report["steps"][0]["error"]


@pytest.mark.skipif(ctypes.util.find_library("nvidia-ml") is not None, reason="this machine has NVML")
def test_as_a_command_without_a_gpu(tmp_path):
    res = subprocess.run(
        [sys.executable, "dev/gpu_check.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, OUT=str(tmp_path)),
        timeout=120,
    )
    assert res.returncode == 1 and res.stdout.count("\n") == 1 and "NVML unavailable" in res.stdout
    assert json.loads((tmp_path / "gpu_check.json").read_text())["mismatches"]


def test_inventory_and_activity_steps_on_a_fake_nvml(monkeypatch, tmp_path):
    install(monkeypatch, h100_shared())
    chk = gpu_check.Check(tmp_path)
    inv = gpu_check.check_inventory(chk)
    gpu_check.check_activity(chk, inv)
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert [s["name"] for s in report["steps"]] == ["inventory", "activity"]
    assert report["steps"][0]["gpus"][0]["gpm_supported"] is True
    assert report["mismatches"] == []
    assert {a["evidence"] for a in report["steps"][1]["slots"].values()} == {"gpm"}


def test_unreadable_gpus_are_mismatches(monkeypatch, tmp_path):
    install(monkeypatch, dgx_a100())  # GPU 6 is lost
    chk = gpu_check.Check(tmp_path)
    gpu_check.check_inventory(chk)
    assert any(m.startswith("GPU 6 unreadable") for m in chk.report["mismatches"])
