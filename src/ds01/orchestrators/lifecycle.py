"""One lifecycle pass (``ds01 lifecycle run``, from cron or a systemd timer) and the idle monitor.

A pass: sample every running ds01 container; warn the owners of containers within
``policies.idle_warning`` of a stop; stop containers idle past ``idle_timeout`` and any past
``max_runtime`` (a stop like ``container stop``: the GPU stays held for
``gpu_hold_after_stop``); release expired holds (``gpu release-stale``); remove containers
stopped longer than ``container_hold_after_stop``, keeping their definition so
``container run NAME`` recreates them; drop what was kept of deleted images' passwd and group
(``base.image_etc``). One pass at a time: a second pass started while one
runs skips (``flock`` on ``DS01_STATE_DIR/lifecycle.lock``). ``dry_run`` writes nothing at all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ds01.records import dataclass, field, replace
from ds01.units.containers import activity
from ds01.units.containers import lifecycle as container_lifecycle

if TYPE_CHECKING:
    from ds01.base.cgroups import Reading
    from ds01.base.container_spec import ContainerInfo
    from ds01.gpu.idle import Limits, Verdict
    from ds01.gpu.ledger import Row, SampleRow
    from ds01.gpu.model import Inventory, SlotActivity
    from ds01.identity import Identity
    from ds01.limits.config import Config

LOCK_NAME = "lifecycle.lock"


@dataclass
class PassReport:
    dry_run: bool = False
    skipped: bool = False
    sampled: int = 0
    warned: list[dict[str, Any]] = field(default_factory=list)
    stopped_idle: list[dict[str, Any]] = field(default_factory=list)
    stopped_runtime: list[dict[str, Any]] = field(default_factory=list)
    released: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "skipped": self.skipped,
            "sampled": self.sampled,
            "warned": self.warned,
            "stopped_idle": self.stopped_idle,
            "stopped_runtime": self.stopped_runtime,
            "released": self.released,
            "removed": self.removed,
            "failed": self.failed,
            "warnings": self.warnings,
        }


class _LimitsOf:
    """Each user's lifecycle limits, resolved once per pass. A user the config cannot resolve is
    never stopped or removed (an admin acts)."""

    def __init__(self, config: Config):
        self.config = config
        self._cache: dict[str, tuple[Limits, int | None]] = {}

    def get(self, user: str) -> tuple[Limits, int | None]:
        from ds01.errors import Ds01Error
        from ds01.gpu.idle import Limits
        from ds01.limits.resolver import resolve

        if user not in self._cache:
            p = self.config.policies
            try:
                v = resolve(self.config, user).values
                lim = Limits(
                    v.get("idle_timeout"),
                    v.get("max_runtime"),
                    int(p.idle_warning),
                    int(p.max_keep_alive),
                    float(p.idle_cpu_percent),
                )
                hold = v.get("container_hold_after_stop")
            except Ds01Error:
                lim = Limits(None, None, int(p.idle_warning), int(p.max_keep_alive), float(p.idle_cpu_percent))
                hold = None
            self._cache[user] = (lim, hold)
        return self._cache[user]


def _owner(info: Any) -> Identity | None:
    from ds01.errors import Ds01Error
    from ds01.units.containers.common import owner_identity

    try:
        return owner_identity(info.user, info.uid)
    except Ds01Error:
        return None


def _assess(
    config: Config,
    observed: list[activity.Observed],
    now: float,
    *,
    record_warnings: bool,
    samples: dict[str, SampleRow] | None = None,
):
    """(observed, new sample, verdict) per container; the samples are not yet stored.
    ``samples``: the latest stored samples when the caller has already read them."""
    from ds01.gpu import idle
    from ds01.gpu.ledger import keep_alives, latest_samples, peek

    if not observed:
        return []
    stored = peek(
        lambda led: (latest_samples(led) if samples is None else samples, keep_alives(led)),
        secure=config.security.secure,
    )
    prev, kas = stored if stored is not None else (samples or {}, {})
    limits = _LimitsOf(config)
    out = []
    for o in observed:
        lim, _hold = limits.get(o.info.user)
        sample = idle.next_sample(prev.get(o.obs.container), o.obs, cpu_threshold=lim.idle_cpu_percent)
        ends = []
        ka = kas.get(o.obs.container)
        if ka is not None and ka[0] == o.info.user:
            ends.append(idle.keep_alive_end(ka[1], ka[2], lim.max_keep_alive))
        owner = _owner(o.info)
        if owner is not None and lim.idle_timeout is not None:
            found = activity.keep_alive_file(owner, o.workspace, lim.max_keep_alive)
            if found is not None:
                ends.append(idle.keep_alive_end(found[0], found[1], lim.max_keep_alive))
        v = idle.verdict(sample, lim, max(ends) if ends else None, now)
        if v.action == "warn" and record_warnings:
            sample = replace(sample, warned_for=v.stop_at)
        out.append((o, sample, v))
    return out


def _lock(config: Config) -> int | None:
    """The pass lock's descriptor, or None when another pass holds it."""
    import fcntl

    from ds01 import paths
    from ds01.errors import OperationFailed
    from ds01.fsutil import make_dirs

    folder = paths.state_dir()
    make_dirs(folder)
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise OperationFailed(f"Cannot open the lifecycle lock in {folder}: {exc.strerror or exc}.") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _event(name: str, user: str, container: str, slots: list[str], reason: str, at: float) -> list[str]:
    from ds01.gpu import events

    return events.write([events.Event(name, user, container, s, reason, at) for s in (slots or [""])])


