"""Attacks on the AIME-compatible ``ds01 mlc`` commands, run under sudo by a real user.

- ``mlc import`` of a crafted archive: its image's ``RepoTags`` name an existing image of
  someone else, its definition asks for the host network, a cgroup parent, every GPU, restart
  always and no limits, and its image carries forged ``ds01.*`` labels and ``NVIDIA_*``/``DS01_*``
  variables. None of it may take effect.
- ``mlc import`` of ``/dev/zero``, a FIFO, a directory and an oversized file: refused at once.
- ``mlc export`` to a place the caller may not write (``/etc``, a symlink to a root-only folder).
- ``mlc create`` past ``max_containers_per_user`` and with ``-g all``.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from pathlib import Path

import pytest

from support import configs
from support.containers import ledger_rows
from support.users import make_user, run_as_sudo, sudo_env

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="attacks through sudo need root")

TOPOLOGY = configs.topology(configs.SEVEN, compute_capability="8.0")


@pytest.fixture
def setup(tmp_path, monkeypatch, docker_env, base_image, session_tag):
    configs.use(
        monkeypatch,
        configs.write(
            tmp_path,
            TOPOLOGY,
            defaults={
                "max_mig_instances": 4,
                "max_gpus_per_container": 2,
                "memory_swap": "512m",
                "shm_size": "64m",
                "max_containers_per_user": 2,
            },
            default_group="student",
            groups={"student": {"members": [], "max_containers_per_user": 2}},
            gpu_allocation={"device_requests": "never"},
            security={"mode": "group"},
        ),
    )
    with make_user("ds01m") as user:
        ws = user.home / "ws"
        ws.mkdir(mode=0o755)
        os.chown(ws, user.uid, user.gid)
        yield user
    for c in docker_env.api.containers(all=True, filters={"label": f"ds01.uid={user.uid}"}):
        docker_env.api.remove_container(c["Id"], force=True, v=True)


_ds01 = run_as_sudo


def _rows() -> list[tuple]:
    return ledger_rows("slot, uuid, container, user", order="slot")


def _give(user, path: Path) -> Path:
    os.lchown(path, user.uid, user.gid)
    return path


# -- mlc create: the ledger and the quotas ----------------------------------------------------


def test_five_creates_with_a_limit_of_two_stop_at_the_third_and_are_all_in_the_ledger(
    setup, docker_env, base_image, session_tag
):
    user = setup
    names = [f"{session_tag}-q{i}" for i in range(5)]
    results = [_ds01(user, "mlc", "create", n, "--image", base_image, "-w", str(user.home / "ws")) for n in names]
    assert [r.exit_code for r in results] == [0, 0, 3, 3, 3], results
    assert "limit is 2" in results[2].stderr
    made = {
        c["Names"][0].lstrip("/")
        for c in docker_env.api.containers(all=True, filters={"label": f"ds01.uid={user.uid}"})
    }
    assert made == {f"{n}._.{user.uid}" for n in names[:2]}
    rows = _rows()
    assert sorted(r[2] for r in rows) == sorted(made) and {r[3] for r in rows} == {user.name}
    for name in made:
        attrs = docker_env.api.inspect_container(name)
        host, labels = attrs["HostConfig"], attrs["Config"]["Labels"]
        slot = next(r for r in rows if r[2] == name)
        # The slot the ledger gave, by UUID; never a count-based device request for every GPU.
        assert not host.get("DeviceRequests")
        assert f"NVIDIA_VISIBLE_DEVICES={slot[1]}" in attrs["Config"]["Env"]
        assert labels["ds01.gpu.slots"] == slot[0] and labels["ds01.gpu.uuids"] == slot[1]
        assert host["NetworkMode"] == "none" and host["Memory"] == 256 * 1024**2
    # A removal gives the slot back at once.
    assert _ds01(user, "mlc", "remove", names[0]).exit_code == 0
    assert [r[2] for r in _rows()] == [f"{names[1]}._.{user.uid}"]


def test_g_all_is_refused_with_what_to_ask_for(setup, docker_env, base_image, session_tag):
    user = setup
    name = f"{session_tag}-all"
    r = _ds01(user, "mlc", "create", name, "--image", base_image, "-w", str(user.home / "ws"), "-g", "all")
    assert r.exit_code == 2 and "-g 1" in r.stderr and "every GPU" in r.stderr, r
    r = _ds01(user, "mlc", "create", name, "--image", base_image, "-w", str(user.home / "ws"), "-g", "3")
    assert r.exit_code == 3 and "at most 2" in r.stderr, r
    assert not docker_env.api.containers(all=True, filters={"name": name}) and _rows() == []


# -- mlc import: a crafted archive --------------------------------------------------------------


def _crafted_archive(client, base_image: str, tag: str, repo_tags: list[str], dest: Path) -> Path:
    """A real export file whose image (a real commit with a new file) claims ``repo_tags``."""
    c = client.api.create_container(
        base_image,
        ["sh", "-c", "echo planted > /planted"],
        name=f"{tag}-craft",
        labels={
            "ds01.gpu.slots": "0:0",
            "ds01.gpu.uuids": "MIG-forged",
            "ds01.user": "someone-else",
            "aime.mlc.GPUS": "all",
            "keep.me": "yes",
        },
        environment=["NVIDIA_VISIBLE_DEVICES=all", "DS01_CONFIG=/tmp/mine.yaml", "FOO=bar"],
    )
    client.api.start(c)
    client.api.wait(c)
    ref = f"{tag}-crafted:1"
    client.api.commit(c, repository=f"{tag}-crafted", tag="1")
    client.api.remove_container(c, force=True)
    image_tar = b"".join(client.api.get_image(ref))
    client.api.remove_image(ref)
    # Rewrite the image's tags: what a hand-made archive can say.
    src = tarfile.open(fileobj=io.BytesIO(image_tar))  # noqa: SIM115 - read while dst is written
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isreg() else None
            if m.name == "manifest.json":
                manifest = json.loads(data)
                manifest[0]["RepoTags"] = repo_tags
                data = json.dumps(manifest).encode()
            elif m.name == "repositories":
                repo, t = repo_tags[0].rsplit(":", 1)
                data = json.dumps({repo: {t: "0" * 64}}).encode()
            if data is not None:
                m.size = len(data)
                dst.addfile(m, io.BytesIO(data))
            else:
                dst.addfile(m)
    definition = {
        "format": 1,
        "name": f"{tag}-imp",
        "image": ref,
        "network_mode": "host",
        "restart_policy": "always",
        "limits": {"cgroup_parent": "/", "mem_limit": None},
        "device_requests": True,
        "device_uuids": [],
        "env": {"NVIDIA_VISIBLE_DEVICES": "all", "DS01_STATE_DIR": "/tmp", "FOO": "bar"},
        "labels": {"ds01.gpu.slots": "0:0"},
        "mounts": {"workspace": "/root", "workspace_in_home": "ws"},
        "privileged": True,
        "cap_add": ["SYS_ADMIN"],
        "devices": ["/dev/mem"],
    }
    payload = json.dumps({"format": "ds01-mlc-export/1", "image_ref": ref, "definition": definition}).encode()
    with tarfile.open(dest, "w") as archive:
        for name, data in (("definition.json", payload), ("image.tar", out.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return dest


def test_import_of_a_crafted_archive_takes_the_image_and_user_settings_only(setup, docker_env, base_image, session_tag):
    user = setup
    victim = f"{session_tag}-victim"
    docker_env.api.tag(base_image, victim, "v1")  # another user's project image
    victim_id = docker_env.api.inspect_image(f"{victim}:v1")["Id"]
    archive = _give(
        user, _crafted_archive(docker_env, base_image, session_tag, [f"{victim}:v1"], user.home / "crafted.tar")
    )
    r = _ds01(user, "mlc", "import", str(archive), "--json")
    assert r.exit_code == 0, r
    out = json.loads(r.stdout)
    # The archive's RepoTags moved nothing: the victim's tag still names its own image.
    assert docker_env.api.inspect_image(f"{victim}:v1")["Id"] == victim_id
    assert not docker_env.api.images(name=f"{session_tag}-crafted")
    attrs = docker_env.api.inspect_container(out["docker_name"])
    host, config = attrs["HostConfig"], attrs["Config"]
    assert config["Image"].startswith(f"ds01-mlc/{user.uid}-")
    # The server's settings and the caller's limits, not the archive's.
    assert host["NetworkMode"] == "none" and host["RestartPolicy"]["Name"] == "no"
    assert host["CgroupParent"] == "ds01-student.slice" and host["Memory"] == 256 * 1024**2
    assert host["Privileged"] is False and not host.get("Devices") and not host.get("CapAdd")
    assert not host.get("DeviceRequests")
    rows = _rows()
    assert [(r[2], r[3]) for r in rows] == [(out["docker_name"], user.name)], (out, r.stderr)
    labels = config["Labels"]
    assert labels["ds01.gpu.slots"] == rows[0][0] and labels["ds01.gpu.uuids"] == rows[0][1]
    assert labels["ds01.user"] == user.name and labels["aime.mlc.GPUS"] == rows[0][0]
    assert labels.get("keep.me") == "yes"  # the user's own labels travel
    env = config["Env"]
    assert f"NVIDIA_VISIBLE_DEVICES={rows[0][1]}" in env and "NVIDIA_VISIBLE_DEVICES=all" not in env
    assert "FOO=bar" in env and not any(e.startswith("DS01_") for e in env)
    # The workspace is the archive's relative to the caller's home, never its host path.
    assert out["workspace"] == str(user.home / "ws")
    # The image is the archive's (the planted file is there), under a tag of the caller's.
    image_labels = docker_env.api.inspect_image(config["Image"])["Config"]["Labels"]
    assert not any(k.startswith("ds01.gpu") or k.startswith("aime.mlc") for k in image_labels)
    assert image_labels["ds01.user"] == user.name
    run = _ds01(user, "mlc", "start", out["name"], "cat", "/planted")
    assert run.exit_code == 0 and run.stdout == "planted\n", run
    # The imported image is the importer's: another user cannot run (and then export) it.
    with make_user("ds01o") as other:
        ws = other.home / "ws"
        ws.mkdir()
        _give(other, ws)
        r = _ds01(other, "mlc", "create", f"{session_tag}-steal", "--image", config["Image"], "-w", str(ws))
        assert r.exit_code == 3 and not docker_env.api.containers(all=True, filters={"name": f"{session_tag}-steal"})


def test_import_refuses_an_archive_whose_layers_are_not_in_it(setup, docker_env, base_image, session_tag):
    """An archive naming layers it does not carry would get another image's files from Docker's cache."""
    user = setup
    good = _crafted_archive(docker_env, base_image, session_tag, [f"{session_tag}-x:1"], user.home / "g.tar")
    with tarfile.open(good) as t:
        payload = t.extractfile("definition.json").read()
        image = tarfile.open(fileobj=io.BytesIO(t.extractfile("image.tar").read()))  # noqa: SIM115 - read below
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as dst:
        for m in image.getmembers():
            if m.isreg() and m.name.endswith("layer.tar"):
                data = b"\0" * 1024  # an empty tar: not the layer the configuration names
                m.size = len(data)
                dst.addfile(m, io.BytesIO(data))
            else:
                dst.addfile(m, image.extractfile(m) if m.isreg() else None)
    bad = user.home / "bad.tar"
    with tarfile.open(bad, "w") as archive:
        for name, data in (("definition.json", payload), ("image.tar", out.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    _give(user, bad)
    before = {i["Id"] for i in docker_env.api.images(all=True)}
    r = _ds01(user, "mlc", "import", str(bad), f"{session_tag}-bad")
    assert r.exit_code == 2 and "does not match" in r.stderr, r
    assert {i["Id"] for i in docker_env.api.images(all=True)} <= before
    assert not docker_env.api.containers(all=True, filters={"name": f"{session_tag}-bad"}) and _rows() == []


@pytest.mark.parametrize("who", ["sudo", "root"])
@pytest.mark.parametrize("what", ["zero", "fifo", "dir"])
def test_import_of_a_device_fifo_or_folder_is_refused_at_once(setup, who, what):
    user = setup
    if what == "zero":
        path = Path("/dev/zero")
    elif what == "fifo":
        path = user.home / "pipe.tar"
        os.mkfifo(path)
        _give(user, path)
    else:
        path = user.home / "ws"
    started = time.monotonic()
    r = _ds01(user if who == "sudo" else None, "mlc", "import", str(path), "x1", timeout=60)
    assert r.exit_code == 2 and "Cannot import" in r.stderr, r
    assert len(r.stderr.strip().splitlines()) == 1 and time.monotonic() - started < 30


def test_import_stops_at_the_size_cap(cli, setup, monkeypatch):
    from ds01.policy import archives

    user = setup
    big = user.home / "big.tar"
    big.write_bytes(b"\0" * 4096)
    _give(user, big)
    monkeypatch.setattr(archives, "MAX_ARCHIVE_BYTES", 1024)
    r = cli("mlc", "import", str(big), "x2", env=sudo_env(user))
    assert r.exit_code == 2 and "larger than the 1024 bytes" in r.stderr, r


# -- mlc export: written as the caller -----------------------------------------------------------


def test_export_is_written_as_the_caller_only_where_they_may_write(
    setup, docker_env, base_image, session_tag, tmp_path
):
    user = setup
    name = f"{session_tag}-ex"
    assert (
        _ds01(user, "mlc", "create", name, "--image", base_image, "-w", str(user.home / "ws"), "-g", "0").exit_code == 0
    )
    target = Path("/etc") / f"{session_tag}-export.tar"
    r = _ds01(user, "mlc", "export", name, str(target))
    assert r.exit_code == 2 and "Cannot write" in r.stderr, r
    assert not target.exists() and not list(Path("/etc").glob(f".{session_tag}-export*"))
    root_only = tmp_path / "root-only"
    root_only.mkdir(mode=0o700)
    link = user.home / "out"
    link.symlink_to(root_only)
    _give(user, link)
    r = _ds01(user, "mlc", "export", name, str(link / "x.tar"))
    assert r.exit_code == 2 and "Cannot write" in r.stderr, r
    assert list(root_only.iterdir()) == []
    assert not docker_env.api.images(name="ds01-export")
    mine = user.home / "mine.tar"
    assert _ds01(user, "mlc", "export", name, str(mine)).exit_code == 0
    assert (mine.stat().st_uid, mine.stat().st_mode & 0o777) == (user.uid, 0o600)


def test_a_re_imported_container_gets_a_fresh_allocation_not_its_old_labels(setup, docker_env, base_image, session_tag):
    user = setup
    name = f"{session_tag}-rt"
    r = _ds01(user, "mlc", "create", name, "--image", base_image, "-w", str(user.home / "ws"), "-g", "2", "--json")
    assert r.exit_code == 0, r
    old_slots = json.loads(r.stdout)["slots"]
    archive = user.home / "rt.tar"
    assert _ds01(user, "mlc", "export", name, str(archive)).exit_code == 0
    r = _ds01(user, "mlc", "import", str(archive), f"{name}-back", "-g", "1", "--json")
    assert r.exit_code == 0, r
    back = json.loads(r.stdout)
    rows = {r[2]: r for r in _rows()}
    new = rows[back["docker_name"]]
    labels = docker_env.api.inspect_container(back["docker_name"])["Config"]["Labels"]
    assert labels["ds01.gpu.slots"] == new[0] and new[0] not in old_slots and back["slots"] == [new[0]]
    image_labels = docker_env.api.inspect_image(back["image"])["Config"]["Labels"]
    assert not any(k.startswith(("ds01.gpu", "aime.mlc")) for k in image_labels)
