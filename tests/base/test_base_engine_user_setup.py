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
    assert image_etc.load(image_id) is not None  # read once from the container, kept
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
    kept = image_etc.load(image_id)
    assert kept is not None and kept.passwd.startswith("root:")
    marked = image_etc.EtcFacts(kept.passwd + "marker:x:5555:5555::/:/bin/false\n", kept.group, kept.sudoers_d)
    image_etc.save(image_id, marked, shared=False)
    info = engine.create_container(_spec(owner, ws, f"{session_tag}-kp2", base_image))
    removed_after.append(info)
    assert "marker:x:5555" in _file(docker_env, info.id, "/etc/passwd")


def test_an_entry_for_another_image_or_a_broken_one_is_no_entry(tmp_path):
    image_id = "sha256:" + "ab" * 32
    facts = image_etc.EtcFacts("root:x:0:0::/root:/bin/sh\n", "root:x:0:\n", True)
    image_etc.save(image_id, facts, shared=False)
    assert image_etc.load(image_id) == facts
    assert image_etc.load("sha256:" + "cd" * 32) is None
    assert image_etc.load("not an id") is None
    path = next((tmp_path / "state" / "image-etc").iterdir())
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "image_id": "sha256:" + "cd" * 32}))  # says it is another image's
    assert image_etc.load(image_id) is None
    path.write_text("{not json")
    assert image_etc.load(image_id) is None