def _message(v: Verdict, name: str, now: float) -> str:
    if v.action == "warn":
        if v.stop_at is not None and v.stop_at == v.runtime_stop_at:
            return (
                f"Your container {name} {v.reason}. Save your work: max_runtime cannot be extended; "
                f"`ds01 container run {name}` starts it again afterwards."
            )
        return f"Your container {name} {v.reason}. Use it, or keep it with `ds01 container keep-alive {name}`."
    return f"Your container {name} was stopped: {v.reason}. `ds01 container run {name}` starts it again."


def run_pass(
    config: Config,
    *,
    dry_run: bool = False,
    now: Callable[[], float] = time.time,
    stop_timeout: int = 10,
    only: Callable[[str], bool] | None = None,
) -> PassReport:
    """One pass. ``only(docker_name)``: limit sampling, stops and removals to the containers it
    accepts (expired GPU holds are released for everyone, as by ``gpu release-stale``)."""
    report = PassReport(dry_run=dry_run)
    fd = None if dry_run else _lock(config)
    if fd is None and not dry_run:
        report.skipped = True
        return report
    try:
        _run(config, report, dry_run=dry_run, now=now, stop_timeout=stop_timeout, only=only)
    finally:
        if fd is not None:
            os.close(fd)
    return report


def _run(
    config: Config,
    report: PassReport,
    *,
    dry_run: bool,
    now: Callable[[], float],
    stop_timeout: int,
    only: Callable[[str], bool] | None,
) -> None:
    from ds01.errors import Ds01Error
    from ds01.gpu import housekeeping
    from ds01.gpu.ledger import Ledger, add_sample

    t = now()
    secure = config.security.secure
    if not dry_run and os.geteuid() == 0:
        # cgroupfs group caps live in /sys/fs/cgroup, which a reboot empties: write them again.
        from ds01.ops import slices

        try:
            slices.reapply(config)
        except (Ds01Error, OSError) as exc:
            report.warnings.append(f"group caps not re-applied: {exc}")
    running = [i for i in activity.running_containers() if only is None or only(i.docker_name)]
    observed = activity.observe(config, running, now=t)
    assessed = _assess(config, observed, t, record_warnings=not dry_run)
    if not dry_run and assessed:
        led = Ledger(secure=secure)
        try:
            with led.write() as conn:
                for _o, sample, _v in assessed:
                    add_sample(conn, sample)
        finally:
            led.close()
    report.sampled = len(assessed)
    for o, _sample, v in assessed:
        if v.action == "none":
            continue
        entry = {"user": v.user, "container": v.container, "reason": v.reason}
        name = o.info.name
        if v.action == "warn":
            report.warned.append(entry)
            if not dry_run:
                notice = {"at": t, "container": name, "kind": "warning", "message": _message(v, name, t)}
                activity.notify(o.pids, o.info.uid, notice, secure=secure)
                report.warnings.extend(_event("idle-warning", v.user, v.container, o.slots, v.reason, t))
            continue
        (report.stopped_runtime if v.action == "stop_runtime" else report.stopped_idle).append(entry)
        if dry_run:
            continue
        notice = {"at": t, "container": name, "kind": "stopped", "message": _message(v, name, t)}
        activity.notify(o.pids, o.info.uid, notice, secure=secure)
        owner = _owner(o.info)
        if owner is None:
            report.failed.append({**entry, "reason": f"owner {v.user!r} unknown; not stopped"})
            continue
        target = container_lifecycle.Target(o.info.name, o.info.docker_name, owner, o.info, None)
        try:
            container_lifecycle.stop(config, target, timeout=stop_timeout)
        except Ds01Error as exc:
            report.failed.append({**entry, "reason": exc.message})
            continue
        event = "stop-runtime" if v.action == "stop_runtime" else "stop-idle"
        report.warnings.extend(_event(event, v.user, v.container, o.slots, v.reason, now()))
    # Expired GPU holds: the stopped container goes (definition kept), then its slot.
    stale = housekeeping.release_stale(
        config, dry_run=dry_run, remove_container=container_lifecycle.remove_for_release, now=now
    )
    for e in stale.released:
        report.released.append({"user": e["user"], "container": e["container"], "reason": e["reason"]})
    for e in stale.reconcile.released:
        report.released.append({"user": e["user"], "container": e["container"], "reason": e["reason"]})
    for e in stale.failed:
        report.failed.append({"user": e["user"], "container": e["container"], "reason": e["reason"]})
    report.warnings.extend(stale.reconcile.warnings)
    _remove_stopped(config, report, dry_run=dry_run, now=now, only=only)
    if not dry_run:
        _prune_image_etc(report)


