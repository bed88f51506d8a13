"""Group totals that really cap: ``ds01.slice`` -> ``ds01-<group>.slice`` (SPEC §8).

Containers are created with ``--cgroup-parent=ds01-<group>.slice`` (``limits.resolver``).
What that parent is depends on Docker's cgroup driver:

* **systemd driver**: a systemd slice unit. ``ds01-<group>.slice`` nests under ``ds01.slice``
  by its name; its ``CPUQuota``, ``MemoryMax`` and ``TasksMax`` come from the group's
  ``slice_cpus``, ``slice_memory`` and ``slice_tasks``. The units are written to
  ``/etc/systemd/system`` (under ``--root``), checked by ``systemd-analyze verify`` first.
* **cgroupfs driver**: a plain folder ``/sys/fs/cgroup/[<controller>/]<daemon's cgroup>/ds01-<group>.slice``
  (Docker makes a relative ``--cgroup-parent`` relative to the daemon's own cgroup, which
  ``/proc/<dockerd>/cgroup`` names per controller: ``/`` on many hosts,
  ``/system.slice/docker.service`` on others).
  The same limits are written into it (v1: ``cpu.cfs_quota_us``/``cpu.cfs_period_us``,
  ``memory.limit_in_bytes``, ``pids.max``; v2: ``cpu.max``, ``memory.max``, ``pids.max``).
  Such folders vanish at a reboot: ``lifecycle run`` calls ``reapply`` to write them again.

A group without totals gets no cap (its limits are written as "unlimited", so removing a
total from the config lifts the cap). Every function returns what it changed; nothing is
written when the value is already right.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ds01.errors import OperationFailed
from ds01.limits.resolver import cgroup_parent
from ds01.records import dataclass

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000
UNIT_DIR = "etc/systemd/system"
TOP_UNIT = "ds01.slice"


@dataclass(frozen=True)
class SliceLimits:
    unit: str  # ds01-student.slice
    group: str | None  # None: ds01.slice, the parent of all
    cpus: float | None
    memory: int | None
    tasks: int | None

    @property
    def capped(self) -> bool:
        return any(v is not None for v in (self.cpus, self.memory, self.tasks))

    def describe(self) -> str:
        from ds01.limits.units import format_size

        parts = []
        if self.cpus is not None:
            parts.append(f"{self.cpus:g} CPUs")
        if self.memory is not None:
            parts.append(f"memory {format_size(self.memory)}")
        if self.tasks is not None:
            parts.append(f"{self.tasks} tasks")
        return ", ".join(parts) or "no cap"


def wanted(config: Any) -> list[SliceLimits]:
    """``ds01.slice`` (no cap of its own) and one slice per group, from the config's totals."""
    out = [SliceLimits(TOP_UNIT, None, None, None, None)]
    for name, group in sorted(config.groups.items()):
        totals = group.slice or {}
        cpus = totals.get("slice_cpus")
        memory = totals.get("slice_memory")
        tasks = totals.get("slice_tasks")
        out.append(
            SliceLimits(
                cgroup_parent(name),
                name,
                None if cpus is None else float(cpus),
                None if memory is None else int(memory),
                None if tasks is None else int(tasks),
            )
        )
    return out


# -- systemd driver ----------------------------------------------------------------------------


def unit_text(s: SliceLimits) -> str:
    who = f"the containers of group {s.group}" if s.group else "every ds01 container (one slice per group below it)"
    lines = [
        "# Written by `ds01 admin setup-slices` from resource-limits.yaml; run it again after a change.",
        "[Unit]",
        f"Description=ds01: {who}",
        "Before=slices.target",
        "",
        "[Slice]",
    ]
    if s.cpus is not None:
        lines.append(f"CPUQuota={round(s.cpus * 100)}%")
    if s.memory is not None:
        lines.append(f"MemoryMax={s.memory}")
    if s.tasks is not None:
        lines.append(f"TasksMax={s.tasks}")
    return "\n".join(lines) + "\n"


