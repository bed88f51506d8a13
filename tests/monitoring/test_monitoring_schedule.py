"""The monthly report job in etc-mirrors/cron.d/ds01 runs as cron would run it (``%`` unescaped,
``/bin/sh``) and writes last month's CSV into the log folder, which logrotate covers."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from monitoring_support import ds01_env

from support.cli import ds01_executable

MIRRORS = Path(__file__).resolve().parents[2] / "etc-mirrors"


@pytest.mark.docker  # reaches the engine through ds01 itself
def test_monthly_report_job_writes_last_months_csv(cli, menv, tmp_path):
    assert cli("gpu", "allocate", "alice", "a1", "1", "10").exit_code == 0
    lines = [
        x
        for x in (MIRRORS / "cron.d" / "ds01").read_text().splitlines()
        if "admin report" in x and not x.startswith("#")
    ]
    assert len(lines) == 1
    fields = lines[0].split(None, 6)
    assert fields[:6] == ["15", "7", "1", "*", "*", "root"]  # the 1st of each month, as root
    log = Path(os.environ["DS01_LOG_DIR"])
    log.mkdir(parents=True, exist_ok=True)
    command = fields[6].replace("\\%", "%").replace("/var/log/ds01", str(log))
    assert command.startswith("ds01 ")
    command = ds01_executable() + command[len("ds01") :]
    r = subprocess.run(["/bin/sh", "-c", command], env=ds01_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r
    rows = list(csv.DictReader(io.StringIO((log / "usage-report.csv").read_text())))
    assert rows[-1]["user"] == "TOTAL"
    today = datetime.now(UTC)
    first = today.replace(day=1)
    last_month = (
        first.replace(year=first.year - 1, month=12) if first.month == 1 else first.replace(month=first.month - 1)
    )
    assert rows[-1]["since"] == last_month.strftime("%Y-%m-01T00:00:00Z")
    assert rows[-1]["until"] == first.strftime("%Y-%m-01T00:00:00Z")
    assert "/var/log/ds01/usage-report.csv {" in (MIRRORS / "logrotate.d" / "ds01").read_text()
