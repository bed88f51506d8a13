"""The create request ds01 writes by hand is the one the Docker SDK would send for the same
container (pure: no engine; the SDK only builds its dictionaries here)."""

from __future__ import annotations

import os
from pathlib import Path

import docker
import pytest
from docker.types import ContainerConfig, DeviceRequest

from ds01.base import container_spec, engine
from ds01.errors import UsageError
from ds01.identity import Identity

RESOURCES = {
    "nano_cpus": 2_000_000_000,
    "mem_limit": 32 * 2**30,
    "memswap_limit": 32 * 2**30,
    "shm_size": 8 * 2**30,
    "pids_limit": 4096,
    "cgroup_parent": "ds01-student.slice",
}


def _sdk_body(spec: container_spec.ContainerSpec, plan, labels) -> dict:
    """What ``engine.create_container`` sent through the SDK before it spoke to the engine itself."""
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    harden = plan.hardening
    publish = container_spec.notebook_publishable(plan.network_mode)
    devices = None
    if spec.device_requests:
        devices = (
            [DeviceRequest(driver="nvidia", device_ids=list(spec.device_uuids), capabilities=[["gpu"]])]
            if spec.device_uuids
            else [DeviceRequest(driver="nvidia", count=spec.gpu_count, capabilities=[["gpu"]])]
        )
    host = api.create_host_config(
        binds=plan.binds,
        privileged=harden.privileged,
        ipc_mode=harden.ipc_mode,
        cgroupns=harden.cgroupns,
        cap_drop=list(harden.cap_drop) or None,
        security_opt=list(harden.security_opt) or None,
        init=True,
        network_mode=plan.network_mode,
        port_bindings={container_spec.NOTEBOOK_PORT: ("127.0.0.1",)} if publish else None,
        restart_policy=plan.restart,
        device_requests=devices,
        **spec.resources,
    )
    return dict(
        ContainerConfig(
            "1.41",
            spec.image,
            container_spec.KEEPALIVE,
            ports=[container_spec.NOTEBOOK_PORT] if publish else None,
            user=harden.user,
            working_dir=container_spec.WORKSPACE,
            labels=labels,
            environment=plan.env,
            host_config=host,
            hostname=spec.name.lower().replace("_", "-")[:63],
            detach=True,
        )
    )


def _meaningful(body: dict) -> dict:
    """Without what the engine reads as its default (None, False, empty)."""
    out = {k: v for k, v in body.items() if v not in (None, False, [], {})}
    if "HostConfig" in out:
        out["HostConfig"] = _meaningful(out["HostConfig"])
    return out


@pytest.mark.parametrize(
    ("mode", "network", "devices", "uuids", "resources"),
    [
        ("group", "bridge", False, (), RESOURCES),
        ("secure", "bridge", True, ("GPU-1", "MIG-2"), RESOURCES),
        ("secure", "none", True, (), {}),
        (
            "group",
            "bridge",
            False,
            (),
            {"mem_limit": "512m", "shm_size": "1g", "memswap_limit": "1024", "pids_limit": 64},
        ),
    ],
)
def test_the_create_body_is_what_the_sdk_would_send(tmp_path, mode, network, devices, uuids, resources):
    owner = Identity(name="alice", uid=os.getuid(), gid=os.getgid(), home=Path("/home/alice"))
    spec = container_spec.ContainerSpec(
        name="My_Box",
        owner=owner,
        image="img:1",
        workspace=tmp_path,
        resources=resources,
        device_requests=devices,
        device_uuids=uuids,
        gpu_count=2,
        network_mode=network,
        restart_policy="on-failure:3",
        env={"A": "1", "B": ""},
        security_mode=mode,
    )
    plan = container_spec.plan_create(spec)
    labels = {"aime.mlc": "alice", "ds01.user": "alice"}
    ours = engine.create_body(spec, plan, labels)
    assert _meaningful(ours) == _meaningful(_sdk_body(spec, plan, labels))
    assert ours["HostConfig"]["Privileged"] is False  # stated, never left to a default


def test_a_resource_that_is_not_a_number_is_refused(tmp_path):
    owner = Identity(name="alice", uid=os.getuid(), gid=os.getgid(), home=Path("/home/alice"))
    spec = container_spec.ContainerSpec(
        name="x", owner=owner, image="img:1", workspace=tmp_path, resources={"mem_limit": "lots"}, security_mode="group"
    )
    with pytest.raises(UsageError, match="mem_limit"):
        engine.create_body(spec, container_spec.plan_create(spec), {})
    spec = container_spec.ContainerSpec(
        name="x", owner=owner, image="img:1", workspace=tmp_path, resources={"pids_limit": "64"}, security_mode="group"
    )
    with pytest.raises(UsageError, match="pids_limit"):
        engine.create_body(spec, container_spec.plan_create(spec), {})
