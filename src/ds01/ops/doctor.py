"""``ds01 admin doctor``: every check of an installation, with the fix for each one not ok.

A check is ``ok``, ``warn``, ``fail`` or ``skip`` (it needs something this host lacks:
systemd, a GPU; the line says which). Doctor never changes anything: the ledger is opened
read-only and Docker is only asked questions.
"""

from __future__ import annotations

import grp
import os
import shutil
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ds01.ops.install import Manifest, Targets, dir_owner_mode, schedule_files
from ds01.records import asdict, dataclass

LIFECYCLE_STALE = 15 * 60  # a pass every 5 minutes: three missed is a problem


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


class _Context:
    def __init__(self, targets: Targets):
        self.targets = targets
        self.config: Any = None
        self.info: dict[str, Any] | None = None
        self.docker_error: str | None = None


def _first(problems: list[Any]) -> str:
    """The first problem, and how many more there are."""
    more = len(problems) - 1
    return f"{problems[0]}" + (f" (+{more} more)" if more > 0 else "")


def _config(ctx: _Context) -> list[Check]:
    from ds01.limits.config import check_file

    path = ctx.targets.config
    if not path.exists():
        return [Check("config", "fail", f"{path} does not exist", "ds01 admin install")]
    config, problems, warnings = check_file(path)
    if problems:
        return [
            Check("config", "fail", f"{path}: {_first(problems)}", f"fix the file, then `ds01 limits check {path}`")
        ]
    ctx.config = config
    if warnings:
        return [Check("config", "warn", f"{path} is valid with warnings: {warnings[0]}", f"ds01 limits check {path}")]
    return [Check("config", "ok", f"{path} is valid")]


def _docker(ctx: _Context) -> list[Check]:
    from ds01.base import docker_client as dc
    from ds01.errors import Ds01Error

    try:
        dc.reset_client()
        with dc.engine_errors("ask the Docker engine for its settings"):
            ctx.info = dict(dc.api().info())
    except Ds01Error as exc:
        ctx.docker_error = str(exc)
        return [
            Check(
                "docker",
                "fail",
                f"Docker engine unreachable at {dc.docker_host()}: {exc}",
                "start the engine (`systemctl start docker`) or fix DOCKER_HOST",
            )
        ]
    info = ctx.info
    driver, version = info.get("CgroupDriver", "?"), info.get("CgroupVersion", "1")
    return [
        Check("docker", "ok", f"Docker {info.get('ServerVersion', '?')}, cgroup driver {driver}, cgroup v{version}")
    ]


def _slices(ctx: _Context) -> list[Check]:
    from ds01.base.cgroups import Layout
    from ds01.ops import slices

    if ctx.config is None:
        return [Check("slices", "skip", "needs a valid config")]
    if ctx.info is None:
        return [Check("slices", "skip", "needs the Docker engine (see docker)")]
    driver = str(ctx.info.get("CgroupDriver") or "cgroupfs")
    layout = Layout(driver, int(ctx.info.get("CgroupVersion") or 1))
    capped = [s for s in slices.wanted(ctx.config) if s.capped]
    if driver == "systemd" and not slices.systemd_running() and ctx.targets.real:
        return [Check("slices", "skip", "Docker uses the systemd driver but systemd is not running here")]
    problems = slices.check(ctx.config, layout, unit_root=ctx.targets.root)
    if problems:
        return [Check("slices", "fail", _first(problems), "ds01 admin setup-slices")]
    return [Check("slices", "ok", f"{len(capped)} group slice(s) carry their totals ({driver} driver)")]


def _gpu(ctx: _Context) -> list[Check]:
    if ctx.config is None:
        return [Check("gpu", "skip", "needs a valid config")]
    alloc = ctx.config.gpu_allocation
    if alloc.inventory != "nvml":
        return [
            Check("nvidia runtime", "skip", f"inventory is {alloc.inventory}: no GPU driver needed"),
            Check("nvml", "skip", f"inventory is {alloc.inventory} (topology {alloc.topology})"),
        ]
    out = []
    if ctx.info is not None:
        runtimes = set((ctx.info.get("Runtimes") or {}).keys())
        if "nvidia" in runtimes or any("nvidia" in str(r) for r in (ctx.info.get("CDISpecDirs") or [])):
            out.append(Check("nvidia runtime", "ok", "the nvidia runtime is registered with Docker"))
        else:
            out.append(
                Check(
                    "nvidia runtime",
                    "warn",
                    "Docker has no nvidia runtime registered",
                    "install the NVIDIA Container Toolkit, then `nvidia-ctk runtime configure "
                    "--runtime=docker` and restart Docker",
                )
            )
    from ds01.errors import Ds01Error
    from ds01.gpu import inputs

    try:
        inv = inputs.inventory(ctx.config)
    except Ds01Error as exc:
        text = str(exc)
        if "not found" in text.lower() or "library" in text.lower() or "driver" in text.lower():
            out.append(Check("nvml", "skip", f"needs a GPU and its driver: {text}"))
        else:
            out.append(Check("nvml", "fail", text, "nvidia-smi; check the driver"))
        return out
    slots = getattr(inv, "slots", None)
    count = len(slots) if slots is not None else "?"
    mig = sum(1 for s in (slots or []) if ":" in str(getattr(s, "id", "")))
    if alloc.enable_mig is False and mig:
        out.append(
            Check(
                "nvml",
                "warn",
                f"NVML shows {mig} MIG slot(s) but gpu_allocation.enable_mig is false",
                "set enable_mig: true or disable MIG on those GPUs",
            )
        )
    else:
        out.append(Check("nvml", "ok", f"NVML answers: {count} slot(s), {mig} of them MIG"))
    return out


