"""Usage accounting for ``ds01 admin report`` (and the counters of ``monitor metrics``).

Sources, all read-only:

- the ledger's ``allocations`` rows: one row per slot given to a container, from
  ``allocated_at`` to ``released_at`` (still open: up to now). A row's GPU-hours are its
  length times the slot's fraction of a GPU: 1 for a whole GPU, and for a MIG slot its
  compute slices over the GPU's (``3g.40gb`` on a 7-slice A100 = 3/7; ``1c.3g.40gb`` = 1/7);
- the ledger's ``history``: a container runs from ``allocate``/``restart``/``adopt`` to
  ``mark-stopped``/``release``/``release-stale`` (container-hours: containers that hold a GPU
  slot, the ones the ledger knows);
- ``DS01_LOG_DIR/events.jsonl`` (and its rotated copies): ``refuse`` (quota or no capacity)
  and ``stop-idle`` events.

Every interval is clipped to the period ``[since, until)``; peak slots is the most slots the
user (or group) held at one moment of the period. ``usage`` is pure.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ds01 import timefmt
from ds01.records import dataclass, field
from ds01.timefmt import iso

if TYPE_CHECKING:
    from ds01.gpu.model import Inventory
    from ds01.limits.config import Config

NOTE = (
    "GPU-hours count a MIG slot as its fraction of a GPU: its compute slices over the GPU's "
    "(a 3g slice of a 7-slice GPU counts 3/7)."
)
COLUMNS = (
    "gpu_hours",
    "container_hours",
    "allocations",
    "refusals_quota",
    "refusals_capacity",
    "idle_stops",
    "peak_slots",
)
RUN_STARTS = ("allocate", "restart", "adopt")
RUN_ENDS = ("mark-stopped", "release", "release-stale")
_PROFILE = re.compile(r"^(?:(\d+)c\.)?(\d+)g\.")


@dataclass(frozen=True)
class Interval:
    """One slot held (or one container running) by ``user`` from ``start`` to ``end`` (None: open)."""

    user: str
    start: float
    end: float | None
    weight: float = 1.0  # fraction of a GPU
    key: str = ""


@dataclass(frozen=True)
class Happening:
    """A counted event: ``kind`` is allocation, refusal_quota, refusal_capacity or idle_stop."""

    user: str
    at: float
    kind: str


@dataclass
class Report:
    since: float
    until: float
    by: str
    rows: list[dict[str, Any]]
    total: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "since": iso(self.since),
            "until": iso(self.until),
            "by": self.by,
            "note": NOTE,
            "rows": self.rows,
            "total": self.total,
            "warnings": self.warnings,
        }


# -- MIG fractions ---------------------------------------------------------------------------------


def gpu_slices(gpu_name: str) -> int:
    """Compute slices of a MIG-capable GPU: 4 on an A30, 7 on the A100/H100/H200 family."""
    return 4 if "A30" in gpu_name.upper() else 7


def profile_fraction(profile: str | None, gpu_name: str) -> float | None:
    """A slot's fraction of its GPU: 1 for a whole GPU (``profile`` None), the compute slices over
    the GPU's for a MIG profile (``3g.40gb`` -> 3/7), None when the profile cannot be read."""
    if profile is None:
        return 1.0
    m = _PROFILE.match(profile)
    if not m:
        return None
    slices = int(m.group(1) or m.group(2))
    return min(1.0, slices / gpu_slices(gpu_name))


def fraction_lookup(inv: Inventory, warnings: list[str]) -> Callable[[str, str], float]:
    """(slot id, device uuid) -> fraction of a GPU, from the inventory in force. A MIG device the
    inventory no longer has (re-partitioned) counts as one slice, and is named once in ``warnings``."""
    names = {g.index: g.name for g in inv.gpus}
    by_uuid = {s.uuid: s for s in inv.slots}
    by_id = {s.id: s for s in inv.slots}
    unknown: set[str] = set()

    def fraction(slot_id: str, uuid: str) -> float:
        s = by_uuid.get(uuid) if uuid else None
        if s is None and not (uuid or "").startswith("MIG-"):
            s = by_id.get(slot_id)
        if s is not None:
            f = profile_fraction(s.profile, names.get(s.gpu_index, ""))
            if f is not None:
                return f
        if ":" not in slot_id and not (uuid or "").startswith("MIG-"):
            return 1.0  # a whole GPU, wherever it went
        if slot_id not in unknown:
            unknown.add(slot_id)
            warnings.append(
                f"Slot {slot_id} ({uuid or 'no uuid'}) is not in today's inventory; its GPU-hours "
                "count it as one slice of a 7-slice GPU."
            )
        return 1.0 / 7

    return fraction


