"""``ds01.privsep``: acting as the caller, tested with real users against the real kernel."""

from __future__ import annotations

import fractions
import os
from pathlib import Path

import pytest

from ds01 import privsep
from ds01.errors import OperationFailed, UsageError
from support.users import make_user, world_dir

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")


@pytest.fixture
def user():
    with make_user("ds01p", groups=("users",)) as ident:
        yield ident


def _ids() -> dict:
    return {"res_uid": os.getresuid(), "res_gid": os.getresgid(), "groups": sorted(os.getgroups())}


def _try_regain_root() -> list[str]:
    regained = []
    for name, call in (
        ("setuid", lambda: os.setuid(0)),
        ("seteuid", lambda: os.seteuid(0)),
        ("setresuid", lambda: os.setresuid(0, 0, 0)),
        ("setgid", lambda: os.setgid(0)),
        ("setgroups", lambda: os.setgroups([0])),
    ):
        try:
            call()
            regained.append(name)
        except PermissionError:
            pass
    return regained


@root_only
def test_the_child_is_the_caller_through_and_through(user):
    ids = privsep.run_as(user, _ids)
    assert ids["res_uid"] == (user.uid,) * 3  # real, effective and saved: nothing left to go back to
    assert ids["res_gid"] == (user.gid,) * 3


@root_only
def test_the_drop_is_permanent(user):
    assert privsep.run_as(user, _try_regain_root) == []
    assert os.geteuid() == 0  # the parent is untouched


@root_only
def test_groups_are_the_callers_not_roots(user):
    import grp

    groups = privsep.run_as(user, _ids)["groups"]
    assert groups == sorted({user.gid, grp.getgrnam("users").gr_gid})
    assert 0 not in groups


def _environment() -> dict[str, str]:
    return dict(os.environ)


@root_only
def test_the_environment_is_clean(user, monkeypatch):
    monkeypatch.setenv("LD_PRELOAD", "/tmp/evil.so")
    monkeypatch.setenv("PYTHONPATH", "/tmp/evil")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/root/.gitconfig")
    monkeypatch.setenv("DS01_STATE_DIR", "/var/lib/ds01")
    monkeypatch.setenv("PATH", "/root/bin:" + os.environ["PATH"])
    env = privsep.run_as(user, _environment)
    assert env["HOME"] == str(user.home)
    assert env["USER"] == env["LOGNAME"] == user.name
    assert env["PATH"] == privsep.SAFE_PATH
    assert set(env) <= {"HOME", "USER", "LOGNAME", "PATH", *privsep._KEPT_ENV}


def _cwd() -> str:
    return os.getcwd()


@root_only
def test_the_child_works_where_the_caller_ran_ds01_or_in_their_home(user, tmp_path, monkeypatch):
    """A relative path means what it means at the caller's shell; a folder the caller cannot
    enter (pytest's root-only tmp_path) is never entered on their behalf: their home instead."""
    shared = world_dir()
    monkeypatch.chdir(shared)
    assert privsep.run_as(user, _cwd) == str(shared)
    monkeypatch.chdir(tmp_path)
    assert privsep.run_as(user, _cwd) == str(user.home)


def _raise_usage() -> None:
    raise UsageError("That name is taken; choose another.")


def _raise_os_error() -> None:
    open("/etc/shadow").close()


@root_only
def test_a_ds01_error_comes_back_as_itself_and_an_os_error_as_one_sentence(user):
    with pytest.raises(UsageError, match="That name is taken"):
        privsep.run_as(user, _raise_usage)
    with pytest.raises(OperationFailed, match=r"Cannot access /etc/shadow: Permission denied\."):
        privsep.run_as(user, _raise_os_error)


def _forbidden_class():
    return fractions.Fraction(1, 3)


def _a_function():
    return privsep.run_as  # a ds01 callable, not a type: root must not be made to look it up


def _unpicklable():
    return lambda: None


@root_only
@pytest.mark.parametrize("fn", [_forbidden_class, _a_function])
def test_a_result_naming_a_class_outside_ds01_and_plain_data_is_refused(user, fn):
    with pytest.raises(OperationFailed, match="sent back something unexpected"):
        privsep.run_as(user, fn)


@root_only
def test_an_unpicklable_result_is_an_error_not_a_hang(user):
    with pytest.raises(OperationFailed, match="could not be sent back"):
        privsep.run_as(user, _unpicklable)


def _plain_and_ds01():
    from ds01.units.project.layout import LayoutResult

    return {"path": Path("/x"), "n": 1, "t": (1, "a"), "r": LayoutResult(unit="dir-create", path=Path("/p"))}


@root_only
def test_plain_data_paths_and_ds01_types_come_back(user):
    value = privsep.run_as(user, _plain_and_ds01)
    assert value["path"] == Path("/x") and value["n"] == 1 and value["t"] == (1, "a")
    assert value["r"].unit == "dir-create" and value["r"].path == Path("/p")


@root_only
def test_open_fd_refuses_what_the_caller_cannot_open(user):
    with pytest.raises(OperationFailed, match="Permission denied"):
        privsep.open_fd(user, Path("/etc/shadow"), os.O_RDONLY)
    link = user.home / "innocent"
    link.symlink_to("/etc/shadow")
    with pytest.raises(OperationFailed, match="Permission denied"):
        privsep.open_fd(user, link, os.O_RDONLY)
    root_dir = world_dir("ds01-rootdir-")
    with pytest.raises(OperationFailed, match="Permission denied"):
        privsep.open_fd(user, root_dir / "new", os.O_WRONLY | os.O_CREAT, 0o644)
    assert list(root_dir.iterdir()) == []


@root_only
def test_open_fd_gives_root_a_descriptor_of_the_callers_file(user):
    mine = user.home / "notes.txt"
    fd = privsep.open_fd(user, mine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, b"written through the caller's descriptor\n")
    finally:
        os.close(fd)
    assert mine.stat().st_uid == user.uid  # created by the caller, not by root
    fd = privsep.open_fd(user, mine, os.O_RDONLY)
    with os.fdopen(fd, "rb") as fh:
        assert fh.read() == b"written through the caller's descriptor\n"


def test_no_drop_when_not_acting_for_someone_else(monkeypatch):
    from ds01.identity import Identity

    me = Identity(name="me", uid=os.getuid(), gid=os.getgid(), home=Path("/"))
    assert privsep.run_as(None, os.getpid) == os.getpid()
    assert privsep.run_as(me, os.getpid) == os.getpid()  # in-process: same pid
    assert privsep.tool_options(None) == {}
