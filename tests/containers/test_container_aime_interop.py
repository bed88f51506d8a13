"""Interop with AIME's own ``mlc``: its ``list`` reads every container ds01 makes, and ds01's
``mlc remove`` of an AIME-made container removes the image AIME committed for it.

AIME's ``mlc list`` (v2.2.0) reads ``docker ps`` labels (``key=value`` pairs joined by ``,``) by
splitting on ``,`` and then each piece once on ``=`` into a key and a value: one comma inside a
value raises ``ValueError: not enough values to unpack`` and its listing fails for everyone (or,
when the rest holds a ``=``, reads a wrong value); an ``=`` inside a value is read correctly.
``aime_list_labels`` is that rule, run on the real ``docker ps`` output, and every test compares
what it reads with the labels Docker holds, so a value it would misread fails too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker


def aime_list_labels(line: str) -> dict[str, str]:
    """AIME mlc's parsing of one ``docker ps --format '{{.Labels}}'`` line."""
    labels = {}
    for pair in line.split(","):
        key, value = pair.split("=", 1)
        labels[key] = value
    return labels


def _read_as_aime_does(client, docker_name: str) -> dict[str, str]:
    """AIME's reading of the container's labels, checked against every label Docker holds."""
    labels = aime_list_labels(_docker_ps_labels(docker_name))  # AIME's list does not crash
    assert labels == client.api.inspect_container(docker_name)["Config"]["Labels"]  # nor misreads one
    return labels


def _docker_ps_labels(name: str) -> str:
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", "label=aime.mlc", "--filter", f"name=^{name}$", "--format", "{{.Labels}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line for line in out.splitlines() if line]
    assert len(lines) == 1, out
    return lines[0]


def test_the_rule_reproduced_is_the_one_that_breaks_on_a_comma():
    assert aime_list_labels("aime.mlc=alice,aime.mlc.GPUS=0;1") == {"aime.mlc": "alice", "aime.mlc.GPUS": "0;1"}
    assert aime_list_labels("aime.mlc.WORK_MOUNT=/w/a=b") == {"aime.mlc.WORK_MOUNT": "/w/a=b"}
    with pytest.raises(ValueError, match="not enough values to unpack"):
        aime_list_labels("aime.mlc=alice,ds01.gpu.slots=0,1")
    # a comma followed by an '=' does not crash: the value is read wrong
    assert aime_list_labels("aime.mlc.WORK_MOUNT=/w/a,b=c")["aime.mlc.WORK_MOUNT"] == "/w/a"


