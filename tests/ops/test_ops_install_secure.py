"""Secure-mode install into a temporary root: root-owned folders nobody else may write, the
sudoers rule (checked by ``visudo -cf``) and the root entry point; a second install prints
nothing; uninstall leaves the root exactly as it was; ``uninstall --purge --dry-run`` lists
what it would remove and changes nothing."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(os.geteuid() != 0, reason="install sets owners: needs root"),
    pytest.mark.skipif(shutil.which("visudo") is None, reason="needs visudo (the sudo package)"),
]


def _snapshot(root: Path) -> dict[str, tuple[int, int, int, bytes | str | None]]:
    """Every path under root with owner, group, mode and content (link target for links)."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = os.lstat(p)
        body: bytes | str | None = None
        if stat.S_ISLNK(st.st_mode):
            body = os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            body = p.read_bytes()
        out[str(p.relative_to(root))] = (st.st_uid, st.st_gid, st.st_mode, body)
    return out


def test_secure_install_reinstall_uninstall(staged, cli):
    root = staged
    (root / "etc").mkdir()
    (root / "etc" / "hostname").write_text("keep me\n")  # something install did not make
    before = _snapshot(root)

    first = cli("admin", "install", "--mode", "secure", "--root", str(root))
    assert first.exit_code == 0, first.output
    rule = root / "etc/sudoers.d/ds01"
    assert f"write sudoers rule (visudo -cf ok) {rule}" in first.output
    for folder in (root / "var/lib/ds01", root / "var/log/ds01"):
        st = folder.stat()
        assert (st.st_uid, st.st_gid) == (0, 0), folder
        assert stat.S_IMODE(st.st_mode) & 0o022 == 0, f"{folder} is group/other-writable"
    st = rule.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o440)
    check = subprocess.run([shutil.which("visudo"), "-cf", str(rule)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    from ds01.secure_entry import DEFAULT_ENTRY

    entry = root / DEFAULT_ENTRY.lstrip("/")
    assert str(entry) in rule.read_text()  # the rule allows exactly the staged entry point
    est = entry.stat()
    assert (est.st_uid, stat.S_IMODE(est.st_mode) & 0o022) == (0, 0)
    config = root / "opt/ds01-infra/config/resource-limits.yaml"
    assert cli("limits", "check", str(config)).exit_code == 0
    from ds01.secure_entry import scan_mode

    assert scan_mode(config.read_text()) == "secure"

    again = cli("admin", "install", "--root", str(root))  # the mode now comes from the config
    assert again.exit_code == 0 and again.output.strip() == "", again.output

    gone = cli("admin", "uninstall", "--root", str(root))
    assert gone.exit_code == 0, gone.output
    assert str(rule) in gone.output and str(entry) in gone.output
    assert str(config) in gone.output  # install made it (and set security.mode in it): it goes too
    assert _snapshot(root) == before


def test_uninstall_keeps_a_config_edited_after_install(staged, cli):
    root = staged
    assert cli("admin", "install", "--mode", "secure", "--root", str(root)).exit_code == 0
    config = root / "opt/ds01-infra/config/resource-limits.yaml"
    config.write_text(config.read_text().replace("admins: []", "admins: [boss]", 1))
    # A later install in the other mode edits it again: still the admin's file, still kept.
    assert cli("admin", "install", "--mode", "group", "--root", str(root)).exit_code == 0
    gone = cli("admin", "uninstall", "--root", str(root))
    assert gone.exit_code == 0 and f"kept {config} (edited since install" in gone.output
    assert "admins: [boss]" in config.read_text()


def test_uninstall_purge_dry_run_changes_nothing(staged, cli):
    root = staged
    assert cli("admin", "install", "--mode", "secure", "--root", str(root)).exit_code == 0
    (root / "var/lib/ds01/ds01.db").write_bytes(b"ledger")
    (root / "var/log/ds01/events.jsonl").write_text("{}\n")
    before = _snapshot(root)
    r = cli("admin", "uninstall", "--root", str(root), "--purge", "--dry-run")
    assert r.exit_code == 0, r.output
    assert _snapshot(root) == before
    for path in (
        "etc/sudoers.d/ds01",
        "etc/cron.d/ds01",
        "usr/local/bin/container-create",
        "var/lib/ds01 and everything in it (--purge)",
        "var/log/ds01 and everything in it (--purge)",
    ):
        assert f"would remove {root / path}" in r.output, path
    assert "dry run:" in r.output