def _prune_image_etc(report: PassReport) -> None:
    """Drop the passwd/group kept for images deleted since (by ``docker rmi``, not ds01)."""
    from ds01.base import images
    from ds01.errors import Ds01Error

    try:
        images.prune_image_etc()
    except Ds01Error as exc:
        report.warnings.append(f"kept image files not pruned: {exc.message}")


def _remove_stopped(
    config: Config, report: PassReport, *, dry_run: bool, now: Callable[[], float], only: Callable[[str], bool] | None
) -> None:
    from ds01.errors import Ds01Error
    from ds01.gpu import service
    from ds01.gpu.idle import human

    limits = _LimitsOf(config)
    t = now()
    for info in activity.stopped_containers():
        if only is not None and not only(info.docker_name):
            continue
        _lim, hold = limits.get(info.user)
        if hold is None:
            continue
        since = activity.stopped_since(info, secure=config.security.secure)
        if since is None or since + hold > t:
            continue
        reason = f"stopped longer than container_hold_after_stop {human(hold)}"
        entry = {"user": info.user, "container": info.docker_name, "reason": reason}
        if dry_run:
            report.removed.append(entry)
            continue
        try:
            container_lifecycle.remove_for_release(info.docker_name, info.user)
            rows = service.release(info.docker_name, reason=reason)
        except Ds01Error as exc:
            report.failed.append({**entry, "reason": exc.message})
            continue
        report.removed.append(entry)
        report.warnings.extend(
            _event("remove-stopped", info.user, info.docker_name, [r.slot for r in rows], reason, now())
        )


# -- monitor idle -------------------------------------------------------------------------------------


def monitor(
    config: Config,
    caller: Identity,
    *,
    all_users: bool,
    now: Callable[[], float] = time.time,
    only: Callable[[str], bool] | None = None,
    infos: list[ContainerInfo] | None = None,
    rows: list[Row] | None = None,
    gpu_activity: dict[str, SlotActivity] | None = None,
    readings: dict[str, Reading | None] | None = None,
    samples: dict[str, SampleRow] | None = None,
    inv: Inventory | None = None,
) -> list[dict[str, Any]]:
    """Each running container (the caller's, or everyone's) with what the next pass would do.

    What the caller has already read this moment is used instead of reading it again: ``infos``
    (the running ds01 containers), ``samples`` (the latest stored samples), and ``rows``,
    ``gpu_activity``, ``readings`` and ``inv`` as ``activity.observe`` takes them."""
    t = now()
    running = activity.running_containers() if infos is None else infos
    infos = [i for i in running if only is None or only(i.docker_name)]
    if not all_users:
        infos = [i for i in infos if i.uid == caller.uid and i.user == caller.name]
    observed = activity.observe(config, infos, now=t, rows=rows, gpu_activity=gpu_activity, readings=readings, inv=inv)
    out = []
    for o, _sample, v in _assess(config, observed, t, record_warnings=False, samples=samples):
        out.append({"name": o.info.name, "gpu_slots": o.slots, **v.to_json(t)})
    return sorted(out, key=lambda r: (r["user"], r["name"]))
