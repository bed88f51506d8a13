"""Attacks on the image commands, run under sudo by real users against the real engine.

- ``~/dockerfiles`` a symlink to a root-only folder: root must create nothing there.
- ``--requirements /etc/shadow`` (directly and through a symlink): read as root, a line echoed.
- The build context packed by root: a symlink into another user's private project folder
  makes root build that user's recipe and files into the attacker's image.
- Images crossing users: another user's project image as ``--base-image``, in a hand-written
  ``FROM``/``COPY --from=``, or behind a variable.
- Ownership by label: an image labelled ``ds01.user=<victim>`` that ds01 never built for them.
- A Dockerfile that writes ds01's labels (``LABEL ds01.gpu.slots="0"``).
- ``image delete --force`` by an image's owner removing another user's container.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import tarfile
from pathlib import Path

import pytest

from ds01.base.docker_client import reset_client
from support.cli import run_process
from support.users import make_user, sudo_env, world_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="attacks through sudo need root")

MINIMAL = ("--use-case", "custom", "--no-jupyter", "--no-data-science")


@pytest.fixture(autouse=True)
def _fresh_client():
    reset_client()
    yield
    reset_client()


@pytest.fixture
def two_users():
    with make_user("ds01att") as attacker, make_user("ds01vic") as victim:
        yield attacker, victim


def _shadow_lines() -> list[str]:
    return [line for line in Path("/etc/shadow").read_text().splitlines() if line.strip()]


def _as(user, path: Path, *, mode: int | None = None) -> Path:
    os.lchown(path, user.uid, user.gid)
    if mode is not None:
        os.chmod(path, mode)
    return path


def test_a_dockerfiles_symlink_to_a_root_only_folder_gets_nothing_created(
    cli, docker_env, base_image, session_tag, two_users
):
    attacker, _ = two_users
    target = world_dir() / "root-only"
    target.mkdir(mode=0o700)
    (attacker.home / "dockerfiles").symlink_to(target)
    project = f"{session_tag}-symdf"
    r = run_process(
        "image", "create", project, "--base-image", base_image, *MINIMAL, "--no-build", env=sudo_env(attacker)
    )
    assert r.exit_code != 0, r
    assert "Permission denied" in r.stderr and "Traceback" not in r.stderr
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("via_symlink", [False, True])
def test_requirements_of_a_file_the_caller_cannot_read_are_not_read(
    cli, docker_env, base_image, session_tag, two_users, via_symlink
):
    attacker, _ = two_users
    source = Path("/etc/shadow")
    if via_symlink:
        source = attacker.home / "req.txt"
        source.symlink_to("/etc/shadow")
    project = f"{session_tag}-shadow"
    r = run_process(
        "image",
        "create",
        project,
        "--base-image",
        base_image,
        *MINIMAL,
        "--requirements",
        str(source),
        "--no-build",
        env=sudo_env(attacker),
    )
    assert r.exit_code == 2, r
    assert "Permission denied" in r.stderr
    for line in _shadow_lines():
        assert line.split(":", 1)[0] + ":" not in r.output
    assert not (attacker.home / "dockerfiles" / project).exists()


def test_the_build_context_is_packed_with_the_callers_rights(cli, docker_env, base_image, session_tag, two_users):
    """A symlink in the attacker's ~/dockerfiles to the victim's private project folder: root used to
    read the victim's Dockerfile and files and build them into the attacker's image."""
    attacker, victim = two_users
    private = victim.home / "private"
    private.mkdir()
    _as(victim, private, mode=0o700)
    secret = f"victim-secret-{secrets.token_hex(4)}"
    (private / "secret.txt").write_text(secret + "\n")
    (private / "Dockerfile").write_text(f"FROM {base_image}\nCOPY secret.txt /secret.txt\n")
    for path in (private / "secret.txt", private / "Dockerfile"):
        _as(victim, path, mode=0o600)
    (attacker.home / "dockerfiles").mkdir()
    _as(attacker, attacker.home / "dockerfiles")
    project = f"{session_tag}-ctx"
    (attacker.home / "dockerfiles" / project).symlink_to(private)

    r = run_process("image", "update", project, "--build", "--yes", env=sudo_env(attacker))
    assert r.exit_code != 0, r
    assert secret not in r.output
    assert docker_env.images.list(name=f"{project}-image") == []


def test_another_users_project_image_is_never_a_base(cli, docker_env, base_image, session_tag, two_users):
    attacker, victim = two_users
    vproject = f"{session_tag}-vic"
    r = cli("image", "create", vproject, "--base-image", base_image, *MINIMAL, "--yes", env=sudo_env(victim))
    assert r.exit_code == 0, r
    victims = f"{vproject}-image"

    project = f"{session_tag}-att"
    env = sudo_env(attacker)
    for ref in (victims, f"{victims}:latest", docker_env.images.get(victims).id):
        r = cli("image", "create", project, "--base-image", ref, *MINIMAL, "--no-build", env=env)
        assert r.exit_code == 3, r
        assert "another user's project image" in r.stderr and victim.name not in r.stderr
        assert not (attacker.home / "dockerfiles" / project).exists()

    # A Dockerfile of the attacker's own that reaches the victim's image by hand.
    r = cli("image", "create", project, "--base-image", base_image, *MINIMAL, "--no-build", env=env)
    assert r.exit_code == 0, r
    dockerfile = attacker.home / "dockerfiles" / project / "Dockerfile"
    for text in (
        f"FROM {victims}\n",
        f"FROM {base_image}\nCOPY --from={victims} /etc/hostname /stolen\n",
        f"FROM {base_image} AS one\nFROM {victims}:latest\n",
    ):
        dockerfile.write_text(text)
        r = cli("image", "update", project, "--build", "--yes", env=env)
        assert r.exit_code == 3, (text, r)
        assert docker_env.images.list(name=f"{project}-image") == []
    dockerfile.write_text(f"ARG B={victims}\nFROM $B\n")
    r = cli("image", "update", project, "--build", "--yes", env=env)
    assert r.exit_code == 2 and "variable" in r.stderr, r
    assert docker_env.images.list(name=f"{project}-image") == []


def test_a_label_does_not_make_an_image_someones(cli, docker_env, base_image, session_tag, two_users):
    """An image labelled as the victim's (an imported archive, a docker-group user's build) is not theirs:
    it is not listed for them, they cannot build on it, and its name is not theirs to build over."""
    _, victim = two_users
    squat = f"{session_tag}-squat"
    dockerfile = (
        f"FROM {base_image}\nLABEL ds01.managed=true ds01.user={victim.name} ds01.uid={victim.uid} "
        f"ds01.project={squat} ds01.test.session={session_tag}\n"
    )
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    docker_env.images.build(
        fileobj=context, custom_context=True, tag=f"{squat}-image:latest", pull=False, rm=True, forcerm=True
    )

    env = sudo_env(victim)
    listed = json.loads(cli("image", "list", "--json", env=env).stdout)
    assert all(i["project"] != squat for i in listed)
    r = cli("image", "create", f"{session_tag}-v2", "--base-image", f"{squat}-image", *MINIMAL, "--no-build", env=env)
    assert r.exit_code == 3, r
    r = cli("image", "create", squat, "--base-image", base_image, *MINIMAL, "--no-build", env=env)
    assert r.exit_code == 3 and "did not build for you" in r.stderr, r


def test_a_dockerfile_cannot_write_ds01_labels(cli, docker_env, base_image, session_tag, two_users):
    attacker, _ = two_users
    env = sudo_env(attacker)
    project = f"{session_tag}-lbl"
    r = cli("image", "create", project, "--base-image", base_image, *MINIMAL, "--yes", env=env)
    assert r.exit_code == 0, r
    first = docker_env.images.get(f"{project}-image").id
    dockerfile = attacker.home / "dockerfiles" / project / "Dockerfile"
    original = dockerfile.read_text()
    for line in (
        'LABEL ds01.gpu.slots="0"',
        'LABEL "aime.mlc.GPUS"=all',
        "LABEL ds01.user other",
        'LABEL ds01.uid="0"',
    ):
        dockerfile.write_text(original + line + "\n")
        r = cli("image", "update", project, "--build", "--yes", env=env)
        assert r.exit_code == 3, (line, r)
        assert "ds01" in r.stderr and "LABEL" in r.stderr
        assert docker_env.images.get(f"{project}-image").id == first


def test_delete_force_never_removes_another_users_container(cli, docker_env, base_image, session_tag, two_users):
    owner, other = two_users
    project = f"{session_tag}-shared"
    r = cli("image", "create", project, "--base-image", base_image, *MINIMAL, "--yes", env=sudo_env(owner))
    assert r.exit_code == 0, r
    image = docker_env.images.get(f"{project}-image")
    # The other user's container on that image (made before images stopped crossing users).
    theirs = docker_env.containers.create(
        image.id,
        ["sleep", "60"],
        name=f"{session_tag}-theirs._.{other.uid}",
        labels={"aime.mlc": other.name, "ds01.test.session": session_tag},
    )
    r = cli("image", "delete", project, "--force", "--yes", env=sudo_env(owner))
    assert r.exit_code == 3, r
    assert "nothing was deleted" in r.stderr and other.name not in r.stderr
    assert docker_env.containers.get(theirs.id)
    assert docker_env.images.get(f"{project}-image").id == image.id

    # The owner's own container (named and labelled for them) is removed with --force.
    theirs.remove(force=True)
    mine = docker_env.containers.create(
        image.id,
        ["sleep", "60"],
        name=f"{session_tag}-mine._.{owner.uid}",
        labels={"aime.mlc": owner.name, "ds01.test.session": session_tag},
    )
    r = cli("image", "delete", project, "--force", "--yes", env=sudo_env(owner))
    assert r.exit_code == 0, r
    import docker.errors

    with pytest.raises(docker.errors.NotFound):
        docker_env.containers.get(mine.id)
