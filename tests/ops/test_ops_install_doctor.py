"""Install into a temporary root, install again (nothing to report), doctor (all ok but what
needs systemd or a GPU), break one thing at a time and see doctor name it with its fix, then
uninstall and find the root as it was."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.skipif(os.geteuid() != 0, reason="install sets owners: needs root")]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _doctor(cli, root: Path) -> tuple[int, dict[str, dict]]:
    r = cli("admin", "doctor", "--root", str(root), "--json")
    data = json.loads(r.stdout)
    return r.exit_code, {c["name"]: c for c in data["checks"]}


def test_install_doctor_break_uninstall(staged, cli, monkeypatch):
    root = staged
    before = _tree(root)
    first = cli("admin", "install", "--root", str(root))
    assert first.exit_code == 0, first.output
    for expected in (
        "resource-limits.yaml",
        "var/lib/ds01",
        "var/log/ds01",
        "usr/local/bin/container-create",
        "etc/cron.d/ds01",
        "etc/logrotate.d/ds01",
    ):
        assert expected in first.output
    assert (root / "usr/local/bin/gpu-status").is_symlink()
    assert (root / "var/lib/ds01").stat().st_mode & 0o7777 == 0o2775

    again = cli("admin", "install", "--root", str(root))
    assert again.exit_code == 0 and again.output.strip() == "", again.output

    code, checks = _doctor(cli, root)
    assert code == 0, checks
    # The example config may warn about this host (max_cpus above its cores); nothing else may.
    assert {c["status"] for n, c in checks.items() if n != "config"} <= {"ok", "skip"}, checks
    assert checks["config"]["status"] in ("ok", "warn")
    assert "GPU" in checks["nvml"]["detail"] or "simulated" in checks["nvml"]["detail"]

    # 1. a folder mode
    state = root / "var/lib/ds01"
    os.chmod(state, 0o777)
    code, checks = _doctor(cli, root)
    assert code == 1 and checks["state folder"]["status"] == "fail" and "chmod" in checks["state folder"]["fix"]
    os.chmod(state, 0o2775)
    # 2. a missing cron file
    cron = root / "etc/cron.d/ds01"
    saved = cron.read_bytes()
    cron.unlink()
    code, checks = _doctor(cli, root)
    assert code == 1 and checks["schedule ds01"]["status"] == "fail"
    assert "admin install" in checks["schedule ds01"]["fix"]
    cron.write_bytes(saved)
    # 3. a config error
    config = root / "opt/ds01-infra/config/resource-limits.yaml"
    good = config.read_text()
    config.write_text(good.replace("max_mig_instances: 1 ", "max_mig_instancez: 1 ", 1))
    code, checks = _doctor(cli, root)
    assert code == 1 and checks["config"]["status"] == "fail" and "max_mig_instancez" in checks["config"]["detail"]
    config.write_text(good)
    # 4. a stopped engine (a socket nobody answers on)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{root}/dead.sock")
    code, checks = _doctor(cli, root)
    assert code == 1 and checks["docker"]["status"] == "fail" and "start the engine" in checks["docker"]["fix"]
    monkeypatch.delenv("DOCKER_HOST")
    from ds01.base import docker_client

    docker_client.reset_client()
    # 5. a corrupt ledger
    db = state / "ds01.db"
    db.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    code, checks = _doctor(cli, root)
    assert code == 1 and checks["ledger"]["status"] == "fail" and "ds01.db" in checks["ledger"]["fix"]
    db.unlink()
    code, checks = _doctor(cli, root)
    assert code == 0, checks

    gone = cli("admin", "uninstall", "--root", str(root))
    assert gone.exit_code == 0, gone.output
    assert _tree(root) == before


def test_uninstall_keeps_the_ledger_and_logs_unless_purged(staged, cli):
    root = staged
    assert cli("admin", "install", "--root", str(root)).exit_code == 0
    ledger = root / "var/lib/ds01/ds01.db"
    ledger.write_bytes(b"")
    log = root / "var/log/ds01/gpu-allocations.log"
    log.write_text("x\n")
    r = cli("admin", "uninstall", "--root", str(root))
    assert r.exit_code == 0 and ledger.exists() and log.exists()
    assert not (root / "etc/cron.d/ds01").exists() and not (root / "usr/local/bin/container-create").exists()
    assert "--purge" in r.output
    # The manifest is gone with the rest: install again, then purge.
    assert cli("admin", "install", "--root", str(root)).exit_code == 0
    r = cli("admin", "uninstall", "--root", str(root), "--purge")
    assert r.exit_code == 0 and not ledger.exists() and not log.exists()


def test_install_dry_run_changes_nothing(staged, cli):
    before = _tree(staged)
    r = cli("admin", "install", "--root", str(staged), "--dry-run")
    assert r.exit_code == 0 and "would create" in r.output
    assert _tree(staged) == before


def test_readme_lists_exactly_the_installed_symlinks():
    from ds01.cli.tree import symlinks_markdown

    text = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()
    block = text.split("<!-- symlinks:begin -->\n", 1)[1].split("<!-- symlinks:end -->", 1)[0]
    assert block == symlinks_markdown(), (
        "README.md's symlink list is stale: replace the block with `python -m ds01.cli.tree --markdown`"
    )


def test_help_lists_exactly_the_installed_symlinks():
    from ds01.cli.fasthelp import alias_rows
    from ds01.cli.tree import NOUNS, symlink_names, verb_names, verbs_of

    for noun in NOUNS:
        assert verb_names(noun) == sorted(verbs_of(noun)), noun
    listed = {
        n for label, text in alias_rows() if label != "symlinks" and "= ds01" not in text for n in text.split(", ")
    }
    assert listed == set(symlink_names())


def test_doctor_counts_a_pass_seen_only_in_the_ledger(staged, cli):
    """Under the systemd timer a pass writes no lifecycle.log; its activity samples say it ran."""
    import time

    root = staged
    assert cli("admin", "install", "--root", str(root)).exit_code == 0
    from ds01.ops.install import Manifest, Targets

    targets = Targets(root)
    manifest = Manifest.load(targets.manifest)
    manifest.installed_at = time.time() - 3600  # installed an hour ago: a pass is due
    manifest.save(targets.manifest)
    _code, checks = _doctor(cli, root)
    assert checks["lifecycle pass"]["status"] == "warn" and "never" in checks["lifecycle pass"]["detail"]
    from ds01.gpu.ledger import Ledger, SampleRow, add_sample

    led = Ledger(targets.state / "ds01.db")
    with led.write() as conn:
        add_sample(
            conn,
            SampleRow(
                container="c._.1",
                container_id="x",
                user="alice",
                at=time.time() - 60,
                started_at=time.time() - 600,
                cpu_ns=0,
                cpu_percent=0.0,
                gpu_busy=None,
                gpu_detail="",
                processes=1,
                shells=0,
                idle=False,
                idle_since=None,
                idle_cpu_ns=0,
                last_shell_at=None,
                warned_for=None,
            ),
        )
    led.close()
    _code, checks = _doctor(cli, root)
    assert checks["lifecycle pass"]["status"] == "ok", checks["lifecycle pass"]
    # The ledger and Docker agree (no allocation at all) ...
    assert checks["ledger vs docker"]["status"] == "ok", checks["ledger vs docker"]
    # ... until the ledger holds a GPU for a container Docker has never heard of.
    led = Ledger(targets.state / "ds01.db")
    with led.write() as conn:
        Ledger.insert(
            conn,
            slot="0",
            uuid="GPU-doctor-0",
            container="ghost-doctor._.1",
            user="alice",
            priority=10,
            at=time.time() - 3600,
            confirmed=True,
        )
    led.close()
    _code, checks = _doctor(cli, root)
    assert checks["ledger vs docker"]["status"] == "warn", checks["ledger vs docker"]
    assert "reconcile" in checks["ledger vs docker"]["fix"]
