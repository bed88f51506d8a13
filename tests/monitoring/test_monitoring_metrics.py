"""``ds01 monitor metrics``: the exposition passes the real ``promtool check metrics``, parses
back with prometheus_client's parser with the labels that join dcgm-exporter's series, carries
a real running container's cgroup CPU and memory, and is served over a real socket."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from monitoring_support import ds01_env

from support.cli import ds01_executable

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool (Debian package prometheus) is not installed; scripts/setup.sh installs it",
)


def _parse(text: str) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    return {f.name: f for f in text_string_to_metric_families(text)}


def _samples(families: dict, name: str) -> list:
    return [s for f in families.values() for s in f.samples if s.name == name]


def _allocate(cli, user: str, container: str) -> None:
    r = cli("gpu", "allocate", user, container, "1", "10")
    assert r.exit_code == 0, r


def _textfile(cli, folder: Path) -> str:
    r = cli("monitor", "metrics", "--textfile", str(folder))
    assert r.exit_code == 0, r
    return (folder / "ds01.prom").read_text()


@pytest.mark.docker  # reaches the engine through ds01 itself
@needs_promtool
def test_exposition_passes_promtool_and_parses_back(cli, menv, tmp_path):
    _allocate(cli, "alice", "a1")  # the whole GPU 0 (lowest score first)
    _allocate(cli, "bob", "b1")  # the MIG slice 1:0
    assert cli("gpu", "allocate", "bob", "b2", "9", "10").exit_code in (2, 3)  # a refusal, counted
    out = tmp_path / "textfile"
    out.mkdir()
    text = _textfile(cli, out)
    assert oct((out / "ds01.prom").stat().st_mode & 0o777) == "0o644"
    assert not [p for p in out.iterdir() if p.name != "ds01.prom"]  # no temporary file left behind
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    fams = _parse(text)
    for name in (
        "ds01_gpu_slot_info",
        "ds01_gpu_slot_allocated",
        "ds01_user_slots",
        "ds01_user_quota_slots",
        "ds01_container_cpu_seconds",
        "ds01_container_memory_bytes",
        "ds01_container_memory_limit_bytes",
        "ds01_container_idle_seconds",
        "ds01_allocations",
        "ds01_gpu_seconds",
        "ds01_scrape_duration_seconds",
    ):
        assert name in fams, name
    info = {s.labels["slot"]: s.labels for s in _samples(fams, "ds01_gpu_slot_info")}
    assert set(info) == {"0", "1:0", "1:1", "1:2", "1:3"}
    # dcgm-exporter's labels: UUID is the GPU's, GPU_I_ID the MIG instance's (absent for a whole GPU)
    assert info["0"]["UUID"] == info["0"]["uuid"] and info["0"]["uuid"].startswith("GPU-")
    assert info["0"]["GPU_I_ID"] == ""
    assert info["1:0"]["uuid"].startswith("MIG-") and info["1:0"]["UUID"].startswith("GPU-")
    assert info["1:0"]["UUID"] == info["1:1"]["UUID"] != info["0"]["UUID"]
    assert (info["1:0"]["GPU_I_ID"], info["1:0"]["GPU_I_PROFILE"], info["1:0"]["profile"]) == (
        "0",
        "3g.40gb",
        "3g.40gb",
    )
    held = {
        (s.labels["slot"], s.labels["user"], s.labels["container"], s.labels["group"], s.labels["state"]): s.value
        for s in _samples(fams, "ds01_gpu_slot_allocated")
    }
    assert held[("0", "alice", "a1", "students", "allocated")] == 1
    assert held[("1:0", "bob", "b1", "students", "allocated")] == 1
    assert held[("1:3", "", "", "", "free")] == 0
    users = {s.labels["user"]: s.value for s in _samples(fams, "ds01_user_slots")}
    assert users == {"alice": 1, "bob": 1}
    assert {s.labels["user"]: s.value for s in _samples(fams, "ds01_user_quota_slots")} == {"alice": 3, "bob": 3}
    results = {s.labels["result"]: s.value for s in _samples(fams, "ds01_allocations_total")}
    assert results["allocated"] == 2 and results["refused_quota"] == 1 and results["refused_capacity"] == 0
    gpu_seconds = {s.labels["user"]: s.value for s in _samples(fams, "ds01_gpu_seconds_total")}
    assert set(gpu_seconds) == {"alice", "bob"}


@pytest.mark.docker  # reaches the engine through ds01 itself
@needs_promtool
def test_gpu_seconds_weigh_mig_slots(cli, menv, tmp_path):
    from ds01.gpu.ledger import Ledger

    _allocate(cli, "alice", "a1")  # whole GPU
    _allocate(cli, "bob", "b1")  # 3g slice of a 7-slice GPU
    led = Ledger()
    try:
        with led.write() as conn:  # both held for exactly one hour, then released
            conn.execute("UPDATE allocations SET allocated_at = 1000, released_at = 4600")
    finally:
        led.close()
    fams = _parse(_textfile(cli, tmp_path))
    got = {s.labels["user"]: s.value for s in _samples(fams, "ds01_gpu_seconds_total")}
    assert got["alice"] == pytest.approx(3600)
    assert got["bob"] == pytest.approx(3600 * 3 / 7, abs=0.01)


@needs_promtool
def test_a_running_container_has_its_cgroup_usage(cli, menv, tagged, monkeypatch, tmp_path):
    name = tagged("mon")
    for key, value in menv.caller("alice").items():
        monkeypatch.setenv(key, value)
    r = cli("container", "create", name, "--image", "ds01-base:busybox", "--gpus", "0", "--json")
    assert r.exit_code == 0, r
    docker_name = json.loads(r.stdout)["docker_name"]
    assert cli("container", "start", name).exit_code == 0
    for key in ("SUDO_USER", "SUDO_UID", "SUDO_GID"):
        monkeypatch.delenv(key)
    text = _textfile(cli, tmp_path)
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fams = _parse(text)

    def value(metric: str) -> float:
        found = [s.value for s in _samples(fams, metric) if s.labels["container"] == docker_name]
        assert len(found) == 1, (metric, found)
        assert [s.labels["user"] for s in _samples(fams, metric) if s.labels["container"] == docker_name] == ["alice"]
        return found[0]

    assert value("ds01_container_cpu_seconds_total") >= 0
    assert value("ds01_container_memory_bytes") > 0
    assert value("ds01_container_memory_limit_bytes") == 256 * 1024 * 1024  # the config's memory: 256m
    assert value("ds01_container_idle_seconds") == 0  # no lifecycle pass has sampled it yet


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.docker  # reaches the engine through ds01 itself
def test_http_endpoint_is_scraped_over_a_real_socket(cli, menv):
    _allocate(cli, "carol", "c1")
    port = _free_port()
    proc = subprocess.Popen(
        [ds01_executable(), "monitor", "metrics", "--listen", f"127.0.0.1:{port}"],
        env=ds01_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
                    assert resp.status == 200
                    assert resp.headers["Content-Type"].startswith("text/plain")
                    body = resp.read().decode()
                break
            except (ConnectionError, urllib.error.URLError):
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.1)
        assert body is not None, "the exporter never answered"
        fams = _parse(body)
        held = [s.labels for s in _samples(fams, "ds01_gpu_slot_allocated") if s.value == 1]
        assert [(h["user"], h["container"], h["group"]) for h in held] == [("carol", "c1", "staff")]
        # every scrape reads again: a release shows at the next one
        assert cli("gpu", "release", "c1").exit_code == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            again = _parse(resp.read().decode())
        assert not [s for s in _samples(again, "ds01_gpu_slot_allocated") if s.value == 1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_usage_errors_and_non_admins(cli, menv, tmp_path):
    r = cli("monitor", "metrics", "--listen", "localhost")
    assert r.exit_code == 2 and "ADDR:PORT" in r.stderr
    r = cli("monitor", "metrics", "--textfile", str(tmp_path / "missing"))
    assert r.exit_code == 2 and "folder" in r.stderr
    r = cli("monitor", "metrics", "--textfile", str(tmp_path), env=menv.caller("alice"))
    assert r.exit_code == 3 and "admin" in r.stderr
    assert not (tmp_path / "ds01.prom").exists()


def test_a_busy_port_is_one_sentence(cli, menv):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = cli("monitor", "metrics", "--listen", f"127.0.0.1:{port}")
    assert r.exit_code == 1 and "Cannot listen" in r.stderr, r
    assert os.environ.get("NO_COLOR") == "1"


@pytest.mark.docker  # reaches the engine through ds01 itself
@needs_promtool
def test_grafana_dashboard_queries_only_exported_series(cli, menv, tmp_path):
    import re

    _allocate(cli, "alice", "a1")
    exported = {s.name for f in _parse(_textfile(cli, tmp_path)).values() for s in f.samples}
    exported |= {"ds01_container_cpu_seconds_total", "ds01_container_memory_bytes", "ds01_container_idle_seconds"}
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "etc-mirrors/grafana/ds01.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 6
    used = {m for e in exprs for m in re.findall(r"\b(ds01_[a-z_]+|DCGM_FI_[A-Z_]+)\b", e)}
    assert {m for m in used if m.startswith("ds01_")} <= exported
    assert any("on (UUID, GPU_I_ID)" in e for e in exprs)  # the dcgm-exporter join