def _ledger(ctx: _Context) -> list[Check]:
    from ds01.gpu import ledger

    path = ctx.targets.state / ledger.DB_NAME
    if not path.exists():
        return [Check("ledger", "ok", f"no ledger yet ({path} is made by the first allocation)")]
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            rows = conn.execute("SELECT count(*) FROM allocations").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return [
            Check(
                "ledger",
                "fail",
                f"{path} cannot be read: {exc}",
                f"move it aside (mv {path} {path}.broken) and restore a backup; "
                "`ds01 gpu reconcile` then re-records running containers",
            )
        ]
    if result != "ok":
        return [
            Check(
                "ledger",
                "fail",
                f"{path} is corrupt: {result}",
                f"restore a backup, or `sqlite3 {path} .recover` into a new file",
            )
        ]
    if version < ledger.SCHEMA_VERSION:
        return [
            Check(
                "ledger",
                "warn",
                f"{path}: schema {version}, current is {ledger.SCHEMA_VERSION}",
                "any gpu command migrates it (every row is kept)",
            )
        ]
    if version > ledger.SCHEMA_VERSION:
        return [
            Check(
                "ledger",
                "fail",
                f"{path}: schema {version} is newer than this ds01 ({ledger.SCHEMA_VERSION})",
                "upgrade ds01",
            )
        ]
    return [Check("ledger", "ok", f"{path}: schema {version}, {rows} row(s), quick_check ok")]


def _reconcile(ctx: _Context) -> list[Check]:
    if ctx.config is None or ctx.info is None:
        return [Check("ledger vs docker", "skip", "needs a valid config and the Docker engine")]
    from ds01.errors import Ds01Error
    from ds01.gpu import ledger, sync

    if not (ctx.targets.state / ledger.DB_NAME).exists():
        return [Check("ledger vs docker", "ok", "no ledger yet")]
    try:
        report = sync.reconcile(ctx.config, dry_run=True, ledger=ledger.Ledger(ctx.targets.state / ledger.DB_NAME))
    except Ds01Error as exc:
        return [Check("ledger vs docker", "warn", f"reconcile dry run failed: {exc}", "ds01 gpu reconcile")]
    if report.changed():
        return [
            Check(
                "ledger vs docker",
                "warn",
                "the ledger and Docker disagree (see `ds01 gpu reconcile --dry-run`)",
                "ds01 gpu reconcile",
            )
        ]
    return [Check("ledger vs docker", "ok", "the ledger and Docker agree")]


def _folders(ctx: _Context) -> list[Check]:
    mode = ctx.config.security.mode if ctx.config is not None else "group"
    uid, gid, want = dir_owner_mode(mode)
    out = []
    for what, path in (("state folder", ctx.targets.state), ("log folder", ctx.targets.logs)):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            out.append(Check(what, "fail", f"{path} does not exist", "ds01 admin install"))
            continue
        have = stat.S_IMODE(st.st_mode)
        if (st.st_uid, st.st_gid, have) != (uid, gid, want):
            out.append(
                Check(
                    what,
                    "fail",
                    f"{path} is {st.st_uid}:{st.st_gid} mode {have:o}; {mode} mode wants {uid}:{gid} mode {want:o}",
                    f"chown {uid}:{gid} {path} && chmod {want:o} {path}  (or: ds01 admin install)",
                )
            )
        else:
            out.append(Check(what, "ok", f"{path}: {mode} mode owner and mode {want:o}"))
    return out


def _schedule(ctx: _Context) -> list[Check]:
    out = []
    for source, target in schedule_files(ctx.targets):
        name = target.name if target.parent.name != "system" else target.name
        if not target.exists():
            out.append(Check(f"schedule {name}", "fail", f"{target} is missing", "ds01 admin install"))
        elif target.read_bytes() != source.read_bytes():
            out.append(
                Check(
                    f"schedule {name}",
                    "warn",
                    f"{target} differs from ds01's {source}",
                    "ds01 admin install (replaces it)",
                )
            )
        else:
            out.append(Check(f"schedule {name}", "ok", f"{target} installed"))
    out.append(_last_pass(ctx))
    return out


