"""Original DS01 keys named with their replacement, and `ds01 limits migrate` on a realistic
original-format file (tests/limits/data/original-resource-limits.yaml)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from ds01.limits.config import check_file
from ds01.limits.legacy import migrate_text
from ds01.limits.resolver import resolve

ORIGINAL = Path(__file__).parent / "data" / "original-resource-limits.yaml"
H = 3600


def by_path(problems):
    return {p.key_path: p for p in problems}


def test_check_names_each_original_key_with_its_replacement() -> None:
    config, problems, _ = check_file(ORIGINAL, host_cpus=64)
    assert config is None
    found = by_path(problems)
    hint = " (`ds01 limits migrate FILE` rewrites it)"
    assert found["defaults.max_gpus_per_user"].message == (
        "is an original DS01 key; write max_mig_instances: 1 instead" + hint
    )  # not max_gpus_per_container
    assert found["defaults.idle_timeout_h"].value == 48
    assert found["defaults.idle_timeout_h"].message == "is an original DS01 key; write idle_timeout: 48h instead" + hint
    assert found["defaults.container_hold_after_stop_h"].message.startswith(
        "is an original DS01 key; write container_hold_after_stop: null instead"
    )
    assert found["groups.admins.idle_timeout"].message == (
        "is the original DS01 spelling of no limit; write idle_timeout: null instead" + hint
    )
    assert found["groups.students.policies.idle_timeout_h"].message == (
        "is in an original DS01 per-group policies: mapping; write groups.students.idle_timeout: 30m instead" + hint
    )
    assert found["groups.admins.max_mig_instances"].value == "unlimited"
    assert len(problems) == 14


def test_migrated_file_is_valid_and_resolves_every_user_as_the_original_meant() -> None:
    mig = migrate_text(ORIGINAL.read_text())
    assert mig.refusals == []
    assert len(mig.changes) == 17
    assert "# half an hour" in mig.text and "# MIG instances 0 and 1 of GPU 1" in mig.text  # comments kept
    assert "reserved_gpus: ['1:0', '1:1']" in mig.text
    assert 'restart_policy: "no"' in mig.text
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "resource-limits.yaml"
        out.write_text(mig.text)
        config, problems, _ = check_file(out, host_cpus=64)
    assert problems == [] and config is not None
    want = {
        # user: max_mig_instances, idle_timeout, max_runtime, gpu_hold_after_stop, container_hold_after_stop
        "student1": (1, H // 2, None, 1 * H, None),
        "someone_new": (1, H // 2, None, 1 * H, None),  # default_group students
        "researcher1": (2, 48 * H, 168 * H, 2 * H, None),
        "admin1": (None, None, 168 * H, None, None),
        "thesis_student": (2, H // 2, 72 * H, 1 * H, None),  # in no group: students, then the override
    }
    fields = ("max_mig_instances", "idle_timeout", "max_runtime", "gpu_hold_after_stop", "container_hold_after_stop")
    got = {u: tuple(resolve(config, u).values[f] for f in fields) for u in want}
    assert got == want
    assert resolve(config, "thesis_student").priority == 100
    assert config.reservations()[0].slots == ("1:0", "1:1")
    assert config.advanced.restart_policy == "no"


def test_migrating_a_ds01_file_changes_nothing() -> None:
    packaged = Path(__file__).resolve().parents[2] / "config" / "resource-limits.yaml"
    mig = migrate_text(packaged.read_text())
    assert (mig.changes, mig.refusals, mig.text) == ([], [], packaged.read_text())


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (
            "groups:\n  g:\n    policies:\n      allow_sudo: true\n",
            "groups.g.policies.allow_sudo: True is not a per-user key; ds01 has no per-group 'allow_sudo' "
            "(see docs/config.md)",
        ),
        (
            "defaults:\n  idle_timeout_h: 0\n",
            "defaults.idle_timeout_h: 0 is an original DS01 key and is 0 hours, which has no single meaning; write "
            "idle_timeout: null for no limit, or a duration such as 48h",
        ),
        (
            "defaults:\n  idle_timeout_h: 48\n  idle_timeout: 24h\n",
            "defaults.idle_timeout_h: 48 would become defaults.idle_timeout, which defaults already sets; "
            "keep one of them",
        ),
        (
            "defaults:\n  max_gpus_per_user: two\n",
            "defaults.max_gpus_per_user: 'two' is an original DS01 key and has no translation; "
            "write max_mig_instances: N (a whole number of GPU slots) or null",
        ),
    ],
)
def test_migrate_refuses_what_it_cannot_translate_naming_it(body: str, refusal: str) -> None:
    mig = migrate_text(body)
    assert mig.refusals == [refusal]
    assert mig.text == body


def test_cli_migrate_prints_a_diff_and_changes_nothing_without_write(cli, tmp_path: Path) -> None:
    path = tmp_path / "resource-limits.yaml"
    shutil.copy(ORIGINAL, path)
    before = path.read_text()
    result = cli("limits", "migrate", str(path))
    assert result.exit_code == 0, result
    assert "-  idle_timeout_h: 48            # stop after two days without GPU activity" in result.stdout
    assert "+  idle_timeout: 48h             # stop after two days without GPU activity" in result.stdout
    assert path.read_text() == before
    assert not (tmp_path / "resource-limits.yaml.orig").exists()


def test_cli_migrate_write_keeps_a_backup_and_the_result_checks(cli, tmp_path: Path) -> None:
    path = tmp_path / "resource-limits.yaml"
    shutil.copy(ORIGINAL, path)
    path.chmod(0o640)
    result = cli("limits", "migrate", str(path), "--write")
    assert result.exit_code == 0, result
    assert (tmp_path / "resource-limits.yaml.orig").read_text() == ORIGINAL.read_text()
    assert path.stat().st_mode & 0o777 == 0o640
    assert cli("limits", "check", str(path)).exit_code == 0
    # A second --write finds nothing to do and leaves the backup alone.
    again = cli("limits", "migrate", str(path), "--write")
    assert again.exit_code == 0 and "nothing to migrate" in again.stdout
    assert sorted(p.name for p in tmp_path.glob("resource-limits*")) == [
        "resource-limits.yaml",
        "resource-limits.yaml.orig",
    ]


def test_cli_migrate_refusal_names_the_key_exits_2_and_writes_nothing(cli, tmp_path: Path) -> None:
    path = tmp_path / "resource-limits.yaml"
    text = textwrap.dedent("""\
        defaults:
          idle_timeout_h: 48
        groups:
          g:
            policies:
              allow_sudo: true
    """)
    path.write_text(text)
    result = cli("limits", "migrate", str(path), "--write")
    assert result.exit_code == 2
    assert "groups.g.policies.allow_sudo: True is not a per-user key" in result.output
    assert path.read_text() == text
    assert not (tmp_path / "resource-limits.yaml.orig").exists()
