"""Where a container's cgroup lives on the host, and what it says: CPU time used, memory, its processes,
and the terminals of the shells open in it.

The path comes from the container (``HostConfig.CgroupParent``, its id) and the daemon's
cgroup driver and version (``docker info``). Four layouts:

====================  ==================================================================
v1, cgroupfs          ``/sys/fs/cgroup/cpuacct/<parent or /docker>/<id>/cpuacct.usage``
v1, systemd           ``/sys/fs/cgroup/cpuacct/<slice path>/docker-<id>.scope/cpuacct.usage``
v2, cgroupfs          ``/sys/fs/cgroup/<parent or /docker>/<id>/cpu.stat`` (``usage_usec``)
v2, systemd           ``/sys/fs/cgroup/<slice path>/docker-<id>.scope/cpu.stat``
====================  ==================================================================

A systemd slice name nests by its dashes: ``ds01-student.slice`` lives at
``ds01.slice/ds01-student.slice``. When the computed folder does not exist (an unusual
daemon setup), the container's init process's ``/proc/<pid>/cgroup`` names it.

Everything read here is host kernel state under ``/sys/fs/cgroup`` and ``/proc``; nothing
follows a path a user controls. Terminals are opened through ``/proc/<pid>/fd/N`` (the
kernel's handle on the very file the process holds, whatever its name inside the container)
and only when that file is a pseudo-terminal.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ds01.records import dataclass

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC = Path("/proc")
# Unix98 pseudo-terminal slaves (Documentation/admin-guide/devices.txt: majors 136-143).
PTY_MAJORS = range(136, 144)


@dataclass(frozen=True)
class Layout:
    driver: str  # "cgroupfs" | "systemd"
    version: int  # 1 | 2


@dataclass(frozen=True)
class Facts:
    """What ``inspect`` says about a running container, for finding its cgroup."""

    id: str
    pid: int
    cgroup_parent: str
    started_at: float | None


def slice_path(unit: str) -> str:
    """The folder of a systemd slice: ``a-b-c.slice`` -> ``a.slice/a-b.slice/a-b-c.slice``."""
    if not unit.endswith(".slice") or unit == "-.slice":
        return ""
    parts = unit[: -len(".slice")].split("-")
    return "/".join("-".join(parts[: i + 1]) + ".slice" for i in range(len(parts)))


def relative_path(layout: Layout, cgroup_parent: str, container_id: str) -> str:
    """The container's cgroup relative to a hierarchy root (no leading slash)."""
    parent = (cgroup_parent or "").strip("/")
    if layout.driver == "systemd":
        unit = parent or "system.slice"
        if "/" in unit or not unit.endswith(".slice"):
            unit = "system.slice"  # the systemd driver accepts only a slice name
        return f"{slice_path(unit)}/docker-{container_id}.scope"
    return f"{parent or 'docker'}/{container_id}"


def cpu_file(layout: Layout, cgroup_parent: str, container_id: str, *, root: Path = CGROUP_ROOT) -> Path:
    rel = relative_path(layout, cgroup_parent, container_id)
    if layout.version == 2:
        return root / rel / "cpu.stat"
    return root / "cpuacct" / rel / "cpuacct.usage"


def _proc_relative(pid: int, version: int, *, proc: Path = PROC) -> str | None:
    """The container's cgroup as its init process's ``/proc/<pid>/cgroup`` names it (host view)."""
    try:
        text = (proc / str(pid) / "cgroup").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        if version == 2 and controllers == "":
            return path.strip("/")
        if version == 1 and "cpuacct" in controllers.split(","):
            return path.strip("/")
    return None


def read_cpu_ns(path: Path) -> int | None:
    """Cumulative CPU time in nanoseconds from ``cpuacct.usage`` or ``cpu.stat``."""
    try:
        text = path.read_text()
    except OSError:
        return None
    if path.name == "cpu.stat":
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                return int(value) * 1000
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def container_folder(layout: Layout, facts: Facts, *, root: Path = CGROUP_ROOT, proc: Path = PROC) -> Path | None:
    """The container's cgroup folder (for the CPU controller on v1), or None when it is gone."""
    base = root if layout.version == 2 else root / "cpuacct"
    folder = base / relative_path(layout, facts.cgroup_parent, facts.id)
    if folder.is_dir():
        return folder
    rel = _proc_relative(facts.pid, layout.version, proc=proc)
    if rel is not None and (base / rel).is_dir():
        return base / rel
    return None


