"""``fsutil.write_atomic`` in a folder someone else can write: its temporary file is never opened
through a link planted at its name, never left behind, and the result has the mode asked for."""

from __future__ import annotations

import os

import pytest

from ds01 import fsutil
from ds01.errors import OperationFailed


def test_a_link_planted_at_the_temporary_name_is_not_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    target = tmp_path / "shared" / "record.json"
    target.parent.mkdir()
    # The first name write_atomic draws is known to the attacker (a predictable generator):
    # a link to the victim waits there. The second draw is fresh.
    draws = iter([b"\x00" * 6, b"\x01" * 6])
    monkeypatch.setattr(os, "urandom", lambda n: next(draws))
    planted = target.parent / f".{target.name}.{'00' * 6}.tmp"
    planted.symlink_to(victim)

    fsutil.write_atomic(target, "the record", mode=0o640)

    assert victim.read_text() == "untouched"
    assert target.read_text() == "the record" and not target.is_symlink()
    assert target.stat().st_mode & 0o777 == 0o640
    assert planted.is_symlink()  # left as it was found; only our own file was written
    assert sorted(p.name for p in target.parent.iterdir()) == sorted([target.name, planted.name])


def test_the_temporary_names_are_not_guessable_and_nothing_is_left(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    target = folder / "state.json"
    seen = set()
    real_open = os.open

    def spy(name, flags, *args):
        if str(name).endswith(".tmp"):
            seen.add(os.path.basename(name))
            assert flags & os.O_EXCL and flags & os.O_NOFOLLOW and flags & os.O_CREAT
        return real_open(name, flags, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "open", spy)
        for i in range(20):
            fsutil.write_atomic(target, f"version {i}")
    assert len(seen) == 20  # a fresh random name each time
    assert target.read_text() == "version 19"
    assert [p.name for p in folder.iterdir()] == [target.name]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir()
    target = folder / "state.json"
    fsutil.write_atomic(target, "old")

    def broken(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OperationFailed, match="No space left on device"):
        fsutil.write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in folder.iterdir()] == [target.name]
