"""Container statistics: CPU, memory and PIDs as ``docker stats`` computes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ds01.base import docker_client as dc
from ds01.base.container_spec import ContainerInfo


def stats_from_raw(raw: Mapping[str, Any]) -> dict[str, Any]:
    """CPU %, memory usage/limit/%, PIDs from one Docker stats sample (``docker stats``' formulas)."""
    cpu, pre = raw.get("cpu_stats") or {}, raw.get("precpu_stats") or {}
    cpu_delta = cpu.get("cpu_usage", {}).get("total_usage", 0) - pre.get("cpu_usage", {}).get("total_usage", 0)
    sys_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    ncpu = cpu.get("online_cpus") or len(cpu.get("cpu_usage", {}).get("percpu_usage") or []) or 1
    cpu_pct = (cpu_delta / sys_delta) * ncpu * 100.0 if sys_delta > 0 and cpu_delta > 0 else 0.0
    mem = raw.get("memory_stats") or {}
    details = mem.get("stats") or {}
    # Page cache is not the container's working set (docker stats subtracts it the same way).
    cache = details.get("inactive_file", details.get("total_inactive_file", 0))
    usage = max(int(mem.get("usage", 0)) - int(cache), 0)
    limit = int(mem.get("limit", 0))
    return {
        "cpu_percent": round(cpu_pct, 2),
        "memory_usage": usage,
        "memory_limit": limit,
        "memory_percent": round(usage / limit * 100.0, 2) if limit else 0.0,
        "pids": int((raw.get("pids_stats") or {}).get("current", 0)),
    }


def container_stats(infos: list[ContainerInfo]) -> list[dict[str, Any]]:
    """One stats row per running container, sampled in parallel (each sample takes ~1 s)."""
    from concurrent.futures import ThreadPoolExecutor

    import docker.errors

    running = [i for i in infos if i.running]
    api = dc.api()

    def sample(info: ContainerInfo) -> dict[str, Any] | None:
        try:
            raw = api.stats(info.id, stream=False)
        except docker.errors.NotFound:
            return None  # stopped and removed while we looked
        return {"name": info.name, "docker_name": info.docker_name, "user": info.user, **stats_from_raw(raw)}

    with dc.engine_errors("read container statistics"), ThreadPoolExecutor(max_workers=8) as pool:
        rows = list(pool.map(sample, running))
    return [r for r in rows if r is not None]
