"""`ds01 admin symlinks`: installs, is idempotent, refuses foreign files, removes its own."""

from __future__ import annotations

import json

from ds01.cli.tree import symlink_names
from support.cli import run_process


def _links(prefix):
    return sorted(p.name for p in prefix.iterdir() if p.is_symlink())


def test_install_idempotent_refuse_and_remove(tmp_path):
    prefix = tmp_path / "bin"
    prefix.mkdir()
    dry = run_process("admin", "symlinks", "--prefix", str(prefix), "--dry-run")
    assert dry.exit_code == 0 and _links(prefix) == []
    assert "would create" in dry.stderr

    first = run_process("admin", "symlinks", "--prefix", str(prefix), "--json")
    assert first.exit_code == 0, first
    report = json.loads(first.stdout)
    assert {a["action"] for a in report["actions"]} == {"create"}
    assert _links(prefix) == symlink_names()

    again = run_process("admin", "symlinks", "--prefix", str(prefix), "--json")
    assert {a["action"] for a in json.loads(again.stdout)["actions"]} == {"keep"}

    # The dispatcher symlink really runs the noun.
    via_link = run_process("--help", executable=str(prefix / "container"))
    assert via_link.exit_code == 0 and "Usage: ds01 container" in via_link.stdout

    # A file ds01 did not create is left alone and reported.
    (prefix / "container").unlink()
    (prefix / "container").write_text("#!/bin/sh\necho mine\n")
    refused = run_process("admin", "symlinks", "--prefix", str(prefix))
    assert refused.exit_code == 1
    assert "container" in refused.stderr and "not made by ds01" in refused.stderr
    assert (prefix / "container").read_text() == "#!/bin/sh\necho mine\n"

    removed = run_process("admin", "symlinks", "--prefix", str(prefix), "--remove")
    assert removed.exit_code == 1  # the foreign file is still reported
    assert _links(prefix) == []
    assert (prefix / "container").exists()


def test_missing_prefix_is_a_usage_error(tmp_path):
    result = run_process("admin", "symlinks", "--prefix", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr
