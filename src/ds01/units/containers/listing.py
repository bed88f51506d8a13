"""``container list``, ``container stats`` and ``ds01 status``: read-only views.

``list`` is one sparse Docker listing, one ledger read and the definitions folder: fast on
hundreds of containers (``bench/container_list.py``). GPU processes for ``stats`` come from
NVML (``gpu.inventory``) as host PIDs and are mapped to containers through
``/proc/<pid>/cgroup``, which names the container id on both cgroup v1 and v2.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ds01.records import dataclass
from ds01.timefmt import iso
from ds01.units.containers import definitions
from ds01.units.containers.common import gpu_slots_label

if TYPE_CHECKING:
    from ds01.base.container_info import ContainerInfo
    from ds01.gpu.ledger import Row
    from ds01.gpu.model import Inventory
    from ds01.identity import Identity
    from ds01.limits.config import Config


@dataclass(frozen=True)
class Entry:
    """One line of ``container list`` (stable ``--json`` keys in ``to_json``)."""

    name: str
    docker_name: str
    user: str
    status: str  # running | stopped | created | released
    state: str  # Docker's state, or "removed" for a released container
    image: str
    gpu_slots: tuple[str, ...]
    held_until: str | None
    held_indefinitely: bool
    created: str | None
    project: str | None
    ds01_managed: bool
    notebook: tuple[str, int] | None = None  # (host, port) where the server reaches a running notebook

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "docker_name": self.docker_name,
            "user": self.user,
            "status": self.status,
            "state": self.state,
            "image": self.image,
            "gpu_slots": list(self.gpu_slots),
            "held_until": self.held_until,
            "held_indefinitely": self.held_indefinitely,
            "created": self.created,
            "project": self.project,
            "ds01_managed": self.ds01_managed,
            "notebook": ({"host": self.notebook[0], "port": self.notebook[1]} if self.notebook else None),
        }

    @property
    def notebook_text(self) -> str:
        """``localhost:PORT`` (or ``ADDRESS:PORT``) of its notebook, ``-`` when none runs."""
        if not self.notebook:
            return "-"
        host, port = self.notebook
        return f"{'localhost' if host == '127.0.0.1' else host}:{port}"


def _status(state: str) -> str:
    return {"running": "running", "created": "created", "restarting": "running", "paused": "paused"}.get(
        state, "stopped"
    )


def build_entries(
    infos: Iterable[ContainerInfo],
    rows: Iterable[Row],
    defs: Iterable[Mapping[str, Any]],
    hold_of_user: Callable[[str], int | None],
    *,
    include_released: bool,
) -> list[Entry]:
    """Pure: merge Docker's containers, the ledger's rows and the saved definitions."""
    by_container: dict[str, list[Row]] = {}
    for r in rows:
        by_container.setdefault(r.container, []).append(r)
    out: list[Entry] = []
    seen: set[str] = set()
    for i in infos:
        seen.add(i.docker_name)
        own = by_container.get(i.docker_name, [])
        slots = tuple(r.slot for r in own) or tuple(gpu_slots_label(i.labels))
        until, forever = _hold(own, hold_of_user)
        created = i.labels.get("ds01.created_at") or (iso(i.created) if i.created else None)
        out.append(
            Entry(
                i.name,
                i.docker_name,
                i.user,
                _status(i.state),
                i.state,
                i.image,
                slots,
                until,
                forever,
                created,
                i.labels.get("ds01.project"),
                i.ds01_managed,
            )
        )
    if include_released:
        for d in defs:
            dname = str(d.get("docker_name") or "")
            if not dname or dname in seen:
                continue
            labels = d.get("labels") or {}
            out.append(
                Entry(
                    str(d.get("name")),
                    dname,
                    str(d.get("user") or ""),
                    "released",
                    "removed",
                    str(d.get("image") or ""),
                    (),
                    None,
                    False,
                    labels.get("ds01.created_at"),
                    (d.get("ds01") or {}).get("project") or labels.get("ds01.project"),
                    True,
                )
            )
    return sorted(out, key=lambda e: (e.user, e.name))


def _hold(rows: list[Row], hold_of_user: Callable[[str], int | None]) -> tuple[str | None, bool]:
    stopped = [r for r in rows if r.stopped_at is not None]
    if not stopped or len(stopped) < len(rows):
        return None, False
    seconds = hold_of_user(stopped[0].user)
    if seconds is None:
        return None, True
    return iso(min(r.stopped_at for r in stopped if r.stopped_at is not None) + seconds), False


def _hold_lookup(config: Config | Callable[[], Config]) -> Callable[[str], int | None]:
    """``gpu_hold_after_stop`` of a user; ``config`` may be a function giving it (read when first needed)."""
    cache: dict[str, int | None] = {}

    def seconds(user: str) -> int | None:
        from ds01.errors import UsageError
        from ds01.limits.resolver import resolve

        if user not in cache:
            cfg = config() if callable(config) else config
            try:
                cache[user] = resolve(cfg, user).values.get("gpu_hold_after_stop")
            except UsageError:
                cache[user] = None
        return cache[user]

    return seconds


def _ledger_rows() -> list[Row]:
    from ds01.gpu.ledger import Ledger, peek

    return peek(Ledger.active) or []  # nothing was ever allocated: a listing must not create the database


def list_entries(
    config: Config | Callable[[], Config],
    caller: Identity,
    *,
    include_released: bool = False,
    all_users: bool = False,
    listed: list[ContainerInfo] | None = None,
) -> list[Entry]:
    """The caller's containers (``all_users``: everyone's, for admins).

    ``config`` may be a function giving it: it is read only when a hold time is needed.
    ``listed``: what ``container_info.list_infos`` gave for this listing, when the caller has it.
    """
    from ds01.base.container_info import list_infos

    user = None if all_users else caller.name
    if listed is None:
        listed = list_infos(user)
    infos = [i for i in listed if all_users or i.uid in (caller.uid, None)]
    defs = definitions.list_all(user) if include_released else []
    entries = build_entries(infos, _ledger_rows(), defs, _hold_lookup(config), include_released=include_released)
    return with_notebooks(entries, infos)


def with_notebooks(entries: list[Entry], infos: Iterable[ContainerInfo]) -> list[Entry]:
    """The entries with the notebooks ``container jupyter`` started and that answer now
    (``notebook.listed_notebook``: only containers with its record are looked at, none exec'd)."""
    from ds01 import paths
    from ds01.records import replace

    running = [i for i in infos if i.running]
    if not running or not (paths.state_dir() / "notebooks").is_dir():
        return entries  # no notebook was ever recorded: nothing more to read
    from ds01.units.containers.notebook import listed_notebook

    found = {i.docker_name: nb for i in running if (nb := listed_notebook(i))}
    if not found:
        return entries
    return [replace(e, notebook=found[e.docker_name]) if e.docker_name in found else e for e in entries]


# -- stats --------------------------------------------------------------------------------------------

_CONTAINER_ID = re.compile(r"([0-9a-f]{64})")


def container_of_cgroup(cgroup_text: str, ids: Iterable[str]) -> str | None:
    """Pure: the container id (among ``ids``) named in a ``/proc/<pid>/cgroup`` file's text."""
    wanted = set(ids)
    for found in _CONTAINER_ID.findall(cgroup_text):
        if found in wanted:
            return found
    return None


def gpu_processes_by_container(
    ids: Iterable[str], *, proc: Path = Path("/proc"), warnings: list[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """NVML's GPU processes grouped by container id; {} where NVML gives nothing (no GPU here).
    ``warnings`` receives a sentence naming each GPU whose processes could not be read."""
    from ds01.errors import GpuLibraryError
    from ds01.gpu import inventory

    try:
        procs, problems = inventory.nvml_process_scan()
    except GpuLibraryError as exc:
        if warnings is not None:
            warnings.append(f"GPU processes are not shown: {exc.message}")
        return {}
    except ImportError:
        return {}
    if warnings is not None:
        warnings.extend(problems)
    ids = list(ids)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for p in procs:
        try:
            text = (proc / str(p.pid) / "cgroup").read_text()
        except OSError:
            continue  # the process ended meanwhile, or is not visible from here
        cid = container_of_cgroup(text, ids)
        if cid:
            grouped.setdefault(cid, []).append(
                {"pid": p.pid, "gpu_memory": p.used_memory_bytes, "device_uuid": p.device_uuid}
            )
    return grouped


def stats(
    config: Config, caller: Identity, *, all_users: bool = False, warnings: list[str] | None = None
) -> list[dict[str, Any]]:
    """One row per running container: CPU %, memory, PIDs, GPU slots and GPU processes.

    Stable keys: name, docker_name, user, cpu_percent, memory_usage, memory_limit,
    memory_percent, pids, gpu_slots, gpu_processes (null where NVML cannot tell).
    """
    from ds01.base import engine
    from ds01.base.stats import container_stats

    infos = [
        i
        for i in engine.list_containers(None if all_users else caller.name, running_only=True)
        if all_users or i.uid in (caller.uid, None)
    ]
    rows = container_stats(infos)
    nvml = config.gpu_allocation.inventory == "nvml"
    gpu = gpu_processes_by_container([i.id for i in infos], warnings=warnings) if nvml and infos else {}
    by_docker = {i.docker_name: i for i in infos}
    for row in rows:
        info = by_docker.get(row["docker_name"])
        row["gpu_slots"] = gpu_slots_label(info.labels) if info else []
        row["gpu_processes"] = gpu.get(info.id, []) if (info and nvml) else None
    return rows


# -- status ------------------------------------------------------------------------------------------


def every_container() -> tuple[float, list[ContainerInfo]]:
    """(when, every container on the engine): one listing that ``status`` and the lifecycle view
    of the same screen share (the time is taken before the engine is asked)."""
    from ds01.base.container_info import list_infos

    at = time.time()
    return at, list_infos(None, every=True)


def status(
    config: Config,
    caller: Identity,
    *,
    listed: tuple[float, list[ContainerInfo]] | None = None,
    inv: Inventory | None = None,
) -> dict[str, Any]:
    """``ds01 status --json``: containers, GPU slots and usage against each limit.

    Keys: user, group, priority, containers[] (as ``container list --json`` with released ones),
    gpus {held, max, allocations[] as ``gpu user-status``}, limits {field: {value, display, source}},
    usage {containers: {used, max}, gpu_slots: {used, max}}, warnings[].
    ``listed`` (``every_container()``) and ``inv`` are what the caller already read.
    """
    from ds01.base.container_info import owned_by
    from ds01.gpu import service, sync
    from ds01.limits.resolver import PER_USER_FIELDS, format_value, resolve

    r = resolve(config, caller.name)
    warnings: list[str] = []
    try:
        listed = listed or every_container()
        warnings.extend(sync.reconcile(config, strict=False, listed=listed, inv=inv).warnings)
    except Exception as exc:  # noqa: BLE001 - a summary screen shows what it can
        warnings.append(f"Not reconciled with Docker ({exc}).")
    mine = None if listed is None else owned_by(listed[1], caller.name)
    entries = list_entries(config, caller, include_released=True, listed=mine)
    gpus = service.user_status(config, caller.name)
    containers_used = sum(1 for e in entries if e.ds01_managed and e.status != "released")
    return {
        "user": caller.name,
        "group": r.group,
        "priority": r.priority,
        "generated_at": iso(time.time()),
        "containers": [e.to_json() for e in entries],
        "gpus": {"held": gpus["count"], "max": gpus["max_mig_instances"], "allocations": gpus["allocations"]},
        "limits": {
            f: {"value": r.values[f], "display": format_value(f, r.values[f]), "source": r.sources[f]}
            for f in PER_USER_FIELDS
        },
        "usage": {
            "containers": {"used": containers_used, "max": r.values.get("max_containers_per_user")},
            "gpu_slots": {"used": gpus["count"], "max": gpus["max_mig_instances"]},
        },
        "warnings": warnings,
    }
