"""Identity resolution: sudo callers are themselves, never root."""

from __future__ import annotations

import os

import pytest

from ds01 import identity


def test_plain_caller_is_the_real_uid():
    me = identity.current({})
    assert me.uid == os.getuid()
    assert not me.via_sudo


@pytest.mark.skipif(os.getuid() != 0, reason="sudo variables are honoured only when running as root")
def test_sudo_caller_is_the_invoking_user():
    me = identity.current({"SUDO_USER": "alice", "SUDO_UID": "4242", "SUDO_GID": "4343"})
    assert (me.name, me.uid, me.gid, me.via_sudo) == ("alice", 4242, 4343, True)
    assert str(me.home) == "/home/alice"


def test_sudo_variables_are_ignored_for_non_root(monkeypatch):
    monkeypatch.setattr(os, "getuid", lambda: 1000)
    me = identity.current({"SUDO_USER": "mallory", "SUDO_UID": "0"})
    assert me.uid == 1000 and me.name != "mallory"


@pytest.mark.skipif(os.getuid() != 0, reason="sudo variables are honoured only when running as root")
def test_bad_sudo_uid_is_a_usage_error():
    from ds01.errors import UsageError

    with pytest.raises(UsageError):
        identity.current({"SUDO_USER": "alice", "SUDO_UID": "abc"})


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("alice", "alice"), ("Jane.Doe@lab.edu", "jane-doe-lab-edu"), ("__x__", "x"), ("@@", "user")],
)
def test_sanitize_for_unit_and_label_names(raw, clean):
    assert identity.sanitize(raw) == clean