def _last_pass(ctx: _Context) -> Check:
    """When the last pass ran: the cron job's log (lifecycle.log, appended to on every pass) and
    the ledger's newest activity sample (each pass samples every running container; nothing
    else writes samples), so a pass run by the systemd timer, whose output goes to the journal,
    counts too. A pass under the timer with no container running leaves neither."""
    from ds01.gpu import ledger

    candidates = []
    for p in (ctx.targets.logs / "lifecycle.log",):
        try:
            candidates.append(p.stat().st_mtime)
        except OSError:
            pass
    db = ctx.targets.state / ledger.DB_NAME
    if db.exists():
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            try:
                (newest,) = conn.execute("SELECT max(at) FROM samples").fetchone()
            finally:
                conn.close()
            if newest is not None:
                candidates.append(float(newest))
        except sqlite3.Error:
            pass  # the ledger check names a ledger it cannot read
    now = time.time()
    if candidates and now - max(candidates) <= LIFECYCLE_STALE:
        return Check("lifecycle pass", "ok", f"last pass {int(now - max(candidates))}s ago")
    installed = Manifest.load(ctx.targets.manifest).installed_at
    if not candidates and installed and now - installed <= LIFECYCLE_STALE:
        return Check("lifecycle pass", "ok", "no pass yet (installed minutes ago; one runs every 5 minutes)")
    when = f"{int((now - max(candidates)) / 60)} minutes ago" if candidates else "never"
    return Check(
        "lifecycle pass",
        "warn",
        f"last `ds01 lifecycle run`: {when}",
        "check cron (or the ds01-lifecycle.timer) and /var/log/ds01/lifecycle.log",
    )


def _secure(ctx: _Context) -> list[Check]:
    if ctx.config is None or not ctx.config.security.secure:
        return [Check("secure mode", "skip", "group mode: no sudoers rule needed")]
    out = []
    rule = ctx.targets.sudoers
    visudo = shutil.which("visudo") or "/usr/sbin/visudo"
    if not rule.exists():
        out.append(Check("sudoers rule", "fail", f"{rule} is missing", "ds01 admin install --mode secure"))
    else:
        proc = subprocess.run([visudo, "-cf", str(rule)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            out.append(Check("sudoers rule", "fail", f"visudo rejects {rule}", "ds01 admin sudoers"))
        else:
            out.append(Check("sudoers rule", "ok", f"{rule} passes visudo -c"))
    try:
        members = [m for m in grp.getgrnam("docker").gr_mem if m != "root"]
    except KeyError:
        members = []
    if members:
        out.append(
            Check(
                "docker group",
                "fail",
                f"users in the docker group bypass secure mode: {', '.join(members)}",
                "gpasswd -d USER docker, for each",
            )
        )
    else:
        out.append(Check("docker group", "ok", "no ordinary user is in the docker group"))
    return out


def _clock(ctx: _Context) -> list[Check]:
    import ds01

    now = time.time()
    built = Path(ds01.__file__).stat().st_mtime
    if now < built - 86400:
        return [
            Check(
                "clock",
                "fail",
                "the clock is behind the date ds01 was installed",
                "set the time (timedatectl set-ntp true)",
            )
        ]
    if ctx.info and ctx.info.get("SystemTime"):
        from datetime import datetime

        try:
            docker_now = datetime.fromisoformat(
                str(ctx.info["SystemTime"])[:26].rstrip("Z") + "+00:00"
                if "Z" in str(ctx.info["SystemTime"])
                else str(ctx.info["SystemTime"])[:32]
            ).timestamp()
            if abs(docker_now - now) > 60:
                return [
                    Check(
                        "clock",
                        "warn",
                        f"this clock and the Docker engine's differ by {int(abs(docker_now - now))}s",
                        "enable NTP",
                    )
                ]
        except ValueError:
            pass
    return [Check("clock", "ok", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now)))]


CHECKS: tuple[Callable[[_Context], list[Check]], ...] = (
    _config,
    _docker,
    _slices,
    _gpu,
    _ledger,
    _reconcile,
    _folders,
    _schedule,
    _secure,
    _clock,
)


def run(targets: Targets) -> list[Check]:
    ctx = _Context(targets)
    out: list[Check] = []
    for check in CHECKS:
        try:
            out.extend(check(ctx))
        except Exception as exc:  # noqa: BLE001 - a check that breaks is itself a finding, never a crash
            out.append(
                Check(
                    check.__name__.strip("_"),
                    "fail",
                    f"the check itself failed: {exc}",
                    "report this with `ds01 admin doctor --json`",
                )
            )
    return out