def cpu_ns(layout: Layout, facts: Facts, *, root: Path = CGROUP_ROOT, proc: Path = PROC) -> int | None:
    folder = container_folder(layout, facts, root=root, proc=proc)
    if folder is None:
        return None
    return read_cpu_ns(folder / ("cpu.stat" if layout.version == 2 else "cpuacct.usage"))


def pids(layout: Layout, facts: Facts, *, root: Path = CGROUP_ROOT, proc: Path = PROC) -> list[int]:
    """Host PIDs of every process in the container (``cgroup.procs``)."""
    folder = container_folder(layout, facts, root=root, proc=proc)
    return [] if folder is None else _procs(folder)


def _procs(folder: Path) -> list[int]:
    try:
        text = (folder / "cgroup.procs").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split() if x.isdigit()]


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _v1_memory_folder(pid: int, cpu_folder: Path, *, root: Path = CGROUP_ROOT, proc: Path = PROC) -> Path:
    """cgroup v1: the memory controller's folder of the container's init process (its own line in
    ``/proc/<pid>/cgroup``; the cpuacct folder's twin when that cannot be read)."""
    try:
        text = (proc / str(pid) / "cgroup").read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        _n, controllers, path = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        if "memory" in controllers.split(",") and (root / "memory" / path.lstrip("/")).is_dir():
            return root / "memory" / path.lstrip("/")
    return Path(str(cpu_folder).replace("/cpuacct/", "/memory/", 1))


def memory(
    version: int, cpu_folder: Path, pid: int, *, root: Path = CGROUP_ROOT, proc: Path = PROC
) -> tuple[int | None, int | None]:
    """(usage, limit) in bytes from the container's cgroup; limit None when unlimited."""
    if version == 2:
        used, limit = _read_int(cpu_folder / "memory.current"), _read_int(cpu_folder / "memory.max")
    else:
        folder = _v1_memory_folder(pid, cpu_folder, root=root, proc=proc)
        used, limit = _read_int(folder / "memory.usage_in_bytes"), _read_int(folder / "memory.limit_in_bytes")
        if limit is not None and limit >= 1 << 62:
            limit = None  # cgroup v1 says "unlimited" with a page-rounded LONG_MAX
    return used, limit


@dataclass(frozen=True)
class Reading:
    """One look at a running container: ``inspect``'s facts and what its cgroup says."""

    facts: Facts
    cpu_ns: int | None
    memory_bytes: int | None
    memory_limit_bytes: int | None  # None: unlimited
    pids: list[int] | None  # host PIDs (``cgroup.procs``); None when the cgroup folder is gone


def read(layout: Layout, container_id: str, *, root: Path = CGROUP_ROOT, proc: Path = PROC) -> Reading | None:
    """The container's facts (one ``inspect``) with its CPU time, memory and processes, its
    cgroup folder found once; None when it is not running (or gone)."""
    facts = container_facts(container_id)
    if facts is None:
        return None
    folder = container_folder(layout, facts, root=root, proc=proc)
    if folder is None:
        return Reading(facts, None, None, None, None)
    cpu = read_cpu_ns(folder / ("cpu.stat" if layout.version == 2 else "cpuacct.usage"))
    used, limit = memory(layout.version, folder, facts.pid, root=root, proc=proc)
    return Reading(facts, cpu, used, limit, _procs(folder))


def read_many(container_ids: list[str]) -> dict[str, Reading | None]:
    """``read`` for each container (the daemon's layout asked once), by container id."""
    if not container_ids:
        return {}
    layout = daemon_layout()
    return {cid: read(layout, cid) for cid in container_ids}


def pty_of(pid: int, *, proc: Path = PROC) -> int | None:
    """The ``st_rdev`` of the pseudo-terminal on the process's stdin, None when it has none."""
    try:
        st = os.stat(proc / str(pid) / "fd" / "0")  # the kernel resolves the fd itself
    except OSError:
        return None
    if stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) in PTY_MAJORS:
        return st.st_rdev
    return None


