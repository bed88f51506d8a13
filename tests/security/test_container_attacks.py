"""Attacks on containers, on the real engine, by a real unprivileged user calling ds01 as sudo does.

- Root inside a container plus the read-write workspace makes a setuid-root file on the host.
  Secure mode: the container runs as the caller with every capability dropped and
  ``no-new-privileges``, so a setuid helper in the image (what ``sudo`` is) gains nothing and
  no root-owned file can be made. Group mode keeps the historic defaults, and the same attack
  succeeds there: the test says so, as the docs do (the docker group is root-equivalent).
- A workspace swapped for a symlink to another user's home after create is refused at start,
  run and recreate (exit 3), and the container is not started.
- An image whose Dockerfile writes ``ds01.*``/``aime.mlc.*`` labels gives a container nothing:
  every reserved label on the container is the one ds01 wrote.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from ds01 import paths
from ds01.limits import stamp
from support import configs
from support.configs import aged
from support.containers import ledger_rows
from support.users import make_user, run_as_sudo, sudo_env, world_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: real users, sudo-style callers, Docker")

TOPOLOGY = configs.topology(["1g.10gb"] * 3, compute_capability="8.0")

# A stand-in for sudo: a setuid-root program that makes itself root and runs its arguments.
SU0 = r"""
#include <unistd.h>
int main(int argc, char **argv) {
    if (setgid(0) != 0 || setuid(0) != 0) return 126;
    execv(argv[1], argv + 1);
    return 127;
}
"""

FORGED = {
    "ds01.gpu.slots": "0",
    "ds01.gpu.uuids": "GPU-00000000-0000-0000-0000-forged000000",
    "ds01.admin": "true",
    "aime.mlc.GPUS": "0",
    "aime.mlc.CUSTOM_IMAGE": "forged",
}


def _build(client, tag: str, files: dict[str, tuple[bytes, int]], dockerfile: str, session_tag: str) -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, (data, mode) in {**files, "Dockerfile": (dockerfile.encode(), 0o644)}.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    client.images.build(
        fileobj=buf, custom_context=True, tag=tag, rm=True, forcerm=True, labels={"ds01.test.session": session_tag}
    )
    return tag


@pytest.fixture(scope="module")
def suid_image(docker_engine, base_image, session_tag, tmp_path_factory) -> str:
    """An image with a setuid-root helper (as sudo is) and a /etc/sudoers.d folder."""
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc to build the setuid helper")
    work = tmp_path_factory.mktemp("su0")
    (work / "su0.c").write_text(SU0)
    subprocess.run(
        ["gcc", "-static", "-O2", "-o", str(work / "su0"), str(work / "su0.c")], check=True, capture_output=True
    )
    dockerfile = f"FROM {base_image}\nCOPY su0 /usr/bin/su0\nRUN chmod 4755 /usr/bin/su0 && mkdir -p /etc/sudoers.d\n"
    return _build(
        docker_engine, f"{session_tag}-suid:1", {"su0": ((work / "su0").read_bytes(), 0o755)}, dockerfile, session_tag
    )


@pytest.fixture(scope="module")
def forged_image(docker_engine, base_image, session_tag) -> str:
    """An image whose Dockerfile writes labels in ds01's and AIME's namespaces."""
    label_line = " ".join(f'{k}="{v}"' for k, v in FORGED.items())
    return _build(docker_engine, f"{session_tag}-forged:1", {}, f"FROM {base_image}\nLABEL {label_line}\n", session_tag)


class Setup:
    def __init__(self, tmp_path: Path, images: list[str]):
        self.tmp = tmp_path
        self.images = images
        self.config = tmp_path / "resource-limits.yaml"
        self.topology = tmp_path / "topology.yaml"
        self.topology.write_text(TOPOLOGY)
        self.write("secure")

    def write(self, mode: str, network: str = "none") -> None:
        self.config.write_text(
            configs.render(
                self.topology,
                defaults={
                    "memory_swap": "512m",
                    "shm_size": "64m",
                    "max_containers_per_user": 3,
                    "gpu_hold_after_stop": "1h",
                },
                default_group="student",
                groups={"student": {"members": []}},
                gpu_allocation={"device_requests": "never"},
                advanced={"network_mode": network},
                security={"mode": mode, "allowed_base_images": ["ds01-base:busybox", *self.images]},
            )
        )

    @staticmethod
    def ds01(user, *args: str, input: str | None = None):
        return run_as_sudo(user, *args, input=input)


@pytest.fixture
def setup(tmp_path, monkeypatch, docker_env, base_image, suid_image, forged_image):
    s = Setup(tmp_path, [suid_image, forged_image])
    monkeypatch.setenv("DS01_CONFIG", str(s.config))
    yield s


@pytest.fixture
def user(setup, docker_env):
    with make_user("ds01c") as u:
        yield u
        for c in docker_env.api.containers(all=True, filters={"label": f"ds01.uid={u.uid}"}):
            docker_env.api.remove_container(c["Id"], force=True, v=True)


def _folder(owner, name: str) -> Path:
    path = owner.home / name
    path.mkdir(mode=0o755)
    os.chown(path, owner.uid, owner.gid)
    return path


def _as(owner, *argv: str) -> None:
    subprocess.run(
        list(argv),
        check=True,
        user=owner.uid,
        group=owner.gid,
        extra_groups=[],
        cwd=owner.home,
        env={"PATH": "/usr/bin:/bin", "HOME": str(owner.home)},
    )


def _rows() -> list[tuple]:
    return ledger_rows("slot, container")


def _root_setuid_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.lstat().st_uid == 0 and p.lstat().st_mode & stat.S_ISUID]


# The attack, typed into `container run NAME` (its non-interactive form reads the shell's input).
ATTACK = """\
/usr/bin/su0 /bin/sh -c 'echo inner=$(id -u); cp /bin/busybox /workspace/bb && chown 0:0 /workspace/bb && \
chmod 4755 /workspace/bb; echo made=$?'; echo su0=$?
chmod u+s /bin/busybox; echo chmod=$?
echo outer=$(id -u)
exit
"""


# -- setuid root through the workspace -------------------------------------------------------------


def test_secure_mode_container_is_the_caller_without_privileges_and_makes_no_setuid_root_file(
    setup, user, docker_env, suid_image, session_tag
):
    ws = _folder(user, "ws")
    name = f"{session_tag}-hard"
    r = setup.ds01(user, "container", "create", name, "--image", suid_image, "-w", str(ws), "--gpus", "1", "--json")
    assert r.exit_code == 0, r
    out = json.loads(r.stdout)
    attrs = docker_env.api.inspect_container(out["docker_name"])
    host = attrs["HostConfig"]
    assert attrs["Config"]["User"] == f"{user.uid}:{user.gid}"
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["Privileged"] is False and not host["Devices"]
    assert host["NetworkMode"] == "none" and host["IpcMode"] == "private"
    assert host["PidMode"] in ("", None) and host["UTSMode"] in ("", None) and host["UsernsMode"] in ("", None)
    assert host["CgroupnsMode"] == "private"
    # No sudo rule inside, though the image has /etc/sudoers.d.
    listing = b"".join(docker_env.api.get_archive(attrs["Id"], "/etc/sudoers.d")[0])
    assert b"ds01-" not in listing

    r = setup.ds01(user, "container", "run", name, input=ATTACK)
    assert r.exit_code == 0, r
    # The setuid helper cannot become root (no-new-privileges, no CAP_SETUID), and the shell is the caller.
    assert "su0=126" in r.stdout and "inner=" not in r.stdout and f"outer={user.uid}" in r.stdout, r
    assert "made=0" not in r.stdout and "chmod=1" in r.stdout, r
    assert _root_setuid_files(ws) == []
    made = ws / "bb"
    assert not made.exists() or made.lstat().st_uid == user.uid


def test_group_mode_keeps_the_old_defaults_where_the_docker_group_is_root_anyway(
    setup, user, docker_env, suid_image, session_tag
):
    """The same attack succeeds in group mode (docs/security.md says so); secure mode refuses to
    start such a container, so switching a server to secure mode closes it for old containers too."""
    setup.write("group")
    ws = _folder(user, "ws")
    name = f"{session_tag}-grp"
    r = setup.ds01(user, "container", "create", name, "--image", suid_image, "-w", str(ws), "--gpus", "0", "--json")
    assert r.exit_code == 0, r
    attrs = docker_env.api.inspect_container(json.loads(r.stdout)["docker_name"])
    assert attrs["Config"]["User"] == str(user.uid) and attrs["HostConfig"]["Privileged"] is False
    r = setup.ds01(user, "container", "run", name, input=ATTACK)
    assert "inner=0" in r.stdout and "made=0" in r.stdout, r
    assert _root_setuid_files(ws) == [ws / "bb"]  # root on the host for whoever runs it
    (ws / "bb").unlink()

    setup.write("secure")
    r = setup.ds01(user, "container", "run", name, input="echo reached\nexit\n")
    assert r.exit_code == 3 and "secure-mode rules" in r.stderr and "reached" not in r.stdout, r
    assert docker_env.api.inspect_container(attrs["Id"])["State"]["Running"] is False


def test_host_network_is_refused_in_both_modes(setup, user, docker_env, base_image, session_tag):
    ws = _folder(user, "ws")
    for mode in ("secure", "group"):
        setup.write(mode, network="host")
        name = f"{session_tag}-net{mode}"
        r = setup.ds01(user, "container", "create", name, "--image", base_image, "-w", str(ws), "--gpus", "1")
        # Refused when the config is read (limits check names the key); the create path's own
        # refusal (policy.containers.check_network_mode) stays behind it, tested as a plain function.
        assert r.exit_code == 2 and "network_mode" in r.stderr, r
        assert not docker_env.api.containers(all=True, filters={"name": name}) and _rows() == []


# -- mounts checked at every start -----------------------------------------------------------------


@pytest.mark.parametrize("gpus", ["1", "0"])  # a CPU-only one is started without the GPU service
def test_workspace_swapped_for_a_symlink_is_refused_at_start_run_and_recreate(
    setup, user, docker_env, base_image, session_tag, gpus
):
    with make_user("ds01v") as victim:
        secret = victim.home / "secret.txt"
        secret.write_text("victim's")
        wsx = _folder(user, "wsx")
        name = f"{session_tag}-swap{gpus}"
        r = setup.ds01(
            user, "container", "create", name, "--image", base_image, "-w", str(wsx), "--gpus", gpus, "--json"
        )
        assert r.exit_code == 0, r
        cid = json.loads(r.stdout)["id"]
        assert setup.ds01(user, "container", "stop", name).exit_code == 0
        _as(user, "mv", str(wsx), str(user.home / "wsx.old"))
        _as(user, "ln", "-s", str(victim.home), str(wsx))
        # The config validated and stamped: the plain starts below take the click-free path
        # (``cli.starts``), which must check the mounts as the click commands do.
        aged(setup.config)
        assert setup.ds01(user, "container", "list").exit_code == 0
        assert stamp.valid_as_stamped(str(setup.config), paths.state_dir_text())

        for args, stdin in (
            (("container", "start", name), None),
            (("container", "start", name, "--json"), None),
            (("mlc", "start", name), None),
            (("container", "run", name), "cat secret.txt\n"),
            (("mlc", "start", name, "cat", "/workspace/secret.txt"), None),
        ):
            r = setup.ds01(user, *args, input=stdin)
            assert r.exit_code == 3 and "symbolic link" in r.stderr, (args, r)
            assert "victim's" not in r.stdout
            assert docker_env.api.inspect_container(cid)["State"]["Running"] is False

        # The recreate path (the container was removed when its GPU was released): refused before
        # anything is allocated or made.
        rows = _rows()
        docker_env.api.remove_container(cid, force=True)
        r = setup.ds01(user, "container", "start", name)
        assert r.exit_code == 3 and "symbolic link" in r.stderr, r
        assert not docker_env.api.containers(all=True, filters={"name": name}) and _rows() == rows

        # With the real folder back it starts: the refusal was the symlink's doing.
        _as(user, "rm", str(wsx))
        _as(user, "mv", str(user.home / "wsx.old"), str(wsx))
        r = setup.ds01(user, "container", "start", name)
        assert r.exit_code == 0, r


# -- labels are ds01's -----------------------------------------------------------------------------


def _reserved(labels: dict) -> dict:
    return {k: v for k, v in labels.items() if k == "aime.mlc" or k.startswith(("ds01.", "aime.mlc."))}


def test_engine_writes_every_reserved_label_an_image_carries(setup, user, docker_env, forged_image, session_tag):
    from ds01.base import container_spec, engine

    ws = _folder(user, "ws")
    spec = container_spec.ContainerSpec(
        name=f"{session_tag}-lbl",
        owner=user,
        image=forged_image,
        workspace=ws,
        custom_image=True,
        security_mode="secure",
        network_mode="none",
        extra_labels={"ds01.gpu.slots": "", "ds01.gpu.uuids": ""},
    )
    info = engine.create_container(spec)
    labels = docker_env.api.inspect_container(info.id)["Config"]["Labels"]
    assert _reserved(labels) == _reserved(info.labels)  # exactly what ds01 sent
    for key, forged in FORGED.items():
        assert labels[key] != forged, key
    assert labels["ds01.gpu.slots"] == "" and labels["ds01.admin"] == ""


def test_forged_gpu_labels_in_a_dockerfile_give_the_container_nothing(
    setup, user, docker_env, forged_image, session_tag
):
    ws = _folder(user, "ws")
    name = f"{session_tag}-forge"
    r = setup.ds01(user, "container", "create", name, "--image", forged_image, "-w", str(ws), "--gpus", "1", "--json")
    if r.exit_code == 3:  # refused outright for carrying reserved labels: nothing made, nothing held
        assert not docker_env.api.containers(all=True, filters={"name": name}) and _rows() == []
        return
    assert r.exit_code == 0, r
    out = json.loads(r.stdout)
    labels = docker_env.api.inspect_container(out["docker_name"])["Config"]["Labels"]
    assert labels["ds01.gpu.slots"] == ";".join(out["slots"]) and labels["ds01.gpu.uuids"] == ";".join(out["uuids"])
    assert labels["aime.mlc.GPUS"] == ";".join(out["slots"]) and labels["aime.mlc.CUSTOM_IMAGE"] == forged_image
    assert labels["ds01.admin"] == "" and labels["ds01.user"] == user.name and labels["aime.mlc"] == user.name
    assert [row[0] for row in _rows()] == out["slots"]


# -- another user's project image ------------------------------------------------------------------


def test_another_users_project_image_is_refused_for_a_container(setup, user, docker_env, base_image, session_tag):
    from ds01.base import images

    with make_user("ds01o") as other:
        ref = _build(
            docker_env, f"{session_tag}-theirs-image:latest", {}, f"FROM {base_image}\nRUN echo private\n", session_tag
        )
        image_id = docker_env.api.inspect_image(ref)["Id"]
        images.record_owner(
            image_id,
            uid=other.uid,
            user=other.name,
            project=f"{session_tag}-theirs",
            labels={},
            dockerfile="/nowhere/Dockerfile",
            shared=False,
        )
        ws = _folder(user, "ws")
        for args in (("--image", ref), ()):  # by flag, and as the default NAME-image of a same-named container
            name = f"{session_tag}-theirs" if not args else f"{session_tag}-borrow"
            r = setup.ds01(user, "container", "create", name, *args, "-w", str(ws), "--gpus", "1")
            assert r.exit_code == 3 and "another user's project image" in r.stderr and other.name not in r.stderr, r
            assert not docker_env.api.containers(all=True, filters={"name": name}) and _rows() == []
        images.forget_owner(image_id)


# -- which images a container may use: the rule builds use -----------------------------------------


def _picker_list(setup, user, ws: Path, name: str) -> str:
    """What `container create NAME` (no image, no NAME-image) offers on a real terminal, ANSI removed."""
    import re

    import pexpect

    from support.cli import ds01_executable

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(sudo_env(user), HOME=str(world_dir("ds01-roothome-")), TERM="xterm")
    child = pexpect.spawn(
        ds01_executable(),
        ["container", "create", name, "-w", str(ws), "--gpus", "1"],
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    try:
        child.expect("Image for the container")
        child.expect("A framework from the catalog")  # always the last entry: everything above it is shown
        shown = child.before
    finally:
        child.sendcontrol("c")
        child.close(force=True)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)


@pytest.mark.parametrize("mode", ["secure", "group"])
def test_a_container_uses_only_images_the_caller_may_build_on(setup, user, docker_env, base_image, session_tag, mode):
    """`--image` of (a) a plain local image nobody listed and (b) one whose Dockerfile claims the
    caller's ds01 labels is refused before anything is allocated; (b) is not offered by the picker
    either. (c) Once an admin lists it in security.allowed_base_images the same image is allowed."""
    setup.write(mode)
    plain = _build(docker_env, f"{session_tag}-plain-{mode}:1", {}, f"FROM {base_image}\nRUN echo plain\n", session_tag)
    claimed = _build(
        docker_env,
        f"{session_tag}-claimed-{mode}:1",
        {},
        f"FROM {base_image}\nLABEL ds01.user={user.name} ds01.managed=true\n",
        session_tag,
    )
    ws = _folder(user, "ws")
    for ref in (plain, claimed):
        name = f"{session_tag}-img-{mode}"
        r = setup.ds01(user, "container", "create", name, "--image", ref, "-w", str(ws), "--gpus", "1")
        assert r.exit_code == 3 and "not one you may use" in r.stderr, r
        assert [line for line in r.stderr.splitlines() if line.startswith("error:")] == [
            r.stderr.strip().splitlines()[-1]
        ], r.stderr  # one sentence
        assert not docker_env.api.containers(all=True, filters={"name": name}) and _rows() == []

    shown = _picker_list(setup, user, ws, f"{session_tag}-pick-{mode}")
    assert base_image in shown and claimed not in shown and plain not in shown, shown
    assert not docker_env.api.containers(all=True, filters={"name": f"{session_tag}-pick-{mode}"})
    assert _rows() == []

    setup.images.append(claimed)  # (c) the admin lists it
    setup.write(mode)
    assert claimed in _picker_list(setup, user, ws, f"{session_tag}-pick-{mode}")
    name = f"{session_tag}-listed-{mode}"
    r = setup.ds01(user, "container", "create", name, "--image", claimed, "-w", str(ws), "--gpus", "1", "--json")
    assert r.exit_code == 0, r
    out = json.loads(r.stdout)
    labels = docker_env.api.inspect_container(out["docker_name"])["Config"]["Labels"]
    assert labels["ds01.user"] == user.name and [row[0] for row in _rows()] == out["slots"]
