"""Idle and runtime verdicts: plain functions over activity samples and limits (SPEC §8).

One sample per running container per lifecycle pass. CPU use is a delta of the cgroup's
cumulative CPU time between two samples, so a container's first sample says nothing about
its CPU (and is never idle). A sample is idle when, over the interval since the previous
sample, CPU stayed under ``policies.idle_cpu_percent`` (percent of one core), none of its GPU
slots was busy (``busy=None``, unknown, counts as busy) and no shell was open. The idle
stretch starts at the previous sample's time and is carried forward in each sample, so the
verdict needs only the newest one.

Stop times: idle ``idle_since + idle_timeout`` (postponed to the end of a keep-alive),
runtime ``started_at + max_runtime`` (a keep-alive never extends it). A warning is due once
the earlier of the two is within ``idle_warning``; it is given once per stop time.
"""

from __future__ import annotations

from typing import Any

from ds01.gpu.ledger import Observation, SampleRow
from ds01.records import dataclass


def cpu_percent(prev: SampleRow | None, obs: Observation) -> float | None:
    """Percent of one core used since ``prev`` (None: no comparable previous sample)."""
    if prev is None or prev.container_id != obs.container_id or prev.cpu_ns is None or obs.cpu_ns is None:
        return None
    if obs.started_at is not None and prev.at < obs.started_at:
        return None  # restarted in between: the counter started again
    span = obs.at - prev.at
    used = obs.cpu_ns - prev.cpu_ns
    if span <= 0 or used < 0:
        return None
    return used / 1e9 / span * 100.0


def next_sample(prev: SampleRow | None, obs: Observation, *, cpu_threshold: float) -> SampleRow:
    pct = cpu_percent(prev, obs)
    idle = pct is not None and pct < cpu_threshold and obs.gpu_busy is False and obs.shells == 0
    continued = prev is not None and pct is not None  # comparable with the previous sample
    if idle and continued and prev is not None:
        if prev.idle and prev.idle_since is not None:
            since, since_cpu = prev.idle_since, prev.idle_cpu_ns
        else:
            since, since_cpu = prev.at, prev.cpu_ns
    else:
        since, since_cpu = None, None
    last_shell = obs.at if obs.shells else (prev.last_shell_at if prev is not None else None)
    warned = prev.warned_for if prev is not None and continued else None
    return SampleRow(
        **vars(obs),
        cpu_percent=pct,
        idle=idle,
        idle_since=since,
        idle_cpu_ns=since_cpu,
        last_shell_at=last_shell,
        warned_for=warned,
    )


@dataclass(frozen=True)
class Limits:
    idle_timeout: int | None
    max_runtime: int | None
    idle_warning: int
    max_keep_alive: int
    idle_cpu_percent: float


def human(seconds: float) -> str:
    from ds01.limits.units import format_duration

    return format_duration(int(max(0, round(seconds))))


def evidence(s: SampleRow) -> str:
    """The signals behind a verdict, in words ("CPU 0.1% over 48h, GPU slot 1:0 no processes (MIG), no shell")."""
    parts = []
    if s.idle and s.idle_since is not None:
        span = s.at - s.idle_since
        if s.idle_cpu_ns is not None and s.cpu_ns is not None and span > 0:
            avg = (s.cpu_ns - s.idle_cpu_ns) / 1e9 / span * 100.0
            parts.append(f"CPU {avg:.1f}% over {human(span)}")
    elif s.cpu_percent is None:
        parts.append("CPU not measured yet")
    else:
        parts.append(f"CPU {s.cpu_percent:.1f}%")
    parts.append(s.gpu_detail or ("GPU unknown" if s.gpu_busy is None else "no GPU"))
    if s.shells:
        parts.append(f"{s.shells} shell{'s' if s.shells > 1 else ''} open")
    else:
        parts.append("no shell open")
    return ", ".join(parts)


@dataclass
class Verdict:
    container: str
    user: str
    action: str  # "none" | "warn" | "stop_idle" | "stop_runtime"
    reason: str
    evidence: str
    idle: bool
    idle_since: float | None
    idle_stop_at: float | None
    runtime_stop_at: float | None
    keep_alive_until: float | None
    stop_at: float | None
    warn_at: float | None

    def to_json(self, now: float) -> dict[str, Any]:
        from ds01.timefmt import iso

        def left(t: float | None) -> int | None:
            return None if t is None else max(0, int(round(t - now)))

        return {
            "container": self.container,
            "user": self.user,
            "action": self.action,
            "reason": self.reason,
            "evidence": self.evidence,
            "idle": self.idle,
            "idle_since": iso(self.idle_since),
            "keep_alive_until": iso(self.keep_alive_until),
            "idle_stop_at": iso(self.idle_stop_at),
            "runtime_stop_at": iso(self.runtime_stop_at),
            "stop_at": iso(self.stop_at),
            "warn_in_seconds": left(self.warn_at),
            "stop_in_seconds": left(self.stop_at),
        }


def verdict(s: SampleRow, limits: Limits, keep_alive_until: float | None, now: float) -> Verdict:
    """What the pass does with a running container whose newest sample is ``s``."""
    ka = keep_alive_until if keep_alive_until is not None and keep_alive_until > now else None
    idle_stop = None
    if limits.idle_timeout is not None and s.idle and s.idle_since is not None:
        idle_stop = s.idle_since + limits.idle_timeout
        if ka is not None:
            idle_stop = max(idle_stop, ka)
    runtime_stop = None
    if limits.max_runtime is not None and s.started_at is not None:
        runtime_stop = s.started_at + limits.max_runtime
    ev = evidence(s)
    candidates = [t for t in (idle_stop, runtime_stop) if t is not None]
    stop_at = min(candidates) if candidates else None
    warn_at = None if stop_at is None else stop_at - limits.idle_warning
    action, reason = "none", ""
    if runtime_stop is not None and runtime_stop <= now:
        action = "stop_runtime"
        reason = f"ran longer than max_runtime {human(limits.max_runtime or 0)}"
    elif idle_stop is not None and idle_stop <= now:
        action = "stop_idle"
        reason = f"idle longer than idle_timeout {human(limits.idle_timeout or 0)} ({ev})"
    elif stop_at is not None and warn_at is not None and warn_at <= now and s.warned_for != stop_at:
        action = "warn"
        what = "runtime limit" if stop_at == runtime_stop else "idle timeout"
        reason = f"will be stopped in {human(stop_at - now)} ({what}; {ev})"
    return Verdict(
        s.container, s.user, action, reason, ev, s.idle, s.idle_since, idle_stop, runtime_stop, ka, stop_at, warn_at
    )


def keep_alive_end(set_at: float, until: float, max_keep_alive: int) -> float:
    """A keep-alive never reaches past ``max_keep_alive`` from when it was set."""
    return min(until, set_at + max_keep_alive)
