"""The last valid config (``limits.last_good``) cannot be rewritten by a user to decide what the
read-only commands (root's lifecycle pass among them) run on when the config turns invalid.

In group mode every member may write the state folder, so the stored record may be a user's
file. A matching stamp (the config file validated is the one stored) must not keep such a
record: root's next validation writes it afresh, from the config it just validated.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ds01.limits import last_good
from support.configs import aged
from support.users import make_user

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="makes a real user and hands them a file: needs root")


def _tamper(node, key: str, value) -> int:
    """Set every ``key`` in the tagged JSON (a dataclass field, or a mapping's [key, value]
    pair) to ``value``; how many were set."""
    count = 0
    if isinstance(node, dict):
        fields = node.get("f")
        if isinstance(fields, dict) and key in fields:
            fields[key] = value
            count += 1
        for child in node.values():
            count += _tamper(child, key, value)
    elif isinstance(node, list):
        if len(node) == 2 and node[0] == key:
            node[1] = value
            return 1
        for child in node:
            count += _tamper(child, key, value)
    return count


def _values(node, key: str) -> list:
    """Every value of ``key`` in the tagged JSON (as ``_tamper`` finds them)."""
    found = []
    if isinstance(node, dict):
        fields = node.get("f")
        if isinstance(fields, dict) and key in fields:
            found.append(fields[key])
        for child in node.values():
            found += _values(child, key)
    elif isinstance(node, list):
        if len(node) == 2 and node[0] == key:
            return [node[1]]
        for child in node:
            found += _values(child, key)
    return found


def test_a_record_a_user_rewrote_is_replaced_by_roots_next_validation(tmp_path, monkeypatch):
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, 0o777)  # group mode: the members may write the state folder
    config = tmp_path / "resource-limits.yaml"
    shutil.copyfile(ROOT / "config" / "resource-limits.yaml", config)
    monkeypatch.setenv("DS01_STATE_DIR", str(state))
    monkeypatch.setenv("DS01_CONFIG", str(config))
    for key in ("SUDO_USER", "SUDO_UID", "SUDO_GID"):
        monkeypatch.delenv(key, raising=False)

    real = last_good.load(aged(config), use=last_good.READ)  # validated and stamped
    stored = last_good.store_path(state)
    record = json.loads(stored.read_text())
    with make_user("lgatk") as attacker:
        # The attacker's copy: the same stamp, their own limits, written as their file.
        assert _tamper(record["config"], "max_containers_per_user", 999) > 0
        planted = state / "planted.json"
        planted.write_text(json.dumps(record))
        os.chown(planted, attacker.uid, attacker.gid)
        os.replace(planted, stored)
        assert stored.stat().st_uid == attacker.uid

        # The stamp matches the unchanged file, but root takes no values from the attacker's
        # record: it validates the file again.
        again = last_good.load(config, use=last_good.READ)
        assert again.defaults == real.defaults
        assert again.defaults["max_containers_per_user"] != 999

        assert stored.stat().st_uid == 0, "root kept the attacker's record"
        stored_limits = _values(json.loads(stored.read_text())["config"], "max_containers_per_user")
        assert stored_limits and 999 not in stored_limits
        # What the read-only commands would run on once the file turns invalid: root's copy.
        with config.open("a") as fh:
            fh.write("\nmystery_key: 1\n")
        fallback = last_good.load(config, use=last_good.READ)
        assert fallback.defaults == real.defaults


@pytest.mark.parametrize("planted", ["fifo", "deep"])
def test_a_planted_record_neither_hangs_nor_breaks_roots_commands(tmp_path, monkeypatch, planted):
    """In group mode a member may write the state folder. A FIFO in place of the record would
    block every reader; a nesting too deep for the parser would end every command with an
    internal error. Root's commands treat both as "no record"."""
    from support.users import run_as_sudo

    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, 0o777)
    monkeypatch.setenv("DS01_STATE_DIR", str(state))
    stored = last_good.store_path(state)
    with make_user("lgdos") as member:
        if planted == "fifo":
            os.mkfifo(stored, 0o644)
        else:
            stored.write_text("[" * 200_000)
        os.chown(stored, member.uid, member.gid)
        # Every command reads the record through the same reader (stamp.read_json); this one
        # needs no engine.
        done = run_as_sudo(None, "limits", "show", member.name, timeout=30)
        assert done.exit_code == 0, done
        assert "internal error" not in done.stderr
        # The next validation replaced the planted file with root's record.
        assert stored.is_file() and not stored.is_symlink() and stored.stat().st_uid == 0
