"""What ds01 keeps of each image's passwd and group (``base.image_etc``) cannot be planted.

In group mode the folder is shared (sticky, world-writable) because every user runs ds01 as
themselves. A user who writes an entry in root's name, or in another user's, or links one to
a file of root's, must not decide the passwd or group of anyone else's container: such an entry
is not read, and the files come from the container itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ds01.base import container_spec, engine
from ds01.base.users import read_single_file
from ds01.identity import Identity

ATTACKER = 4321
EVIL = "evil:x:0:0:planted:/root:/bin/sh\n"


@pytest.fixture
def victim(tmp_path: Path) -> tuple[Identity, Path]:
    ws = tmp_path / "ws"
    ws.mkdir()
    os.chown(ws, 4242, 4242)
    return Identity(name="victim", uid=4242, gid=4242, home=Path("/home/victim"), via_sudo=True), ws


def _passwd(docker_env, cid: str) -> str:
    stream, _ = docker_env.api.get_archive(cid, "/etc/passwd")
    return read_single_file(b"".join(stream)).decode()


def _plant(tmp_path: Path, image_id: str, *, as_link: bool) -> Path:
    folder = tmp_path / "state" / "image-etc"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o1777)  # the shared folder of group mode
    doc = {
        "image_id": image_id,
        "passwd": "root:x:0:0::/root:/bin/sh\n" + EVIL,
        "group": "root:x:0:\n",
        "sudoers_d": True,
    }
    digest = image_id.split(":", 1)[1]
    target = folder / f"{digest}.{os.geteuid()}.json"  # the entry root's own ds01 would read
    if as_link:
        # A root-owned file the attacker cannot write, but can point at (here: one with the bait).
        bait = tmp_path / "root-file.json"
        bait.write_text(json.dumps(doc))
        target.symlink_to(bait)
    else:
        target.write_text(json.dumps(doc))
        os.chown(target, ATTACKER, ATTACKER)  # written by the attacker in root's name
    return target


@pytest.mark.parametrize("as_link", [False, True], ids=["owned-by-the-attacker", "symlink"])
def test_a_planted_entry_gives_nobody_a_passwd_line(tmp_path, docker_env, base_image, session_tag, victim, as_link):
    owner, ws = victim
    image_id = docker_env.api.inspect_image(base_image)["Id"]
    _plant(tmp_path, image_id, as_link=as_link)
    spec = container_spec.ContainerSpec(
        name=f"{session_tag}-plant{int(as_link)}",
        owner=owner,
        image=base_image,
        workspace=ws,
        custom_image=True,
        security_mode="group",
    )
    info = engine.create_container(spec)
    passwd = _passwd(docker_env, info.id)
    assert "evil:" not in passwd and "planted" not in passwd
    assert "victim:x:4242:4242:" in passwd


# -- the folder's owner and root's write --------------------------------------------------------


@pytest.fixture
def attacker():
    from support.users import make_user

    with make_user("ds01e") as ident:
        yield ident


def _as_user(user: Identity, step) -> None:
    """Run ``step()`` in a child process with ``user``'s uid, gid and no other groups."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.setgroups([])
            os.setgid(user.gid)
            os.setuid(user.uid)
            step()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the attacker's step failed"


@pytest.mark.skipif(os.geteuid() != 0, reason="the attack is on root's write")
def test_the_owner_of_a_shared_folder_cannot_make_roots_write_change_another_file(attacker, monkeypatch):
    """Group mode makes ``image-etc`` as whoever creates a container first, so a user may own the
    sticky folder, and a sticky folder's owner may rename anything in it. While root writes its
    entry there (an admin's create), the owner swaps root's temporary file for a link to a file of
    root's: root's write must not chmod that file (``/etc/shadow`` made readable)."""
    from ds01 import paths
    from ds01.base import image_etc
    from support.users import world_dir

    state = world_dir("ds01-state-") / "state"
    state.mkdir()
    monkeypatch.setenv("DS01_STATE_DIR", str(state))
    paths.forget()
    folder = state / "image-etc"
    folder.mkdir()
    os.chown(folder, attacker.uid, attacker.gid)
    os.chmod(folder, 0o1777)
    secret = world_dir("ds01-secret-") / "shadow"
    secret.write_text("root:$6$hash:19000::::::\n")
    os.chmod(secret, 0o600)

    def swap() -> None:
        for name in os.listdir(folder):
            if name.endswith(".tmp"):
                os.rename(folder / name, folder / f"moved-{name}")
                os.symlink(secret, folder / name)
                return
        raise AssertionError("no temporary file to swap")

    real_fsync = os.fsync
    swapped: list[bool] = []

    def fsync_then_swap(fd: int) -> None:
        real_fsync(fd)
        if not swapped:  # the moment between root's write and its chmod and rename
            swapped.append(True)
            _as_user(attacker, swap)

    monkeypatch.setattr(os, "fsync", fsync_then_swap)
    image_id = "sha256:" + "ab" * 32
    image_etc.save(image_id, image_etc.EtcFacts("root:x:0:0::/root:/bin/sh\n", "root:x:0:\n", False), shared=True)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert swapped
    assert secret.stat().st_mode & 0o777 == 0o600
    assert secret.read_text().startswith("root:$6$hash")


# -- secure mode: a folder left shared by group mode ---------------------------------------------


def test_secure_mode_uses_no_entry_left_in_the_shared_folder_of_group_mode(
    tmp_path, docker_env, base_image, session_tag, victim
):
    """Switching to secure mode keeps ``image-etc`` (sticky, world-writable) and the documented
    ``chown -R root:root`` makes every file in it root's, entries users planted under group mode
    included. Root in secure mode must not take such an entry for its own: the victim's container
    gets no passwd line from it, and the folder is root's alone afterwards."""
    from ds01.base import image_etc

    owner, ws = victim
    image_id = docker_env.api.inspect_image(base_image)["Id"]
    planted = _plant(tmp_path, image_id, as_link=False)
    os.chown(planted, 0, 0)  # what chown -R root:root made of it
    os.chown(planted.parent, 0, 0)
    spec = container_spec.ContainerSpec(
        name=f"{session_tag}-launder",
        owner=owner,
        image=base_image,
        workspace=ws,
        custom_image=True,
        security_mode="secure",
    )
    info = engine.create_container(spec)
    passwd = _passwd(docker_env, info.id)
    assert "evil:" not in passwd and "planted" not in passwd
    assert "victim:x:4242:4242:" in passwd
    folder = planted.parent.stat()
    assert folder.st_uid == 0 and folder.st_mode & 0o7777 == 0o755
    kept = image_etc.load(image_id, shared=False)
    assert kept is not None and "evil:" not in kept.passwd  # what root read from the container itself
