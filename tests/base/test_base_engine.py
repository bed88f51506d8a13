"""The mlc engine against the real Docker engine: create, user inside, lifecycle, failures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ds01.base import container_defs, container_spec, engine, execs, stats
from ds01.base import docker_client as dc
from ds01.errors import (
    DockerUnavailable,
    ExitCode,
    GpuLibraryError,
    NotFound,
    OperationFailed,
    PolicyRefused,
    UsageError,
)


def _spec(owner, ws, name, image, **kw):
    return container_spec.ContainerSpec(
        name=name, owner=owner, image=image, workspace=ws, arch="CUDA", custom_image=kw.pop("custom_image", True), **kw
    )


def _names(client, tag):
    return sorted(c.name for c in client.containers.list(all=True, sparse=True) if tag in (c.name or ""))


def _run(info, owner, argv):
    out: list[bytes] = []
    code = execs.run_command(info, owner, argv, out=out.append, err=out.append)
    return code, b"".join(out).decode()


def test_create_runs_as_the_caller_with_labels_limits_and_workspace(
    docker_env, base_image, session_tag, owner, owned_dir
):
    ws, data = owned_dir("ws"), owned_dir("data")
    spec = _spec(
        owner,
        ws,
        f"{session_tag}-full",
        base_image,
        data=data,
        gpus_label="1",
        resources={"nano_cpus": 500_000_000, "mem_limit": 64 * 2**20, "pids_limit": 100},
        device_uuids=("GPU-aaaa",),
        extra_labels={"ds01.group": "student", "ds01.gpu.uuids": "GPU-aaaa"},
    )
    info = engine.create_container(spec, start=True)
    assert info.docker_name == f"{session_tag}-full._.4242" and info.running
    attrs = docker_env.api.inspect_container(info.id)
    labels = attrs["Config"]["Labels"]
    for key in (
        "aime.mlc",
        "aime.mlc.NAME",
        "aime.mlc.USER",
        "aime.mlc.ARCH",
        "aime.mlc.WORK_MOUNT",
        "aime.mlc.DATA_MOUNT",
        "aime.mlc.MODELS_MOUNT",
        "aime.mlc.FRAMEWORK",
        "aime.mlc.GPUS",
    ):
        assert key in labels
    assert labels["aime.mlc.MLC_VERSION"] == "4" and labels["aime.mlc.DS01_MANAGED"] == "true"
    assert labels["aime.mlc.CUSTOM_IMAGE"] == base_image and labels["ds01.group"] == "student"
    assert labels["ds01.user"] == "mlcuser" and labels["ds01.uid"] == "4242" and labels["ds01.created_at"]
    host = attrs["HostConfig"]
    assert host["Privileged"] is False and host["IpcMode"] == "private" and not host["Devices"]
    assert (host["NanoCpus"], host["Memory"], host["PidsLimit"]) == (500_000_000, 64 * 2**20, 100)
    assert "NVIDIA_VISIBLE_DEVICES=GPU-aaaa" in attrs["Config"]["Env"]
    code, out = _run(info, owner, ["sh", "-c", "id; echo $HOME; pwd; touch /workspace/made-inside; ls /data"])
    assert code == 0
    assert "uid=4242(mlcuser) gid=4242(mlcuser)" in out and "sudo" in out and "video" in out
    assert f"{owner.home}\n/workspace\n" in out
    assert (ws / "made-inside").stat().st_uid == 4242
    code, out = _run(info, owner, ["stat", "-c", "%u:%g", str(owner.home)])
    assert out.strip() == "4242:4242"
    assert engine.stop_container(engine.refresh(info)) is True
    assert engine.stop_container(engine.refresh(info)) is False  # already stopped: fine
    assert engine.remove_container(engine.refresh(info)) is True
    assert engine.remove_container(info, force=True) is False  # already gone (404): fine


def test_every_create_failure_leaves_nothing_behind(docker_env, base_image, session_tag, owner, owned_dir, tmp_path):
    ws = owned_dir("ws")
    before = _names(docker_env, session_tag)
    cases = [
        (_spec(owner, ws, "bad#name", base_image), UsageError, "cannot be a container name"),
        (_spec(owner, ws, f"{session_tag}-img", f"ds01-missing-{session_tag}:none"), UsageError, "local images only"),
        (_spec(owner, tmp_path / "nope", f"{session_tag}-nows", base_image), UsageError, "cannot be used"),
        (_spec(owner, owned_dir("theirs", uid=4343), f"{session_tag}-theirs", base_image), PolicyRefused, "not yours"),
        (
            _spec(owner, ws, f"{session_tag}-lbl", base_image, extra_labels={"ds01.user": "root"}),
            UsageError,
            "set by ds01",
        ),
        (
            _spec(owner, ws, f"{session_tag}-pull", f"localhost:1/{session_tag}:x", custom_image=False),
            OperationFailed,
            "nothing was created",
        ),
        # No NVIDIA runtime here: Docker accepts the create and fails the start ("could not select
        # device driver"), which ds01 names as the GPU stack's problem (exit 6).
        (
            _spec(owner, ws, f"{session_tag}-gpu", base_image, device_requests=True, device_uuids=("GPU-x",)),
            GpuLibraryError,
            "no NVIDIA device driver",
        ),
    ]
    for spec, exc, text in cases:
        with pytest.raises(exc) as err:
            engine.create_container(spec, start=True)
        assert text in err.value.message, spec.name
    assert _names(docker_env, session_tag) == before
    unreadable = owned_dir("locked")
    os.chmod(unreadable, 0o000)
    with pytest.raises(UsageError, match="not writable"):
        engine.create_container(_spec(owner, unreadable, f"{session_tag}-lock", base_image))
    assert not docker_env.api.images(name=f"localhost:1/{session_tag}")


def test_name_taken_is_refused_and_the_first_container_is_untouched(
    docker_env, base_image, session_tag, owner, owned_dir
):
    ws = owned_dir("ws")
    first = engine.create_container(_spec(owner, ws, f"{session_tag}-dup", base_image))
    with pytest.raises(UsageError, match="already exists") as err:
        engine.create_container(_spec(owner, ws, f"{session_tag}-dup", base_image))
    assert err.value.exit_code == ExitCode.USAGE
    assert engine.find_container(f"{session_tag}-dup", owner).id == first.id
    engine.remove_container(first, force=True)


def test_engine_down_is_exit_5_and_creates_nothing(
    docker_env, base_image, session_tag, owner, owned_dir, monkeypatch, fresh_client
):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    dc.reset_client()
    with pytest.raises(DockerUnavailable) as err:
        engine.create_container(_spec(owner, owned_dir("ws"), f"{session_tag}-down", base_image))
    assert err.value.exit_code == ExitCode.DOCKER and "/nonexistent/docker.sock" in err.value.message
    monkeypatch.delenv("DOCKER_HOST")
    dc.reset_client()
    assert _names(docker_env, session_tag + "-down") == []


def test_find_is_exact_and_other_users_containers_are_not_found(docker_env, base_image, session_tag, owner, owned_dir):
    ws = owned_dir("ws")
    info = engine.create_container(_spec(owner, ws, f"x{session_tag}", base_image))
    with pytest.raises(NotFound):  # an unanchored filter would match x<tag>._.4242
        engine.find_container(session_tag, owner)
    other = type(owner)(name="someoneelse", uid=4343, gid=4343, home=Path("/home/someoneelse"))
    with pytest.raises(NotFound, match="for you"):
        engine.find_container(f"x{session_tag}", other)
    assert engine.find_container(f"x{session_tag}", other, any_user=True).id == info.id
    assert engine.find_container(f"x{session_tag}._.4242", owner).id == info.id
    engine.remove_container(info, force=True)


def test_definition_recreates_the_same_container(docker_env, base_image, session_tag, owner, owned_dir):
    ws = owned_dir("ws")
    spec = _spec(
        owner,
        ws,
        f"{session_tag}-def",
        base_image,
        resources={"mem_limit": 128 * 2**20},
        extra_labels={"ds01.project": "thesis"},
        restart_policy="on-failure:2",
    )
    info = engine.create_container(spec)
    defn = container_defs.container_definition(f"{session_tag}-def", owner)
    assert defn["mounts"]["workspace"] == str(ws) and defn["limits"]["mem_limit"] == 128 * 2**20
    assert defn["restart_policy"] == "on-failure:2" and defn["labels"]["ds01.project"] == "thesis"
    engine.remove_container(info, force=True)
    again = container_defs.recreate_from_definition(defn, owner=owner, start=True)
    attrs = docker_env.api.inspect_container(again.id)
    assert attrs["HostConfig"]["Memory"] == 128 * 2**20
    assert attrs["Config"]["Labels"]["ds01.project"] == "thesis"
    assert attrs["Config"]["Labels"]["aime.mlc.WORK_MOUNT"] == str(ws)
    engine.remove_container(engine.refresh(again), force=True)


def test_stats_and_live_execs(docker_env, base_image, session_tag, owner, owned_dir):
    info = engine.create_container(
        _spec(owner, owned_dir("ws"), f"{session_tag}-st", base_image, resources={"mem_limit": 64 * 2**20}),
        start=True,
    )
    assert execs.live_execs(info.id) == 0
    execs.run_command(info, owner, ["sleep", "30"], detach=True)
    assert execs.live_execs(info.id) == 1
    rows = stats.container_stats([engine.refresh(info)])
    assert rows[0]["name"] == f"{session_tag}-st" and rows[0]["memory_limit"] == 64 * 2**20
    assert rows[0]["pids"] >= 2
    engine.remove_container(engine.refresh(info), force=True)


def test_stats_math_matches_docker_stats():
    raw = {
        "cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
        "memory_stats": {"usage": 150, "limit": 1000, "stats": {"inactive_file": 50}},
        "pids_stats": {"current": 3},
    }
    assert stats.stats_from_raw(raw) == {
        "cpu_percent": 40.0,
        "memory_usage": 100,
        "memory_limit": 1000,
        "memory_percent": 10.0,
        "pids": 3,
    }
