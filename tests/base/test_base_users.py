"""passwd/group editing for the user inside a container (pure)."""

from __future__ import annotations

import io
import tarfile

import pytest

from ds01.base import users as users_module
from ds01.base.users import UserEntry, build_archive, choose_shell, read_single_file, with_user

PASSWD = "root:x:0:0:root:/root:/bin/bash\nubuntu:x:1000:1000::/home/ubuntu:/bin/bash\n"
GROUP = "root:x:0:\nsudo:x:27:ubuntu\nvideo:x:44:\nubuntu:x:1000:\n"


def test_user_added_with_sudo_and_video_and_own_group():
    p, g = with_user(PASSWD, GROUP, UserEntry("alice", 4242, 4242, "/home/alice", "/bin/bash"))
    assert "alice:x:4242:4242:alice:/home/alice:/bin/bash" in p.splitlines()
    assert "sudo:x:27:ubuntu,alice" in g.splitlines()
    assert "video:x:44:alice" in g.splitlines()
    assert "alice:x:4242:" in g.splitlines()


def test_same_uid_in_image_is_replaced_and_existing_gid_kept():
    p, g = with_user(PASSWD, GROUP, UserEntry("bob", 1000, 1000, "/home/bob"))
    lines = p.splitlines()
    assert not any(line.startswith("ubuntu:") for line in lines)
    assert [line for line in lines if ":1000:" in line] == ["bob:x:1000:1000:bob:/home/bob:/bin/sh"]
    assert sum(1 for line in g.splitlines() if line.split(":")[2] == "1000") == 1


def test_idempotent_and_root_untouched():
    entry = UserEntry("alice", 4242, 4242, "/home/alice")
    once = with_user(PASSWD, GROUP, entry)
    assert with_user(*once, entry) == once
    p, _ = with_user(PASSWD, GROUP, UserEntry("root", 0, 0, "/root"))
    assert p == PASSWD


def test_group_name_clash_gets_a_distinct_name():
    _, g = with_user(PASSWD, "alice:x:50:\n", UserEntry("alice", 4242, 4242, "/home/alice"))
    assert "alice-4242:x:4242:" in g.splitlines()


def test_shell_choice_follows_the_image():
    assert choose_shell(PASSWD) == "/bin/bash"
    assert choose_shell("root:x:0:0:root:/root:/bin/sh\n") == "/bin/sh"


def test_archive_carries_owner_and_modes():
    data = build_archive({"/etc/passwd": (b"x\n", 0o644)}, {"/home/alice": (4242, 4243, 0o755)})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        home = tar.getmember("home/alice")
        assert (home.isdir(), home.uid, home.gid, home.mode) == (True, 4242, 4243, 0o755)
        assert tar.getmember("etc/passwd").mode == 0o644
    assert read_single_file(data) == b"x\n"


def _tarfile_reference(files, dirs, now):
    """What ``tarfile`` writes for the same members (the way ``build_archive`` once made them)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, (uid, gid, mode) in dirs.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.type, info.mode, info.uid, info.gid, info.mtime = tarfile.DIRTYPE, mode, uid, gid, now
            tar.addfile(info)
        for path, (content, mode) in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(content), mode, now
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


@pytest.mark.parametrize(
    ("files", "dirs"),
    [
        (  # a create's user setup: passwd, group, a sudo rule, the home
            {
                "/etc/passwd": (b"root:x:0:0:root:/root:/bin/bash\nalice:x:4242:4243::/home/alice:/bin/bash\n", 0o644),
                "/etc/group": (b"root:x:0:\n", 0o644),
                "/etc/sudoers.d/ds01-alice": (b"alice ALL=(ALL) NOPASSWD: ALL\n", 0o440),
            },
            {"/home/alice": (4242, 4243, 0o755)},
        ),
        ({"/etc/passwd": (b"", 0o644), "/etc/group": (b"g" * 512, 0o644)}, {}),  # empty, exactly one block
        ({"/etc/group": (b"g" * 10_000, 0o600)}, {"/": (0, 0, 0o755)}),  # several blocks, several records
        ({}, {"/home/" + "n" * 94: (1000, 1000, 0o700)}),  # 100 characters with the slash: still ustar
        ({}, {"/home/" + "n" * 95: (1000, 1000, 0o700)}),  # 101: tarfile's pax header
        ({"/etc/" + "f" * 96: (b"x", 0o644)}, {}),  # a file name of 101 characters
        ({}, {"/home/zoë": (1000, 1000, 0o755)}),  # not ASCII
        ({"/etc/passwd": (b"x", 0o644)}, {"/home/big": (8**7, 8**7 - 1, 0o755)}),  # a uid past the field
    ],
)
def test_the_archive_is_the_bytes_tarfile_writes(monkeypatch, files, dirs):
    monkeypatch.setattr(users_module.time, "time", lambda: 1_700_000_000.75)
    data = build_archive(files, dirs)
    assert data == _tarfile_reference(files, dirs, 1_700_000_000)
    assert len(data) % (20 * 512) == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert [m.name for m in tar] == [p.strip("/") for p in (*dirs, *files)]
