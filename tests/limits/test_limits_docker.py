"""The SDK keyword arguments of ``container_resources`` are what the real Docker engine applies."""

from __future__ import annotations

import textwrap
from pathlib import Path

from ds01.limits.config import check_file
from ds01.limits.resolver import container_resources, resolve


def test_container_resources_are_applied_by_docker(docker_engine, base_image, session_tag, tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text(
        textwrap.dedent("""
        groups:
          lab:
            members: [ann]
            max_cpus: 0.5
            memory: 64m
            memory_swap: 128m
            shm_size: 32m
            pids_limit: 64
    """)
    )
    config, problems, _ = check_file(path, host_cpus=1)
    assert problems == [] and config is not None
    kwargs = container_resources(resolve(config, "ann"), host_cpus=1)
    container = docker_engine.containers.run(
        base_image,
        ["sh", "-c", "df -k /dev/shm | tail -1"],
        name=f"{session_tag}-limits",
        labels={"ds01.test.session": session_tag},
        detach=True,
        **kwargs,
    )
    try:
        container.wait(timeout=60)
        host = docker_engine.api.inspect_container(container.id)["HostConfig"]
        assert host["NanoCpus"] == 500_000_000
        assert host["Memory"] == 64 * 1024**2
        assert host["MemorySwap"] == 128 * 1024**2
        assert host["ShmSize"] == 32 * 1024**2
        assert host["PidsLimit"] == 64
        assert host["CgroupParent"] == "ds01-lab.slice"
        assert " 32768 " in container.logs().decode()  # /dev/shm really is 32m inside
    finally:
        container.remove(force=True)