# -- the pure part ---------------------------------------------------------------------------------


def _overlap(start: float, end: float | None, since: float, until: float, now: float) -> float:
    stop = min(end if end is not None else now, until, now)
    return max(0.0, stop - max(start, since))


def running_intervals(history: Iterable[tuple]) -> list[Interval]:
    """Container running intervals from ledger history rows ``(at, event, user, container, slot, reason)``."""
    open_at: dict[tuple[str, str], float] = {}
    out: list[Interval] = []
    for at, event, user, container, _slot, _reason in sorted(history, key=lambda h: h[0]):
        key = (user, container)
        if event in RUN_STARTS:
            open_at.setdefault(key, float(at))
        elif event in RUN_ENDS and key in open_at:
            out.append(Interval(user, open_at.pop(key), float(at), key=container))
    out.extend(Interval(u, start, None, key=c) for (u, c), start in open_at.items())
    return out


def _peak(intervals: list[Interval], since: float, until: float, now: float) -> int:
    points: list[tuple[float, int]] = []
    end_of_period = min(until, now)
    for iv in intervals:
        start = max(iv.start, since)
        end = min(iv.end if iv.end is not None else end_of_period, end_of_period)
        if end <= start:
            continue
        points.append((start, 1))
        points.append((end, -1))
    peak = cur = 0
    for _t, d in sorted(points):  # at one instant, -1 sorts before +1: a hand-over is not an overlap
        cur += d
        peak = max(peak, cur)
    return peak


def usage(
    slots: list[Interval],
    runs: list[Interval],
    happenings: list[Happening],
    *,
    since: float,
    until: float,
    now: float,
    group_of: Callable[[str], str] | None = None,
) -> tuple[list[dict], dict]:
    """Rows per user (or per group, with ``group_of``) and the totals row."""
    key = group_of or (lambda u: u)
    name = "group" if group_of else "user"
    acc: dict[str, dict[str, Any]] = {}
    held: dict[str, list[Interval]] = {}

    def row(k: str) -> dict[str, Any]:
        if k not in acc:
            acc[k] = {
                name: k,
                "gpu_seconds": 0.0,
                "container_seconds": 0.0,
                "allocations": 0,
                "refusals_quota": 0,
                "refusals_capacity": 0,
                "idle_stops": 0,
            }
        return acc[k]

    for iv in slots:
        part = _overlap(iv.start, iv.end, since, until, now)
        k = key(iv.user)
        if part > 0:
            row(k)["gpu_seconds"] += part * iv.weight
            held.setdefault(k, []).append(iv)
        if since <= iv.start < until:
            row(k)["allocations"] += 1
    for iv in runs:
        part = _overlap(iv.start, iv.end, since, until, now)
        if part > 0:
            row(key(iv.user))["container_seconds"] += part
    field_of = {"refusal_quota": "refusals_quota", "refusal_capacity": "refusals_capacity", "idle_stop": "idle_stops"}
    for h in happenings:
        if since <= h.at < until and h.kind in field_of:
            row(key(h.user))[field_of[h.kind]] += 1

    def finish(r: dict[str, Any], peak: int) -> dict[str, Any]:
        out = {
            name: r[name],
            "gpu_hours": round(r["gpu_seconds"] / 3600, 3),
            "container_hours": round(r["container_seconds"] / 3600, 3),
        }
        out.update({c: r[c] for c in ("allocations", "refusals_quota", "refusals_capacity", "idle_stops")})
        out["peak_slots"] = peak
        return out

    rows = [finish(acc[k], _peak(held.get(k, []), since, until, now)) for k in sorted(acc)]
    everything = [iv for ivs in held.values() for iv in ivs]
    total: dict[str, Any] = {name: "TOTAL"}
    total.update(
        {
            c: round(sum(r[c] for r in rows), 3) if c.endswith("hours") else sum(r[c] for r in rows)
            for c in COLUMNS
            if c != "peak_slots"
        }
    )
    total["peak_slots"] = _peak(everything, since, until, now)
    return rows, total


# -- reading the sources ---------------------------------------------------------------------------