def verify_units(texts: dict[str, str]) -> list[str]:
    """``systemd-analyze verify`` of the unit texts (in a scratch folder): its complaints, one a line.

    Raises OperationFailed when systemd-analyze is not installed."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        raise OperationFailed("systemd-analyze is not installed; install systemd to verify the slice units.")
    with tempfile.TemporaryDirectory(prefix="ds01-slices.") as scratch:
        files = []
        for name, text in texts.items():
            (Path(scratch) / name).write_text(text)
            files.append(str(Path(scratch) / name))
        proc = subprocess.run(
            [tool, "verify", *files],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
        )
    problems = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
    if proc.returncode != 0 and not problems:
        problems = [f"systemd-analyze verify exited with {proc.returncode}"]
    return problems


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def apply_units(slices: Iterable[SliceLimits], root: Path, *, dry_run: bool = False) -> list[str]:
    """Write the slice units under ``root/etc/systemd/system`` (verified first); what changed."""
    texts = {s.unit: unit_text(s) for s in slices}
    problems = verify_units(texts)
    if problems:
        raise OperationFailed("systemd-analyze rejects the slice units; nothing was written.", details=problems[:5])
    folder = root / UNIT_DIR
    changes = []
    for name, text in texts.items():
        path = folder / name
        try:
            same = path.read_text() == text
        except OSError:
            same = False
        if same:
            continue
        changes.append(f"{'would write' if dry_run else 'wrote'} {path}")
        if not dry_run:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{name}.tmp")
            tmp.write_text(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
    if changes and not dry_run and root == Path("/") and systemd_running():
        proc = subprocess.run(["systemctl", "daemon-reload"], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise OperationFailed(f"systemctl daemon-reload failed: {proc.stderr.strip()}")
        changes.append("systemctl daemon-reload")
    return changes


# -- cgroupfs driver ---------------------------------------------------------------------------


def cgroup_values(s: SliceLimits, version: int) -> dict[str, str]:
    """controller-relative file -> value, e.g. ``memory/memory.limit_in_bytes`` -> ``402653184``."""
    if version == 2:
        quota = "max" if s.cpus is None else str(max(1000, round(s.cpus * PERIOD_US)))
        return {
            "cpu.max": f"{quota} {PERIOD_US}",
            "memory.max": "max" if s.memory is None else str(s.memory),
            "pids.max": "max" if s.tasks is None else str(s.tasks),
        }
    return {
        "cpu/cpu.cfs_period_us": str(PERIOD_US),
        "cpu/cpu.cfs_quota_us": "-1" if s.cpus is None else str(max(1000, round(s.cpus * PERIOD_US))),
        "memory/memory.limit_in_bytes": "-1" if s.memory is None else str(s.memory),
        "pids/pids.max": "max" if s.tasks is None else str(s.tasks),
    }


Bases = dict[str, str]  # controller ("" on v2) -> the daemon's cgroup in it ("/system.slice/docker.service")


def daemon_cgroups(proc: Path = Path("/proc")) -> Bases:
    """The Docker daemon's own cgroup per controller, from ``/proc/<dockerd>/cgroup`` ({} when
    no dockerd process is visible: then the hierarchy roots are used)."""
    found: list[tuple[int, Bases]] = []
    try:
        entries = list(proc.iterdir())
    except OSError:
        return {}
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "dockerd":
                continue
            uid = entry.stat().st_uid
            text = (entry / "cgroup").read_text()
        except OSError:
            continue
        bases: Bases = {}
        for line in text.splitlines():
            _num, _, rest = line.partition(":")
            controllers, _, path = rest.partition(":")
            for c in controllers.split(",") if controllers else [""]:
                bases[c] = path
        found.append((uid, bases))
    found.sort(key=lambda f: f[0] != 0)  # root's daemon first
    return found[0][1] if found else {}


def cgroup_file(rel: str, unit: str, version: int, root: Path = CGROUP_ROOT, bases: Bases | None = None) -> Path:
    bases = bases or {}
    if version == 2:
        return root / bases.get("", "/").strip("/") / unit / rel
    controller, _, name = rel.partition("/")
    return root / controller / bases.get(controller, "/").strip("/") / unit / name


def _same(current: str, value: str) -> bool:
    current = current.strip()
    if current == value:
        return True
    # v1 reports "unlimited" as a large page-aligned number; v2's cpu.max as "max 100000".
    if value == "-1" and current.isdigit() and int(current) >= 2**62:
        return True
    return False


def read_values(
    s: SliceLimits, version: int, root: Path = CGROUP_ROOT, bases: Bases | None = None
) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for rel in cgroup_values(s, version):
        try:
            out[rel] = cgroup_file(rel, s.unit, version, root, bases).read_text().strip()
        except OSError:
            out[rel] = None
    return out


def mismatches(s: SliceLimits, version: int, root: Path = CGROUP_ROOT, bases: Bases | None = None) -> list[str]:
    """What differs between the kernel's folder and the wanted limits (empty: all carried)."""
    current = read_values(s, version, root, bases)
    out = []
    for rel, value in cgroup_values(s, version).items():
        have = current[rel]
        if have is None and not s.capped:
            continue  # an uncapped group's folder appears with its first container
        if have is None:
            out.append(f"{cgroup_file(rel, s.unit, version, root, bases)} is missing")
        elif not _same(have, value):
            out.append(f"{cgroup_file(rel, s.unit, version, root, bases)} is {have}, not {value}")
    return out


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def apply_cgroupfs(
    slices: Iterable[SliceLimits],
    version: int,
    *,
    root: Path = CGROUP_ROOT,
    dry_run: bool = False,
    created: list[Path] | None = None,
    bases: Bases | None = None,
) -> list[str]:
    """Write the limits into the parent folders Docker uses; what changed. ``created`` collects
    the folders made here (for an uninstall)."""
    if bases is None:
        bases = daemon_cgroups()
    changes = []
    for s in slices:
        if s.group is None and not s.capped:
            continue  # ds01.slice: the parent of ungrouped users; nothing to cap
        current = read_values(s, version, root, bases)
        for rel, value in cgroup_values(s, version).items():
            path = cgroup_file(rel, s.unit, version, root, bases)
            have = current[rel]
            if (have is not None and _same(have, value)) or (have is None and not s.capped):
                continue
            if not path.parent.parent.is_dir():
                raise OperationFailed(f"{path.parent.parent} does not exist: is this cgroup hierarchy mounted?")
            changes.append(f"{'would set' if dry_run else 'set'} {path} = {value}")
            if dry_run:
                continue
            try:
                if not path.parent.is_dir():
                    path.parent.mkdir()
                    if created is not None:
                        created.append(path.parent)
                    if version == 2:
                        _enable_controllers(path.parent)
                try:
                    _write(path, value)
                except OSError as exc:
                    memsw = path.with_name("memory.memsw.limit_in_bytes")
                    if exc.errno != errno.EINVAL or not path.name == "memory.limit_in_bytes" or not memsw.exists():
                        raise
                    _write(memsw, "-1")  # memory+swap must stay >= memory: lift it, then set memory
                    _write(path, value)
            except OSError as exc:
                why = exc.strerror or str(exc)
                if exc.errno == errno.EBUSY:
                    why += " (the group uses more than that now)"
                raise OperationFailed(f"Cannot set {path} to {value}: {why}.") from exc
    return changes


