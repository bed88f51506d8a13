"""The engine the suite relies on really runs containers with resource limits."""

from __future__ import annotations


def test_container_with_cpu_and_memory_limit_runs(docker_env, base_image, session_tag):
    client = docker_env
    out = client.containers.run(
        base_image,
        ["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"],
        name=f"{session_tag}-smoke",
        nano_cpus=500_000_000,
        mem_limit="64m",
        labels={"ds01.test.session": session_tag},
        remove=True,
    )
    assert int(out.decode().strip()) == 64 * 1024 * 1024