@pytest.fixture
def export_dir(cenv):
    """A folder the caller bob may write (pytest's tmp_path is root's, mode 0700)."""
    path = Path(tempfile.mkdtemp(prefix="ds01-aime-"))
    os.chmod(path, 0o700)
    os.chown(path, cenv.uid("bob"), cenv.uid("bob"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _labelled_image(client, base_image: str, cenv) -> str:
    """An image whose Dockerfile gives a label with commas (a container inherits its image's
    labels), allowed by the admin as a base."""
    import io

    ref = f"{cenv.tag}-commalabel:1"
    dockerfile = f'FROM {base_image}\nLABEL org.example.note="a, b,c" org.example.plain="x=y"\n'
    client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=ref, rm=True, labels={"ds01.test.session": cenv.tag}
    )
    text = cenv.config.read_text()
    assert "allowed_base_images: [ds01-base:busybox]" in text
    cenv.config.write_text(text.replace("[ds01-base:busybox]", f"[ds01-base:busybox, {ref}]"))
    return ref


def test_aime_list_reads_every_container_ds01_makes(cli, cenv, as_user, docker_env, base_image, export_dir):
    """Every label value of every kind of container ds01 makes is read by AIME's rule exactly as
    Docker holds it: mounts whose paths hold '=' and spaces, GPU lists, and an image's own label
    with commas (written with ';' on the container)."""
    labelled = _labelled_image(docker_env, base_image, cenv)
    as_user("alice")
    ws = alice_ws = cenv.workspace("alice", "ws=a b")
    data, models = cenv.workspace("alice", "data=1"), cenv.workspace("alice", "models x")
    made = []
    # container create with two GPU slots, every mount, and the labelled image
    r = cli(
        "container", "create", cenv.name("ai-two"), "--image", labelled, "-w", str(ws), "-d", str(data),
        "-m", str(models), "--gpus", "2", "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r
    two = json.loads(r.stdout)
    assert len(two["slots"]) == 2
    made.append(two["docker_name"])
    # mlc create (two slots) and mlc import of its export (two slots again), by bob (a user may
    # hold two slots here)
    as_user("bob")
    ws = cenv.workspace("bob")
    r = cli("mlc", "create", cenv.name("ai-mlc"), "--image", base_image, "-w", str(ws), "-g", "2", "--json")
    assert r.exit_code == 0, r
    made.append(json.loads(r.stdout)["docker_name"])
    archive = export_dir / "ai.tar"
    assert cli("mlc", "export", cenv.name("ai-mlc"), str(archive)).exit_code == 0
    for docker_name in made:
        _read_as_aime_does(docker_env, docker_name)  # checked in full below
    assert cli("mlc", "remove", "-f", cenv.name("ai-mlc")).exit_code == 0
    r = cli("mlc", "import", str(archive), cenv.name("ai-imp"), "-w", str(ws), "-g", "2", "--json")
    assert r.exit_code == 0, r
    made[1] = json.loads(r.stdout)["docker_name"]
    for docker_name, user in zip(made, ("alice", "bob"), strict=True):
        labels = _read_as_aime_does(docker_env, docker_name)
        assert labels["aime.mlc"] == user and labels["aime.mlc.NAME"] == docker_name.split("._.")[0]
        slots = labels["ds01.gpu.slots"].split(";")
        assert len(slots) == 2 and labels["aime.mlc.GPUS"] == labels["ds01.gpu.slots"]
        assert len(labels["ds01.gpu.uuids"].split(";")) == 2
    labels = _read_as_aime_does(docker_env, made[0])
    assert (labels["aime.mlc.WORK_MOUNT"], labels["aime.mlc.DATA_MOUNT"]) == (str(alice_ws), str(data))
    assert labels["aime.mlc.MODELS_MOUNT"] == str(models)
    assert labels["org.example.note"] == "a; b;c" and labels["org.example.plain"] == "x=y"
    assert docker_env.images.get(labelled).labels["org.example.note"] == "a, b,c"  # the image keeps its own
    # ds01 itself reads the new form everywhere: listing, reconcile
    as_user("alice")
    listed = {e["docker_name"]: e for e in json.loads(cli("container", "list", "--json").stdout)}
    assert listed[two["docker_name"]]["gpu_slots"] == two["slots"]
    as_user(None)
    rec = cli("gpu", "reconcile", "--json")
    assert rec.exit_code == 0, rec
    report = json.loads(rec.stdout)
    mine = [c for c in report.get("conflicts", []) if c["container"] in made]  # the engine is shared
    assert not mine and not [r for r in report.get("released", []) if r["container"] in made], rec.stdout
    rows = {r[1] for r in cenv.active_rows()}
    assert set(made) <= rows  # nothing released: reconcile read the slots it recorded


@pytest.mark.parametrize("verb", ["container", "mlc"])
@pytest.mark.parametrize("mount", ["-w", "-d", "-m"])
def test_a_folder_with_a_comma_is_refused_and_nothing_is_made(cli, cenv, as_user, docker_env, base_image, verb, mount):
    """A user creating a container with a workspace, data or models folder whose path holds a ','
    (the path would be its aime.mlc.*_MOUNT label, which AIME shows as it is and cannot read with a
    comma) gets one sentence and exit 2: no container, no GPU slot, no definition. The same folder
    reached through a link without a comma in its own name is refused too (the label holds the real
    path); a path with '=' is fine (AIME reads it exactly; see the test above)."""
    as_user("alice")
    ws = cenv.workspace("alice")
    odd = cenv.workspace("alice", "runs,2024")
    link = cenv.root / "alice-link"
    link.symlink_to(odd)
    name = cenv.name(f"ai-comma-{verb[0]}{mount[1]}")
    gpus = ["--gpus", "1"] if verb == "container" else ["-g", "1"]
    for path in (odd, link):
        args = ["-w", str(path)] if mount == "-w" else ["-w", str(ws), mount, str(path)]
        r = cli(verb, "create", name, "--image", base_image, *args, *gpus)
        assert r.exit_code == 2, r
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "has a ','" in errors[0] and str(odd) in errors[0], r.stderr
        assert "mlc list" in errors[0]
        assert not docker_env.api.containers(all=True, filters={"name": name}) and cenv.active_rows() == []
        assert json.loads(cli("container", "list", "--json").stdout) == []  # no definition either


def test_a_comma_label_written_before_is_still_read(cenv, docker_env, base_image):
    from ds01.gpu.reconcile import view_from_labels
    from ds01.units.containers.common import gpu_slots_label

    old = {"ds01.user": "alice", "ds01.gpu.slots": "0,1", "ds01.gpu.uuids": "GPU-a,GPU-b"}
    new = {"ds01.user": "alice", "ds01.gpu.slots": "0;1", "ds01.gpu.uuids": "GPU-a;GPU-b"}
    assert view_from_labels("x._.1", "running", old).slots == view_from_labels("x._.1", "running", new).slots
    assert gpu_slots_label(old) == gpu_slots_label(new) == ["0", "1"]


def _aime_made(client, base_image: str, repo: str, docker_name: str, ws: Path, uid: int):
    """A container made as AIME's mlc makes one: its image committed for it and tagged with its name."""
    short = docker_name.split("._.")[0]
    setup = client.containers.create(base_image, ["true"], name=f"{docker_name}-setup")
    setup.commit(repo, docker_name)  # an image of its own, as AIME's commit makes
    setup.remove()
    labels = {
        "aime.mlc": "alice",
        "aime.mlc.NAME": short,
        "aime.mlc.USER": "alice",
        "aime.mlc.ARCH": "CUDA_ADA",
        "aime.mlc.MLC_VERSION": "4",
        "aime.mlc.WORK_MOUNT": str(ws),
        "aime.mlc.DATA_MOUNT": "-",
        "aime.mlc.MODELS_MOUNT": "-",
        "aime.mlc.FRAMEWORK": "Pytorch-2.5.0",
        "aime.mlc.GPUS": "all",
    }
    return client.containers.create(
        f"{repo}:{docker_name}",
        ["sleep", "3600"],
        name=docker_name,
        labels=labels,
        user=f"{uid}:{uid}",
        working_dir="/workspace",
    )


def test_mlc_remove_of_an_aime_container_removes_its_committed_image(cli, cenv, as_user, docker_env, base_image):
    import docker.errors

    as_user("alice")
    uid = cenv.uid("alice")
    repo = f"{cenv.tag}-aimehub/pytorch-2.5.0"
    ws = cenv.workspace("alice")
    solo = cenv.docker_name("aime-solo", "alice")
    _aime_made(docker_env, base_image, repo, solo, ws, uid)
    r = cli("mlc", "remove", cenv.name("aime-solo"))
    assert r.exit_code == 0, r
    assert "AIME" in r.stderr and f"{repo}:{solo}" in r.stderr
    with pytest.raises(docker.errors.ImageNotFound):
        docker_env.images.get(f"{repo}:{solo}")
    assert docker_env.images.get(base_image)  # the image it came from stays
    # An image another container still uses is kept.
    shared = cenv.docker_name("aime-shared", "alice")
    _aime_made(docker_env, base_image, repo, shared, ws, uid)
    other = docker_env.containers.create(f"{repo}:{shared}", ["sleep", "3600"], name=f"{cenv.tag}-aime-other")
    try:
        r = cli("mlc", "remove", cenv.name("aime-shared"))
        assert r.exit_code == 0, r
        assert "Kept the image" in r.stderr
        assert docker_env.images.get(f"{repo}:{shared}")
    finally:
        other.remove(force=True)
        docker_env.images.remove(f"{repo}:{shared}")
