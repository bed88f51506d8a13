"""The overwrite question of the project units, answered through a real pseudo-terminal."""

from __future__ import annotations

import os
from pathlib import Path

import pexpect

from support.cli import ds01_executable


def _spawn(*args: str) -> pexpect.spawn:
    env = dict(os.environ, TERM="xterm", NO_COLOR="1")
    return pexpect.spawn(ds01_executable(), list(args), env=env, encoding="utf-8", timeout=30, dimensions=(40, 160))


def test_readme_create_asks_and_keeps_on_no(tmp_path: Path) -> None:
    root = tmp_path / "thesis"
    root.mkdir()
    (root / "README.md").write_text("# Mine\n")
    child = _spawn("readme-create", str(root))
    child.expect("Replace it")
    child.send("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (root / "README.md").read_text() == "# Mine\n"


def test_readme_create_asks_and_replaces_on_yes(tmp_path: Path) -> None:
    root = tmp_path / "thesis"
    root.mkdir()
    (root / "README.md").write_text("# Mine\n")
    child = _spawn("readme-create", str(root))
    child.expect("Replace it")
    child.send("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "ds01 image create thesis" in (root / "README.md").read_text()


def test_dir_create_asks_for_the_missing_name(tmp_path: Path) -> None:
    child = _spawn("dir-create")
    child.expect("Project name")
    child.sendline("asked")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (Path(os.environ["HOME"]) / "workspace" / "asked" / "src" / "README.md").is_file()
