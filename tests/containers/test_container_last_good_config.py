"""An invalid config file: give-back and read-only commands run on the last valid config with
one warning; commands that take resources refuse (exit 2) with advice fit for the caller."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ds01.limits import last_good


def _break(cenv) -> None:
    with cenv.config.open("a") as fh:
        fh.write("\nmystery_key: 1\n")


def _warnings(text: str) -> list[str]:
    return [line for line in text.splitlines() if "is invalid since" in line]


def test_invalid_config_gives_back_on_the_last_valid_one(cli, cenv, as_user, base_image):
    as_user("alice")
    ws = cenv.workspace("alice")
    keep, gone = cenv.name("lg-keep"), cenv.name("lg-gone")
    for name in (keep, gone):
        r = cli("container", "create", name, "--image", base_image, "-w", str(ws), "--json")
        assert r.exit_code == 0, r
    assert cli("container", "start", keep).exit_code == 0
    stored = Path(os.environ["DS01_STATE_DIR"]) / last_good.FILE_NAME
    assert stored.is_file() and stored.stat().st_mode & 0o022 == 0
    _break(cenv)

    r = cli("container", "list", "--json")
    assert r.exit_code == 0, r
    assert {e["name"] for e in json.loads(r.stdout)} >= {keep, gone}
    assert len(_warnings(r.stderr)) == 1 and "ds01 limits check" in r.stderr

    r = cli("status")
    assert r.exit_code == 0 and len(_warnings(r.output)) == 1, r

    r = cli("container", "stop", keep, "--timeout", "1")
    assert r.exit_code == 0 and len(_warnings(r.output)) == 1, r

    r = cli("container", "cleanup", gone)
    assert r.exit_code == 0 and len(_warnings(r.output)) == 1, r
    assert all(row[1] != cenv.docker_name("lg-gone", "alice") for row in cenv.active_rows())

    # Taking a new resource is refused, before anything is made; the student is sent to an admin.
    new = cenv.name("lg-new")
    r = cli("container", "create", new, "--image", base_image, "-w", str(ws))
    assert r.exit_code == 2, r
    assert "ask your admin" in r.stderr and "limits check" not in r.stderr
    assert new not in {e["name"] for e in json.loads(cli("container", "list", "--json").stdout)}
    r = cli("container", "start", keep)
    assert r.exit_code == 2 and "ask your admin" in r.stderr, r

    # An admin is told what is wrong and how to check the file.
    as_user("boss")
    r = cli("container", "create", cenv.name("lg-boss"), "--image", base_image, "-w", str(cenv.workspace("boss")))
    assert r.exit_code == 2 and "mystery_key" in r.output and "limits check" in r.output, r

    # Fixed again: no warning, and creating works.
    as_user("alice")
    cenv.rewrite()
    r = cli("container", "list", "--json")
    assert r.exit_code == 0 and not _warnings(r.stderr), r


def test_a_config_never_validated_is_an_error_for_everything(cli, cenv, as_user):
    as_user("alice")
    _break(cenv)
    assert not (Path(os.environ["DS01_STATE_DIR"]) / last_good.FILE_NAME).exists()
    for argv in (("container", "list"), ("status",), ("container", "stop", cenv.name("x"))):
        r = cli(*argv)
        assert r.exit_code == 2 and "mystery_key" in r.output, (argv, r)


def test_a_copy_others_may_rewrite_is_not_used(cli, cenv, as_user):
    as_user("alice")
    assert cli("container", "list").exit_code == 0
    stored = Path(os.environ["DS01_STATE_DIR"]) / last_good.FILE_NAME
    stored.chmod(0o666)
    _break(cenv)
    r = cli("container", "list")
    assert r.exit_code == 2 and "mystery_key" in r.output, r


def test_stored_copy_reads_back_equal(tmp_path):
    from ds01.limits.config import load_config

    path = Path(__file__).resolve().parents[2] / "config" / "resource-limits.yaml"
    config = load_config(path)
    assert config.reservations()  # datetimes, tuples, frozensets and paths all go through
    assert last_good.remember(config, state_dir=tmp_path / "state")
    back = last_good.recall(path, state_dir=tmp_path / "state")
    assert back is not None and back.config == config
    assert last_good.recall(tmp_path / "other.yaml", state_dir=tmp_path / "state") is None
