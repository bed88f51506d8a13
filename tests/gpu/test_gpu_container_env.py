"""GPU visibility on the real Docker engine: ds01 always sets NVIDIA_VISIBLE_DEVICES itself (the slot
UUIDs, or void), whatever the image, an archive or a saved definition says; a Docker engine without
the NVIDIA device driver is named as such (exit 6)."""

from __future__ import annotations

import io
import os

import pytest

from ds01.base import container_defs, container_spec, engine
from ds01.errors import ExitCode, GpuLibraryError
from ds01.identity import Identity

UID = GID = 4242


def _env(client, cid) -> dict[str, str]:
    attrs = client.api.inspect_container(cid)
    return dict(e.split("=", 1) for e in attrs["Config"]["Env"])


@pytest.fixture
def leaky_image(docker_env, base_image, session_tag):
    """An image that, like every NGC image, says NVIDIA_VISIBLE_DEVICES=all."""
    tag = f"ds01-{session_tag}-leaky:1"
    docker_env.images.build(
        fileobj=io.BytesIO(
            f"FROM {base_image}\nENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_MIG_MONITOR_DEVICES=all\n".encode()
        ),
        tag=tag,
        rm=True,
        labels={"ds01.test.session": session_tag},
    )
    yield tag
    docker_env.images.remove(tag, force=True)


@pytest.fixture
def owner(tmp_path):
    home = tmp_path / "home"
    ws = home / "workspace"
    ws.mkdir(parents=True)
    for p in (home, ws):
        os.chown(p, UID, GID)
    return Identity(name="mlcuser", uid=UID, gid=GID, home=home, via_sudo=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="creates containers for another uid")
def test_image_all_never_survives_create_or_recreate(docker_env, leaky_image, session_tag, owner):
    spec = container_spec.ContainerSpec(
        name=f"{session_tag}-vis",
        owner=owner,
        image=leaky_image,
        workspace=owner.home / "workspace",
        custom_image=True,
        device_uuids=("MIG-11111111-2222-3333-4444-555555555555",),
        device_requests=True,
    )
    made: list[str] = []
    try:
        info = engine.create_container(spec)
        made.append(info.id)
        env = _env(docker_env, info.id)
        # with a device request ds01 used to set nothing, and the image's "all" reached the toolkit
        assert env["NVIDIA_VISIBLE_DEVICES"] == "MIG-11111111-2222-3333-4444-555555555555"
        assert env["NVIDIA_MIG_MONITOR_DEVICES"] == ""
        defn = container_defs.definition_from_inspect(docker_env.api.inspect_container(info.id))
        engine.remove_container(info, force=True)
        made.remove(info.id)
        # recreated CPU-only: the saved environment carries the image's "all"; it must become void
        again = container_defs.recreate_from_definition(
            defn, owner=owner, overrides={"device_uuids": (), "device_requests": False}
        )
        made.append(again.id)
        assert _env(docker_env, again.id)["NVIDIA_VISIBLE_DEVICES"] == "void"
        engine.remove_container(again, force=True)
        made.remove(again.id)
        # recreated onto two new slots: exactly those, joined by ','
        two = container_defs.recreate_from_definition(
            defn,
            owner=owner,
            overrides={
                "device_uuids": ("GPU-aaaa", "GPU-bbbb"),
                "device_requests": False,
                "env": {"NVIDIA_VISIBLE_DEVICES": "all"},
            },
        )
        made.append(two.id)
        assert _env(docker_env, two.id)["NVIDIA_VISIBLE_DEVICES"] == "GPU-aaaa,GPU-bbbb"
    finally:
        for cid in made:
            docker_env.api.remove_container(cid, force=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="creates containers for another uid")
def test_no_nvidia_device_driver_is_exit_6_with_the_fix(docker_env, base_image, session_tag, owner):
    if "nvidia" in (docker_env.api.info().get("Runtimes") or {}):
        pytest.skip("this engine has the NVIDIA runtime")
    spec = container_spec.ContainerSpec(
        name=f"{session_tag}-nodrv",
        owner=owner,
        image=base_image,
        workspace=owner.home / "workspace",
        custom_image=True,
        device_uuids=("GPU-x",),
        device_requests=True,
    )
    with pytest.raises(GpuLibraryError) as err:
        engine.create_container(spec, start=True)
    assert err.value.exit_code == ExitCode.GPU_LIBRARY
    assert "no NVIDIA device driver" in err.value.message and "nvidia-ctk runtime configure" in err.value.hint
    names = [c.name for c in docker_env.containers.list(all=True, sparse=True)]
    assert not any(f"{session_tag}-nodrv" in (n or "") for n in names)
