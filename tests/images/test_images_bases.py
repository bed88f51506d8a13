"""``ds01 image bases``: the server's base images (catalog images present here, then the admin's
``security.allowed_base_images``), decided by the same image rule as builds, on the real engine."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from ds01.base.docker_client import reset_client

DESCRIPTION = "Testfw 1.0 on busybox\x1b[2J with a stand-in pip"


@pytest.fixture(autouse=True)
def _fresh_client():
    reset_client()
    yield
    reset_client()


def _build(client, tag: str, session_tag: str, labels: dict[str, str] | None = None) -> str:
    image, _ = client.images.build(
        fileobj=io.BytesIO(b"FROM ds01-base:busybox\n"),
        tag=tag,
        rm=True,
        labels={"ds01.test.session": session_tag, **(labels or {})},
    )
    return image.id


def write_config(folder: Path, session_tag: str) -> Path:
    """A config whose catalog has a row for an image present here and one for an absent image, and
    whose admin allows the offline base plus one image that is not here."""
    folder.mkdir(parents=True, exist_ok=True)
    catalog = folder / "ml_images.repo"
    catalog.write_text(
        f"Testfw, 1.0, [CUDA_ADA;CUDA_AMPERE], {session_tag}-fw:1.0\n"
        f"Testfw, 0.9, [CUDA_ADA], {session_tag}-nothere:0.9\n"
    )
    topology = folder / "bases-topology.yaml"
    topology.write_text("gpus:\n  - name: NVIDIA A100-SXM4-80GB\n    memory: 80g\n    mig: null\n")
    cfg = folder / "resource-limits.yaml"
    cfg.write_text(
        "defaults:\n  max_mig_instances: 2\nadmins: [root]\n"
        f"gpu_allocation:\n  inventory: simulated\n  topology: {topology}\n"
        f"security:\n  allowed_base_images: [ds01-base:busybox, {session_tag}-absent:1]\n"
        f"images:\n  aime_catalog: {catalog}\n"
    )
    return cfg


@pytest.fixture
def bases_config(tmp_path, monkeypatch, docker_env, session_tag):
    cfg = write_config(tmp_path / "cfg", session_tag)
    monkeypatch.setenv("DS01_CONFIG", str(cfg))
    _build(docker_env, f"{session_tag}-fw:1.0", session_tag, {"org.opencontainers.image.description": DESCRIPTION})
    _build(docker_env, f"{session_tag}-plain:1", session_tag)  # here, but neither catalog nor allowed
    return cfg


def test_bases_json_lists_catalog_images_present_and_allowed_ones(cli, bases_config, session_tag):
    r = cli("image", "bases", "--json")
    assert r.exit_code == 0, r
    found = {b["ref"]: b for b in json.loads(r.stdout)}
    fw = found[f"{session_tag}-fw:1.0"]
    assert fw["source"] == "catalog" and fw["present"] is True
    assert (fw["framework"], fw["version"], fw["archs"]) == ("Testfw", "1.0", ["CUDA_ADA", "CUDA_AMPERE"])
    assert fw["size"] > 0 and fw["image_id"].startswith("sha256:")
    # What it contains: its catalog row, then its description label with the escape sequence dropped.
    assert fw["contains"].startswith("Testfw 1.0 for CUDA_ADA, CUDA_AMPERE; Testfw 1.0 on busybox")
    assert "\x1b" not in fw["contains"]
    busybox = found["ds01-base:busybox"]
    assert busybox["source"] == "allowed" and busybox["present"] is True
    assert found[f"{session_tag}-absent:1"]["present"] is False  # allowed by the admin, not here
    assert f"{session_tag}-nothere:0.9" not in found  # a catalog row whose image is not here
    assert f"{session_tag}-plain:1" not in found  # here, but not a base image of the server
    refs = list(found)
    assert refs.index(f"{session_tag}-fw:1.0") < refs.index("ds01-base:busybox")  # catalog first

    r = cli("image", "bases")
    assert r.exit_code == 0, r
    assert f"{session_tag}-fw:1.0" in r.stdout and "ds01-base:busybox" in r.stdout
    assert "\x1b" not in r.stdout and "docker" not in r.output.replace("ds01", "")
    assert "ds01 image create PROJECT --base-image" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="creates a host user")
def test_another_users_image_under_a_catalog_name_is_not_offered(cli, bases_config, docker_env, session_tag):
    """ds01 recorded the catalog-named image as built for another user: the image rule refuses it
    to this user, so the list leaves it out (and says nothing about whose it is)."""
    from ds01.base import images as docker_images
    from support.users import make_user, sudo_env

    image_id = docker_env.images.get(f"{session_tag}-fw:1.0").id
    with make_user() as student:
        r = cli("image", "bases", "--json", env=sudo_env(student))
        assert r.exit_code == 0, r
        assert f"{session_tag}-fw:1.0" in [b["ref"] for b in json.loads(r.stdout)]
        docker_images.record_owner(
            image_id, uid=student.uid + 1, user="someone", project="x", labels={}, dockerfile="/nowhere", shared=False
        )
        try:
            r = cli("image", "bases", "--json", env=sudo_env(student))
        finally:
            docker_images.forget_owner(image_id)
        assert r.exit_code == 0, r
        refs = [b["ref"] for b in json.loads(r.stdout)]
        assert f"{session_tag}-fw:1.0" not in refs and "ds01-base:busybox" in refs
        assert "someone" not in r.output


def test_no_bases_says_whom_to_ask(cli, tmp_path, monkeypatch, docker_env, session_tag):
    cfg = tmp_path / "cfg" / "resource-limits.yaml"
    write_config(cfg.parent, session_tag)
    cfg.write_text(cfg.read_text().replace(f"[ds01-base:busybox, {session_tag}-absent:1]", "[]"))
    (cfg.parent / "ml_images.repo").write_text("")  # and no catalog image of its own
    monkeypatch.setenv("DS01_CONFIG", str(cfg))
    r = cli("image", "bases")
    assert r.exit_code == 0, r
    assert "ask your admin" in r.output and "docker" not in r.output.replace("ds01", "")