def _enable_controllers(folder: Path) -> None:
    try:
        _write(folder / "cgroup.subtree_control", "+cpu +memory +pids")
    except OSError:
        pass


# -- both ----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    driver: str
    version: int
    changes: list[str]
    uncapped: list[str]  # groups with no totals
    created: list[Path]


def setup(
    config: Any,
    *,
    layout: Any | None = None,
    unit_root: Path = Path("/"),
    cgroup_root: Path = CGROUP_ROOT,
    dry_run: bool = False,
) -> Outcome:
    """Make the slices carry the config's group totals, for Docker's cgroup driver."""
    if layout is None:
        from ds01.base.cgroups import daemon_layout

        layout = daemon_layout()
    slices = wanted(config)
    uncapped = [s.group for s in slices if s.group and not s.capped]
    created: list[Path] = []
    if layout.driver == "systemd":
        changes = apply_units(slices, unit_root, dry_run=dry_run)
    else:
        changes = apply_cgroupfs(slices, layout.version, root=cgroup_root, dry_run=dry_run, created=created)
    return Outcome(layout.driver, layout.version, changes, uncapped, created)


def reapply(config: Any, *, layout: Any | None = None, cgroup_root: Path = CGROUP_ROOT) -> list[str]:
    """For ``lifecycle run``: write the cgroupfs limits again when they are gone or differ (a
    reboot empties /sys/fs/cgroup). Nothing under the systemd driver (systemd keeps the slices)."""
    if layout is None:
        from ds01.base.cgroups import daemon_layout

        layout = daemon_layout()
    if layout.driver == "systemd":
        return []
    return apply_cgroupfs(wanted(config), layout.version, root=cgroup_root)


def check(config: Any, layout: Any, *, unit_root: Path = Path("/"), cgroup_root: Path = CGROUP_ROOT) -> list[str]:
    """What is wrong with the slices now (empty: every group carries its totals)."""
    problems = []
    bases = daemon_cgroups() if layout.driver != "systemd" else {}
    for s in wanted(config):
        if layout.driver == "systemd":
            path = unit_root / UNIT_DIR / s.unit
            try:
                if path.read_text() != unit_text(s):
                    problems.append(f"{path} does not match the config")
            except OSError:
                problems.append(f"{path} is missing")
        elif s.group is not None or s.capped:
            problems.extend(mismatches(s, layout.version, cgroup_root, bases))
    return problems
