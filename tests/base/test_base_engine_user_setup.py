"""The user setup of a new container: what it asks the engine, and what it keeps per image."""

from __future__ import annotations

import json

import pytest

from ds01.base import container_spec, engine, engine_api, image_etc


@pytest.fixture
def removed_after(docker_env):
    """Containers a test makes, removed when it ends (the owner's quota is shared by the file's
    neighbours)."""
    made: list = []
    yield made
    for info in made:
        docker_env.api.remove_container(info.id, force=True)


def _spec(owner, ws, name, image):
    return container_spec.ContainerSpec(
        name=name, owner=owner, image=image, workspace=ws, arch="CUDA", custom_image=True, security_mode="group"
    )


def _file(docker_env, cid: str, path: str) -> str:
    from ds01.base.users import read_single_file

    stream, _ = docker_env.api.get_archive(cid, path)
    return read_single_file(b"".join(stream)).decode()


def _requests(monkeypatch) -> list[str]:
    sent: list[str] = []
    real = engine_api.request

    def spy(method: str, path: str, **kw):
        sent.append(f"{method} {path}")
        return real(method, path, **kw)

    monkeypatch.setattr(engine_api, "request", spy)
    return sent


def test_a_create_is_four_requests_once_the_image_is_known(
    docker_env, base_image, session_tag, owner, owned_dir, monkeypatch, removed_after
):
    ws = owned_dir("ws")
    first = engine.create_container(_spec(owner, ws, f"{session_tag}-us1", base_image))
    removed_after.append(first)
    image_id = docker_env.api.inspect_image(base_image)["Id"]
    assert image_etc.load(image_id, shared=True) is not None  # read once from the container, kept
    sent = _requests(monkeypatch)
    second = engine.create_container(_spec(owner, ws, f"{session_tag}-us2", base_image))
    removed_after.append(second)
    # The image (labels), the create, the container (the image it was made from), one write.
    assert sent == [
        f"GET /images/{base_image}/json",
        "POST /containers/create",
        f"GET /containers/{second.id}/json",
        f"PUT /containers/{second.id}/archive",
    ]
    for info in (first, second):
        passwd = _file(docker_env, info.id, "/etc/passwd")
        assert f"{owner.name}:x:{owner.uid}:{owner.gid}:" in passwd and passwd.startswith("root:")
        assert f":{owner.gid}:" in _file(docker_env, info.id, "/etc/group")
        home = docker_env.api.get_archive(info.id, str(owner.home))[1]
        assert home["mode"] & 0o777 == 0o755
    assert _file(docker_env, first.id, "/etc/passwd") == _file(docker_env, second.id, "/etc/passwd")


def test_what_is_kept_for_an_image_is_what_the_next_container_starts_from(
    docker_env, base_image, session_tag, owner, owned_dir, removed_after
):
    ws = owned_dir("ws")
    removed_after.append(engine.create_container(_spec(owner, ws, f"{session_tag}-kp1", base_image)))
    image_id = docker_env.api.inspect_image(base_image)["Id"]
    kept = image_etc.load(image_id, shared=True)
    assert kept is not None and kept.passwd.startswith("root:")
    marked = image_etc.EtcFacts(kept.passwd + "marker:x:5555:5555::/:/bin/false\n", kept.group, kept.sudoers_d)
    image_etc.save(image_id, marked, shared=True)
    info = engine.create_container(_spec(owner, ws, f"{session_tag}-kp2", base_image))
    removed_after.append(info)
    assert "marker:x:5555" in _file(docker_env, info.id, "/etc/passwd")


def test_an_entry_for_another_image_or_a_broken_one_is_no_entry(tmp_path):
    image_id = "sha256:" + "ab" * 32
    facts = image_etc.EtcFacts("root:x:0:0::/root:/bin/sh\n", "root:x:0:\n", True)
    image_etc.save(image_id, facts, shared=False)
    assert image_etc.load(image_id, shared=False) == facts
    assert image_etc.load("sha256:" + "cd" * 32, shared=False) is None
    assert image_etc.load("not an id", shared=False) is None
    path = next((tmp_path / "state" / "image-etc").iterdir())
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "image_id": "sha256:" + "cd" * 32}))  # says it is another image's
    assert image_etc.load(image_id, shared=False) is None
    path.write_text("{not json")
    assert image_etc.load(image_id, shared=False) is None