def write_to_terminals(pids_: list[int], text: str, *, proc: Path = PROC) -> int:
    """Write ``text`` once to each distinct pseudo-terminal held on stdin by one of ``pids_``.

    Opened through ``/proc/<pid>/fd/0`` with ``O_WRONLY|O_NOCTTY|O_NONBLOCK`` (never made
    the controlling terminal, never blocks), and only when the file is a pty before and after
    opening. Returns how many terminals were written to.
    """
    done: set[int] = set()
    data = text.encode("utf-8", "replace")
    for pid in pids_:
        rdev = pty_of(pid, proc=proc)
        if rdev is None or rdev in done:
            continue
        try:
            fd = os.open(proc / str(pid) / "fd" / "0", os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISCHR(st.st_mode) or st.st_rdev != rdev:
                continue
            os.write(fd, data)
            done.add(rdev)
        except OSError:
            continue
        finally:
            os.close(fd)
    return len(done)


# -- Docker facts (Engine API requests, without the SDK) ---------------------------------------


def daemon_layout() -> Layout:
    """The daemon's cgroup driver and version (``docker info``)."""
    from ds01.base import engine_api

    info: dict[str, Any] = engine_api.request_json("GET", "/info", action="read the Docker engine's settings") or {}
    driver = str(info.get("CgroupDriver") or "cgroupfs")
    try:
        version = int(info.get("CgroupVersion") or 1)
    except ValueError:
        version = 1
    return Layout(driver, version)


def container_facts(container_id: str) -> Facts | None:
    """Id, init PID, cgroup parent and start time of a running container (None: not running)."""
    attrs = _inspect(container_id)
    if attrs is None:
        return None  # removed meanwhile
    state = attrs.get("State") or {}
    if not state.get("Running"):
        return None
    return Facts(
        str(attrs.get("Id")),
        int(state.get("Pid") or 0),
        str((attrs.get("HostConfig") or {}).get("CgroupParent") or ""),
        _docker_time(state.get("StartedAt")),
    )


def _inspect(container_id: str) -> dict[str, Any] | None:
    """The container's inspect data; None when it is gone."""
    from ds01.base import docker_client as dc
    from ds01.base import engine_api

    try:
        return dict(
            engine_api.request_json("GET", f"/containers/{container_id}/json", action="inspect the container") or {}
        )
    except dc.EngineNotFound:
        return None


def _docker_time(value: Any) -> float | None:
    """Docker's RFC 3339 time with nanoseconds (``2026-12-01T15:27:23.123456789Z``) as epoch seconds."""
    from datetime import UTC, datetime

    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return None
    head, _, frac = value.rstrip("Z").partition(".")
    tz = ""
    for sign in ("+", "-"):
        if sign in frac:
            frac, _, rest = frac.partition(sign)
            tz = sign + rest
    try:
        dt = datetime.fromisoformat(head + (tz or "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp() + (float("0." + frac[:9]) if frac.isdigit() else 0.0)


def finished_at(container_id: str) -> float | None:
    """When a stopped container last stopped (``State.FinishedAt``); None when unknown or gone."""
    attrs = _inspect(container_id)
    if attrs is None:
        return None
    state = attrs.get("State") or {}
    if state.get("Running"):
        return None
    return _docker_time(state.get("FinishedAt"))


def open_shells(container_id: str) -> int:
    """How many interactive exec sessions (with a terminal or an open stdin: `docker exec -it`,
    `container run`, `mlc open`) are running in the container. Background execs are not shells:
    their work shows in the container's CPU time."""
    from ds01.base import docker_client as dc
    from ds01.base import engine_api

    attrs = _inspect(container_id)
    if attrs is None:
        return 0
    count = 0
    for exec_id in attrs.get("ExecIDs") or []:
        try:
            e = engine_api.request_json("GET", f"/exec/{exec_id}/json", action="inspect the container") or {}
        except dc.EngineNotFound:
            continue
        config = e.get("ProcessConfig") or {}
        if e.get("Running") and (config.get("tty") or e.get("OpenStdin")):
            count += 1
    return count
