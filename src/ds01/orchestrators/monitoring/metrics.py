"""``ds01 monitor metrics``: the Prometheus exposition, through ``prometheus_client``.

Series (every label value a plain string; "" where it does not apply):

- ``ds01_gpu_slot_info{slot, uuid, gpu, profile, UUID, GPU_I_ID, GPU_I_PROFILE}`` = 1
- ``ds01_gpu_slot_allocated{slot, uuid, user, group, container, state, UUID, GPU_I_ID}``: one
  series per holder (1) and one for a slot nobody holds (0, state free or reserved)
- ``ds01_user_slots{user, group}``, ``ds01_user_quota_slots{user, group}`` (users with a limit)
- ``ds01_container_cpu_seconds_total``, ``ds01_container_memory_bytes``,
  ``ds01_container_memory_limit_bytes``, ``ds01_container_idle_seconds`` ``{container, user}``
- ``ds01_allocations_total{result}`` (allocated: the ledger's history; refused_quota,
  refused_capacity: the event log since its last rotation)
- ``ds01_gpu_seconds_total{user}``: GPU time held, in Prometheus' base unit (GPU-hours are
  this / 3600; promtool's lint rejects an ``_hours`` name); a MIG slot counts its fraction
- ``ds01_scrape_duration_seconds``

``uuid`` is the device ds01 hands out (``GPU-…`` or ``MIG-…``). ``UUID`` and ``GPU_I_ID`` are
named and filled exactly as dcgm-exporter labels its ``DCGM_FI_*`` series (the GPU's UUID and,
for a MIG device, its GPU-instance id), so ``* on(UUID, GPU_I_ID) group_left(user, container)``
joins the two (docs/monitoring.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ds01.limits.config import Config

TEXTFILE_NAME = "ds01.prom"
DEFAULT_LISTEN = "127.0.0.1:9401"


def families(config: Config, *, now: Callable[[], float] = time.time) -> list[Any]:
    """Every ds01 metric family, read now."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    from ds01 import paths
    from ds01.gpu import inputs
    from ds01.gpu.ledger import Ledger, latest_samples, peek
    from ds01.orchestrators.monitoring import report, snapshot

    started = time.perf_counter()
    t = now()
    rows = snapshot.active_rows(config)
    views, _warnings = snapshot.slots(config, rows=rows, now=now)
    infos = snapshot.managed_containers()
    totals = snapshot.user_totals(config, rows, infos)
    group_of = {u.user: u.group for u in totals}

    info = GaugeMetricFamily(
        "ds01_gpu_slot_info",
        "A GPU slot ds01 hands out (value 1); UUID and GPU_I_ID as dcgm-exporter labels the device.",
        labels=["slot", "uuid", "gpu", "profile", "UUID", "GPU_I_ID", "GPU_I_PROFILE"],
    )
    alloc = GaugeMetricFamily(
        "ds01_gpu_slot_allocated",
        "1 per container holding the slot (state allocated or held), 0 for a slot nobody holds (free or reserved).",
        labels=["slot", "uuid", "user", "group", "container", "state", "UUID", "GPU_I_ID"],
    )
    for v in views:
        profile = v.profile or ""
        info.add_metric(
            [
                v.id,
                v.uuid,
                str(v.gpu_index),
                profile,
                v.gpu_uuid,
                v.gpu_instance_id,
                profile if v.gpu_instance_id else "",
            ],
            1,
        )
        if not v.holders:
            alloc.add_metric([v.id, v.uuid, "", "", "", v.state, v.gpu_uuid, v.gpu_instance_id], 0)
        for user, container, state in v.holders:
            alloc.add_metric(
                [v.id, v.uuid, user, group_of.get(user, "-"), container, state, v.gpu_uuid, v.gpu_instance_id], 1
            )

    user_slots = GaugeMetricFamily("ds01_user_slots", "GPU slots the user holds.", labels=["user", "group"])
    quota = GaugeMetricFamily(
        "ds01_user_quota_slots", "The user's max_mig_instances (users with a limit).", labels=["user", "group"]
    )
    for u in totals:
        user_slots.add_metric([u.user, u.group], u.slots)
        if u.max_slots is not None:
            quota.add_metric([u.user, u.group], u.max_slots)

    cpu = CounterMetricFamily(
        "ds01_container_cpu_seconds", "CPU time used by the running container's cgroup.", labels=["container", "user"]
    )
    mem = GaugeMetricFamily(
        "ds01_container_memory_bytes", "Memory the running container's cgroup uses.", labels=["container", "user"]
    )
    mem_limit = GaugeMetricFamily(
        "ds01_container_memory_limit_bytes",
        "The running container's memory limit (containers with one).",
        labels=["container", "user"],
    )
    idle = GaugeMetricFamily(
        "ds01_container_idle_seconds",
        "How long the running container has been idle, as of the last lifecycle pass (0: active or not sampled yet).",
        labels=["container", "user"],
    )
    usage = snapshot.container_usage(infos)

    def read(led: Ledger) -> tuple[dict[str, Any], int]:
        allocations = led._connect().execute("SELECT COUNT(*) FROM history WHERE event = 'allocate'").fetchone()[0]
        return latest_samples(led), int(allocations)

    samples, allocated = peek(read, secure=config.security.secure) or ({}, 0)
    for c in usage:
        labels = [c.docker_name, c.user]
        if c.cpu_ns is not None:
            cpu.add_metric(labels, c.cpu_ns / 1e9)
        if c.memory_bytes is not None:
            mem.add_metric(labels, c.memory_bytes)
        if c.memory_limit_bytes is not None:
            mem_limit.add_metric(labels, c.memory_limit_bytes)
        s = samples.get(c.docker_name)
        idle_for = max(0.0, s.at - s.idle_since) if s is not None and s.idle and s.idle_since is not None else 0.0
        idle.add_metric(labels, idle_for)

    allocations = CounterMetricFamily(
        "ds01_allocations",
        "Allocation requests by result (refusals: since the event log's last rotation).",
        labels=["result"],
    )
    refused = report.read_happenings(report.event_files(paths.log_dir(), rotated=False))
    allocations.add_metric(["allocated"], allocated)
    allocations.add_metric(["refused_quota"], sum(1 for h in refused if h.kind == "refusal_quota"))
    allocations.add_metric(["refused_capacity"], sum(1 for h in refused if h.kind == "refusal_capacity"))

    # Prometheus' base unit: GPU-seconds (promtool rejects "_hours"); GPU-hours = this / 3600.
    gpu_time = CounterMetricFamily(
        "ds01_gpu_seconds",
        "GPU time held, all time, in GPU-seconds (a MIG slot counts its fraction of a GPU; / 3600 gives GPU-hours).",
        labels=["user"],
    )
    warnings: list[str] = []
    slots_iv, _history = report.ledger_intervals(config, report.fraction_lookup(inputs.inventory(config), warnings))
    per_user: dict[str, float] = {}
    for iv in slots_iv:
        end = iv.end if iv.end is not None else t
        per_user[iv.user] = per_user.get(iv.user, 0.0) + max(0.0, end - iv.start) * iv.weight
    for user in sorted(per_user):
        gpu_time.add_metric([user], round(per_user[user], 3))

    scrape = GaugeMetricFamily("ds01_scrape_duration_seconds", "How long reading these metrics took.")
    scrape.add_metric([], time.perf_counter() - started)
    return [info, alloc, user_slots, quota, cpu, mem, mem_limit, idle, allocations, gpu_time, scrape]


