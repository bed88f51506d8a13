"""The schedules in etc-mirrors: cron every 5 minutes, and a systemd service + timer that
`systemd-analyze verify` accepts (no running systemd needed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIRRORS = ROOT / "etc-mirrors"


def test_cron_runs_a_lifecycle_pass_every_five_minutes():
    lines = [x for x in (MIRRORS / "cron.d" / "ds01").read_text().splitlines() if x and not x.startswith("#")]
    jobs = [x for x in lines if not x.split("=")[0].isupper()]
    assert "*/5 * * * * root ds01 lifecycle run >> /var/log/ds01/lifecycle.log 2>&1" in jobs
    # the only other job is the monthly usage report (tests/monitoring checks it)
    assert [x for x in jobs if "lifecycle" not in x and "admin report" not in x] == []


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    from support.cli import ds01_executable

    service = (MIRRORS / "systemd" / "ds01-lifecycle.service").read_text()
    timer = (MIRRORS / "systemd" / "ds01-lifecycle.timer").read_text()
    assert "ExecStart=/usr/local/bin/ds01 lifecycle run" in service and "OnUnitActiveSec=5min" in timer
    # verify checks that ExecStart's program exists: point it at this checkout's ds01.
    (tmp_path / "ds01-lifecycle.service").write_text(service.replace("/usr/local/bin/ds01", ds01_executable()))
    (tmp_path / "ds01-lifecycle.timer").write_text(timer)
    r = subprocess.run(
        ["systemd-analyze", "verify", "ds01-lifecycle.service", "ds01-lifecycle.timer"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r
    # The check is real: a broken timer is refused.
    (tmp_path / "ds01-lifecycle.timer").write_text(timer.replace("OnUnitActiveSec", "OnUnitActiveSecs"))
    r = subprocess.run(
        ["systemd-analyze", "verify", "ds01-lifecycle.timer"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert r.returncode != 0 or "Unknown key" in r.stderr
