"""The Docker adapter's listing: the standard-library fast path answers exactly what the SDK does."""

from __future__ import annotations

import pytest

from ds01.base import docker_client as dc
from ds01.base.container_info import info_from_api
from ds01.errors import DockerUnavailable


def test_fast_listing_matches_the_sdk(docker_env, base_image, session_tag):
    labels = {"ds01.test.session": session_tag, "ds01.user": "lister", "aime.mlc": "lister"}
    made = [
        docker_env.containers.create(base_image, ["true"], name=f"{session_tag}-list-{i}", labels=labels)
        for i in range(3)
    ]
    try:
        fast = dc.list_containers([f"ds01.test.session={session_tag}", "ds01.user=lister"])
        raw = dc.api().containers(all=True, filters={"label": [f"ds01.test.session={session_tag}", "ds01.user=lister"]})
        assert sorted(fast, key=lambda c: c.id) == sorted((info_from_api(r) for r in raw), key=lambda c: c.id)
        assert {c.docker_name for c in fast} == {c.name for c in made}
        assert all(c.size_root_fs is None for c in fast)
        assert all(c.size_root_fs for c in dc.list_containers([f"ds01.test.session={session_tag}"], size=True))
        assert dc.list_containers(["ds01.user=nobody-has-this-label"]) == []
    finally:
        for c in made:
            c.remove(force=True)


def test_fast_listing_on_a_missing_socket_is_exit_5(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    with pytest.raises(DockerUnavailable) as err:
        dc.list_containers()
    assert f"{tmp_path}/no.sock" in err.value.message
