"""Group totals really cap, on the real engine: after ``setup-slices`` a container's parent
cgroup carries the group's CPU, memory and task caps, and a container whose own memory limit
is higher than the group's cannot use more than the group's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ds01.base.cgroups import daemon_layout
from ds01.ops import slices

pytestmark = [pytest.mark.docker, pytest.mark.skipif(os.geteuid() != 0, reason="writes cgroup limits: needs root")]

MiB = 1024 * 1024


def _config(tmp_path: Path, group: str, memory: str | None, cpus: float = 0.5, tasks: int = 64) -> Path:
    path = tmp_path / "limits.yaml"
    mem = "null" if memory is None else memory
    path.write_text(
        f"groups:\n  {group}:\n    members: [opsuser]\n    slice_cpus: {cpus}\n"
        f"    slice_memory: {mem}\n    slice_tasks: {tasks}\n"
    )
    return path


def _run(client, image: str, tag: str, parent: str, command: str) -> tuple[int, str]:
    """A container under ``parent`` whose own memory limit (512m) is above the group's cap."""
    from dev.engine import TEST_LABEL

    c = client.containers.run(
        image,
        ["sh", "-c", command],
        detach=True,
        cgroup_parent=parent,
        mem_limit="512m",
        memswap_limit="512m",
        labels={TEST_LABEL: tag},
        name=f"ops-{tag}-{os.urandom(3).hex()}",
    )
    try:
        status = int(c.wait(timeout=120)["StatusCode"])
        return status, c.logs().decode(errors="replace")
    finally:
        c.remove(force=True)


def test_setup_slices_caps_a_group_on_the_real_engine(docker_env, base_image, session_tag, tmp_path, cli, monkeypatch):
    layout = daemon_layout()
    if layout.driver != "cgroupfs":
        pytest.skip(f"this engine uses the {layout.driver} cgroup driver; its units are checked by systemd-analyze")
    group = f"ops{session_tag}"
    parent = f"ds01-{group}.slice"
    bases = slices.daemon_cgroups()

    def f(rel: str) -> Path:
        return slices.cgroup_file(rel, parent, layout.version, bases=bases)

    created = [f(c + "/x").parent for c in ("cpu", "memory", "pids")] if layout.version == 1 else [f("x").parent]
    monkeypatch.setenv("DS01_CONFIG", str(_config(tmp_path, group, "48m")))
    try:
        r = cli("admin", "setup-slices")
        assert r.exit_code == 0, r.output
        # The parent folders Docker uses for --cgroup-parent carry the caps.
        if layout.version == 1:
            assert f("cpu/cpu.cfs_quota_us").read_text().strip() == "50000"
            assert f("cpu/cpu.cfs_period_us").read_text().strip() == "100000"
            assert int(f("memory/memory.limit_in_bytes").read_text()) == 48 * MiB
            assert f("pids/pids.max").read_text().strip() == "64"
        else:
            assert f("cpu.max").read_text().split() == ["50000", "100000"]
            assert int(f("memory.max").read_text()) == 48 * MiB
            assert f("pids.max").read_text().strip() == "64"
        again = cli("admin", "setup-slices")
        assert again.exit_code == 0 and "already carry" in again.output

        # busybox dd holds its whole block (bs) in memory: 128 MiB is under the container's own
        # 512m but over the group's 48m, so the kernel kills it.
        eat = "dd if=/dev/zero of=/dev/null bs=128M count=1"
        assert _run(docker_env, base_image, session_tag, parent, eat)[0] != 0
        # The same container once the config lifts the group's memory cap: it was the group cap.
        monkeypatch.setenv("DS01_CONFIG", str(_config(tmp_path, group, None)))
        assert cli("admin", "setup-slices").exit_code == 0
        assert _run(docker_env, base_image, session_tag, parent, eat)[0] == 0

        # The task cap holds for the group: with 64 tasks 40 sleepers start; with 16 the shell
        # cannot fork its 16th task (busybox sh gives up with "can't fork").
        spawn = "i=0; while [ $i -lt 40 ]; do sleep 3 & i=$((i+1)); done; echo started $i"
        status, out = _run(docker_env, base_image, session_tag, parent, spawn)
        assert status == 0 and "started 40" in out, out
        monkeypatch.setenv("DS01_CONFIG", str(_config(tmp_path, group, "48m", tasks=16)))
        assert cli("admin", "setup-slices").exit_code == 0
        from ds01.limits.config import load_config

        assert slices.check(load_config(), layout) == []
        status, out = _run(docker_env, base_image, session_tag, parent, spawn)
        assert status != 0 and "can't fork" in out and "started" not in out, out
    finally:
        for folder in created:
            try:
                folder.rmdir()
            except OSError:
                pass


def test_a_config_change_changes_a_running_containers_parent(
    docker_env, base_image, session_tag, tmp_path, cli, monkeypatch
):
    layout = daemon_layout()
    if layout.driver != "cgroupfs" or layout.version != 1:
        pytest.skip("checks the cgroup v1 files of the cgroupfs driver")
    from dev.engine import TEST_LABEL

    group = f"opr{session_tag}"
    parent = f"ds01-{group}.slice"
    bases = slices.daemon_cgroups()
    monkeypatch.setenv("DS01_CONFIG", str(_config(tmp_path, group, "64m")))
    c = docker_env.containers.run(
        base_image,
        ["sleep", "60"],
        detach=True,
        cgroup_parent=parent,
        labels={TEST_LABEL: session_tag},
        name=f"ops-{session_tag}-run",
    )
    mem = slices.cgroup_file("memory/memory.limit_in_bytes", parent, 1, bases=bases)
    try:
        assert cli("admin", "setup-slices").exit_code == 0
        assert int(mem.read_text()) == 64 * MiB
        monkeypatch.setenv("DS01_CONFIG", str(_config(tmp_path, group, "96m", cpus=1)))
        r = cli("admin", "setup-slices")
        assert r.exit_code == 0 and "memory.limit_in_bytes" in r.output
        assert int(mem.read_text()) == 96 * MiB
        c.reload()
        assert c.status == "running"
    finally:
        c.remove(force=True)
        for ctl in ("cpu", "memory", "pids"):
            try:
                slices.cgroup_file(f"{ctl}/x", parent, 1, bases=bases).parent.rmdir()
            except OSError:
                pass