def refusal_kind(event: dict[str, Any]) -> str:
    """``refusal_quota`` or ``refusal_capacity`` for a ``refuse`` event (``refused`` field, or its wording)."""
    kind = event.get("refused")
    if kind == "capacity":
        return "refusal_capacity"
    if kind in ("policy", "quota"):
        return "refusal_quota"
    reason = str(event.get("reason") or "")
    if "free GPU slot" in reason or "offers no GPU slot" in reason:
        return "refusal_capacity"
    return "refusal_quota"


def _event_time(event: dict[str, Any]) -> float | None:
    try:
        return datetime.strptime(str(event.get("timestamp")), timefmt.FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def event_files(folder: Path, *, rotated: bool = True) -> list[Path]:
    """``events.jsonl`` and, with ``rotated``, its logrotate copies (``.1``, ``.2.gz``, dated ones)."""
    from ds01.gpu.events import JSONL_NAME

    found = [folder / JSONL_NAME]
    if rotated:
        found += sorted(p for p in folder.glob(JSONL_NAME + "?*") if p.is_file())
    return [p for p in found if p.is_file()]


def read_happenings(files: Iterable[Path], *, since: float = 0.0, until: float = float("inf")) -> list[Happening]:
    """Refusals and idle stops (one per container and moment: an event is logged once per slot)."""
    seen: set[tuple] = set()
    out: list[Happening] = []
    for path in files:
        try:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
                lines = fh.readlines()
        except OSError:
            continue
        for line in lines:
            if '"refuse"' not in line and '"stop-idle"' not in line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") not in ("refuse", "stop-idle"):
                continue
            at = _event_time(ev)
            if at is None or not since <= at < until:
                continue
            kind = refusal_kind(ev) if ev["event"] == "refuse" else "idle_stop"
            mark = (at, ev.get("user"), ev.get("container"), kind)
            if mark in seen:
                continue
            seen.add(mark)
            out.append(Happening(str(ev.get("user") or ""), at, kind))
    return out


def ledger_intervals(config: Config, fraction: Callable[[str, str], float]) -> tuple[list[Interval], list[tuple]]:
    """Every allocation row as a weighted interval, and the history rows; nothing when no ledger
    exists (a report never creates one)."""
    from ds01.gpu.ledger import Ledger, peek

    def read(led: Ledger) -> tuple[list[tuple], list[tuple]]:
        conn = led._connect()
        rows = conn.execute("SELECT slot, uuid, container, user, allocated_at, released_at FROM allocations").fetchall()
        return rows, led.history()

    rows, history = peek(read, secure=config.security.secure) or ([], [])
    slots = [
        Interval(user, float(at), None if rel is None else float(rel), fraction(slot, uuid or ""), container)
        for slot, uuid, container, user, at, rel in rows
    ]
    return slots, history


def group_lookup(config: Config) -> Callable[[str], str]:
    from ds01.errors import Ds01Error
    from ds01.limits.resolver import resolve

    cache: dict[str, str] = {}

    def group(user: str) -> str:
        if user not in cache:
            try:
                cache[user] = resolve(config, user).group or "-"
            except Ds01Error:
                cache[user] = "-"
        return cache[user]

    return group


def report(
    config: Config, *, since: float, until: float | None = None, by: str = "user", now: Callable[[], float] = time.time
) -> Report:
    from ds01 import paths
    from ds01.gpu import inputs

    t = now()
    end = t if until is None else until
    warnings: list[str] = []
    fraction = fraction_lookup(inputs.inventory(config), warnings)
    slots, history = ledger_intervals(config, fraction)
    runs = running_intervals(history)
    happenings = read_happenings(event_files(paths.log_dir()), since=since, until=end)
    rows, total = usage(
        slots, runs, happenings, since=since, until=end, now=t, group_of=group_lookup(config) if by == "group" else None
    )
    return Report(since, end, by, rows, total, warnings)


# -- periods ---------------------------------------------------------------------------------------


def parse_when(text: str, *, now: float, option: str) -> float:
    """A date (``2026-11-01``, ``2026-11-01T08:00``, UTC unless it names a zone) or, for ``--since``,
    a duration back from now (``30d``, ``12h``)."""
    from ds01.errors import UsageError
    from ds01.limits.units import LimitsValueError, parse_duration

    value = text.strip()
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        dt = None
    if dt is not None:
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    if option == "--since":
        try:
            return now - parse_duration(value, key="--since")
        except LimitsValueError:
            pass
        raise UsageError(f"--since {text!r} is neither a date (2026-11-01) nor a duration (30d, 12h).")
    raise UsageError(f"{option} {text!r} is not a date such as 2026-11-01 or 2026-11-01T08:00.")