def _own_image(docker_env, base_image: str, ref: str) -> str:
    """A new image (its own id) tagged ``ref``: a commit of a container of the base image."""
    from dev import engine as dev_engine

    cid = docker_env.api.create_container(base_image, ["true"], labels={dev_engine.TEST_LABEL: ref})["Id"]
    try:
        repo, tag = ref.rsplit(":", 1)
        return str(docker_env.api.commit(cid, repository=repo, tag=tag, changes=[f"LABEL marker={ref}"])["Id"])
    finally:
        docker_env.api.remove_container(cid, force=True)


def _kept_after_a_create(docker_env, owner, ws, name: str, ref: str) -> str:
    image_id = docker_env.api.inspect_image(ref)["Id"]
    info = engine.create_container(_spec(owner, ws, name, ref))
    docker_env.api.remove_container(info.id, force=True)
    assert image_etc.load(image_id, shared=True) is not None
    return image_id


def test_what_is_kept_for_an_image_goes_when_ds01_deletes_it(
    docker_env, base_image, session_tag, owner, owned_dir, tmp_path
):
    from ds01.base import images

    ws = owned_dir("ws")
    folder = tmp_path / "state" / "image-etc"
    by_tag = f"{session_tag}-etc1:latest"
    by_id = f"{session_tag}-etc2:latest"
    _own_image(docker_env, base_image, by_tag)
    _own_image(docker_env, base_image, by_id)
    base_id = _kept_after_a_create(docker_env, owner, ws, f"{session_tag}-et0", base_image)
    tag_id = _kept_after_a_create(docker_env, owner, ws, f"{session_tag}-et1", by_tag)
    id_id = _kept_after_a_create(docker_env, owner, ws, f"{session_tag}-et2", by_id)
    images.remove_tag(by_tag)  # its last tag: the image goes, and what was kept for it
    assert image_etc.load(tag_id, shared=True) is None
    images.remove_image(id_id)
    assert image_etc.load(id_id, shared=True) is None
    assert image_etc.load(base_id, shared=True) is not None  # another image's stays
    assert sorted(p.name.split(".")[0] for p in folder.iterdir()) == [base_id.split(":")[1]]


def test_the_lifecycle_pass_drops_what_was_kept_for_images_deleted_behind_ds01s_back(
    docker_env, base_image, session_tag, owner, owned_dir, tmp_path
):
    from ds01.limits.config import load_config
    from ds01.orchestrators.lifecycle import run_pass

    def lifecycle_pass(*, dry_run: bool) -> None:
        # Other sessions' containers on this engine are left alone: none is this pass's to judge
        # (reconcile may still warn about them).
        report = run_pass(load_config(), dry_run=dry_run, only=lambda _name: False)
        assert not report.skipped and report.failed == [], report
        assert not any("pruned" in w for w in report.warnings), report

    ws = owned_dir("ws")
    ref = f"{session_tag}-etc3:latest"
    _own_image(docker_env, base_image, ref)
    base_id = _kept_after_a_create(docker_env, owner, ws, f"{session_tag}-et3", base_image)
    gone_id = _kept_after_a_create(docker_env, owner, ws, f"{session_tag}-et4", ref)
    docker_env.api.remove_image(ref)  # `docker rmi`: ds01 is not told
    assert image_etc.load(gone_id, shared=True) is not None
    unrelated = tmp_path / "state" / "image-etc" / "notes.txt"
    unrelated.write_text("not an entry\n")
    lifecycle_pass(dry_run=True)
    assert image_etc.load(gone_id, shared=True) is not None  # a dry run changes nothing
    lifecycle_pass(dry_run=False)
    assert image_etc.load(gone_id, shared=True) is None
    assert image_etc.load(base_id, shared=True) is not None and unrelated.exists()
