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