class Collector:
    """A ``prometheus_client`` collector: every scrape reads the server again."""

    def __init__(self, config: Config):
        self.config = config

    def collect(self) -> Iterator[Any]:
        yield from families(self.config)

    def describe(self) -> list[Any]:
        return []  # no describe-time read: registering must not touch Docker or the ledger


def registry(config: Config) -> Any:
    from prometheus_client import CollectorRegistry

    reg = CollectorRegistry(auto_describe=False)
    reg.register(Collector(config))
    return reg


def exposition(config: Config) -> str:
    from prometheus_client import generate_latest

    return generate_latest(registry(config)).decode()


def write_textfile(config: Config, folder: Path) -> Path:
    """Write ``folder/ds01.prom`` atomically (a temporary file in the same folder, then rename),
    0644, so node_exporter never reads half a file."""
    from ds01.errors import OperationFailed

    text = exposition(config).encode()
    target = folder / TEXTFILE_NAME
    tmp = folder / f".{TEXTFILE_NAME}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            os.fchmod(fd, 0o644)
            os.write(fd, text)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OperationFailed(
            f"Cannot write {target}: {exc.strerror or exc}; check that --textfile names a "
            "folder root can write (node_exporter's textfile folder)."
        ) from exc
    return target


def parse_listen(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` (``[::1]:9401`` for IPv6; ``:9401`` = every address) -> (addr, port)."""
    from ds01.errors import UsageError

    addr, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--listen {text!r} is not ADDR:PORT, such as 127.0.0.1:9401.")
    addr = addr.strip("[]") or "0.0.0.0"
    return addr, int(port)


def serve(config: Config, addr: str, port: int, *, ready: Callable[[str, int], None] | None = None) -> None:
    """Serve ``/metrics`` on ``addr:port`` until interrupted."""
    from prometheus_client import start_http_server

    from ds01.errors import OperationFailed

    try:
        result = start_http_server(port, addr=addr, registry=registry(config))
    except OSError as exc:
        raise OperationFailed(
            f"Cannot listen on {addr}:{port}: {exc.strerror or exc}; choose another "
            "--listen address or stop what uses it."
        ) from exc
    server = result[0] if isinstance(result, tuple) else None
    if ready is not None:
        ready(addr, port)
    try:
        while True:
            time.sleep(3600)
    finally:
        if server is not None:
            server.shutdown()
