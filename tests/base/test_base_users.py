"""passwd/group editing for the user inside a container (pure)."""

from __future__ import annotations

import io
import tarfile

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
