"""``ds01 monitor dashboard``: a live terminal view of slots, containers, users and events.

Each table's columns carry a priority; on a narrow terminal the least important columns drop
until the table fits (80 columns keeps the essentials). The keyboard is read in cbreak mode
(termios: no echo, one key at a time); the terminal's settings are restored on the way out,
whatever ends the loop.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ds01.cli.app import App, pass_app

# (heading, priority: 1 is never dropped, higher drops first)
SLOT_COLUMNS = (
    ("SLOT", 1),
    ("STATE", 1),
    ("USER", 1),
    ("CONTAINER", 2),
    ("PROFILE", 5),
    ("GPU MEM", 4),
    ("ACTIVITY", 3),
    ("HOLD", 2),
)
CONTAINER_COLUMNS = (
    ("CONTAINER", 1),
    ("USER", 1),
    ("CPU%", 1),
    ("MEMORY", 2),
    ("PIDS", 4),
    ("UP", 3),
    ("GPU", 3),
    ("IDLE", 2),
    ("STOP IN", 1),
)
USER_COLUMNS = (("USER", 1), ("GROUP", 3), ("SLOTS", 1), ("CONTAINERS", 1), ("RUNNING", 2))
EVENT_COLUMNS = (("TIME", 1), ("EVENT", 1), ("USER", 1), ("CONTAINER", 2), ("SLOT", 3), ("REASON", 4))
MAX_CELL = 28


def _dur(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    from ds01.gpu.idle import human

    return "now" if seconds <= 0 else human(seconds)


def _of(n: int, limit: int | None) -> str:
    return f"{n}/{limit}" if limit is not None else f"{n}/-"


def slot_rows(frame: dict[str, Any]) -> list[list[str]]:
    import time
    from datetime import datetime

    from ds01.terminal import human_size

    rows = []
    for s in frame["slots"]:
        holders = s["holders"] or [{"user": "", "container": None, "state": s["state"]}]
        hold = "-"
        if s["held_until"]:
            left = datetime.fromisoformat(s["held_until"].replace("Z", "+00:00")).timestamp() - time.time()
            hold = f"held {_dur(int(left))}"
        elif s["state"] == "held":
            hold = "held, no limit"
        elif s["reserved_for"]:
            hold = f"for {s['reserved_for']}"
        mem = human_size(s["memory_bytes"]) + (f" {s['memory_used_percent']:.0f}%" if s["memory_used_percent"] else "")
        busy = {True: "busy", False: "idle", None: "?"}[s["busy"]]
        activity = s["activity"] or busy
        for h in holders:
            rows.append(
                [
                    s["id"],
                    s["state"],
                    h["user"] or "-",
                    h["container"] or "-",
                    s["profile"] or "whole",
                    mem,
                    activity,
                    hold,
                ]
            )
    return rows


def container_rows(frame: dict[str, Any]) -> list[list[str]]:
    from ds01.terminal import human_size

    rows = []
    for c in frame["containers"]:
        cpu = "-" if c["cpu_percent"] is None else f"{c['cpu_percent']:.1f}"
        mem = human_size(c["memory_bytes"]) + (
            "/" + human_size(c["memory_limit_bytes"]) if c["memory_limit_bytes"] else ""
        )
        idle = "-" if c["idle"] is None else ("idle" if c["idle"] else "active")
        if c["keep_alive_until"]:
            idle += " (kept)"
        rows.append(
            [
                c["name"],
                c["user"],
                cpu,
                mem,
                "-" if c["pids"] is None else str(c["pids"]),
                _dur(c["uptime_seconds"]),
                ",".join(c["gpu_slots"]) or "-",
                idle,
                _dur(c["stop_in_seconds"]),
            ]
        )
    return rows


def user_rows(frame: dict[str, Any]) -> list[list[str]]:
    return [
        [
            u["user"],
            u["group"],
            _of(u["slots"], u["max_slots"]),
            _of(u["containers"], u["max_containers"]),
            str(u["running"]),
        ]
        for u in frame["users"]
    ]


def event_rows(frame: dict[str, Any]) -> list[list[str]]:
    return [
        [
            str(e.get("timestamp", ""))[5:16].replace("T", " "),
            str(e.get("event", "")),
            str(e.get("user", "")),
            str(e.get("container", "")),
            str(e.get("gpu_id", "")),
            str(e.get("reason", "")),
        ]
        for e in frame["events"]
    ]


def fit(columns: tuple[tuple[str, int], ...], rows: list[list[str]], width: int) -> list[int]:
    """Indexes of the columns kept: the least important drop until the widths (cells cut at
    ``MAX_CELL``, two spaces between columns) fit in ``width`` (``terminal.fit_columns``, the
    rule every table follows)."""
    from ds01.terminal import fit_columns

    widths = [len(h) for h, _p in columns]
    for row in rows:
        widths = [max(w, min(len(v), MAX_CELL)) for w, v in zip(widths, row, strict=False)]
    return fit_columns([p for _h, p in columns], widths, width)


def _table(title: str, columns: tuple[tuple[str, int], ...], rows: list[list[str]], width: int, empty: str) -> Any:
    from rich.table import Table
    from rich.text import Text

    if not rows:
        return Text(f"{title}: {empty}")
    keep = fit(columns, rows, width)
    table = Table(
        title=title,
        title_justify="left",
        box=None,
        pad_edge=False,
        padding=(0, 2, 0, 0),
        header_style="bold",
        show_edge=False,
    )
    for i in keep:
        table.add_column(columns[i][0], no_wrap=True, overflow="ellipsis", max_width=MAX_CELL)
    for row in rows:
        table.add_row(*[row[i] for i in keep])
    return table


def render(frame: dict[str, Any], width: int) -> Any:
    from rich.console import Group
    from rich.text import Text

    who = "all users" if frame["everyone"] else "your containers"
    parts: list[Any] = [Text(f"ds01 dashboard  {frame['generated_at']}  ({who})  q quits", style="bold")]
    parts.append(_table("GPU slots", SLOT_COLUMNS, slot_rows(frame), width, "none on this server"))
    parts.append(_table("Running containers", CONTAINER_COLUMNS, container_rows(frame), width, "none running"))
    parts.append(_table("Users", USER_COLUMNS, user_rows(frame), width, "nobody holds anything"))
    parts.append(_table("Last events", EVENT_COLUMNS, event_rows(frame), width, "none yet"))
    for w in frame["warnings"]:
        parts.append(Text(f"! {w}"))
    return Group(*parts)


@click.command("dashboard")
@click.option("--once", is_flag=True, help="Print one frame and exit (scripts, screenshots).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.5),
    default=3.0,
    show_default=True,
    metavar="S",
    help="Seconds between refreshes.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one frame as JSON on stdout (stable keys) and exit.")
@pass_app
def command(app: App, once: bool, interval: float, as_json: bool) -> None:
    """A live view: every GPU slot (state, holder, memory, activity, hold countdown), every
    running container (CPU %, memory against its limit, PIDs, uptime, idle verdict, time to a
    stop), per-user totals against limits, and the last events. Refreshes every --interval
    seconds; q or Ctrl-C quits. Admins see everyone; users see the slot map and their own
    containers. Fits 80 columns (less important columns drop first); NO_COLOR turns colour off.

    JSON keys: generated_at, everyone, slots[] {id, uuid, gpu_index, profile, memory_bytes,
    memory_used_percent, state, holders[] {user, container, state}, held_until, reserved_for,
    busy, activity}, containers[] {name, container, user, image, cpu_percent, memory_bytes,
    memory_limit_bytes, pids, uptime_seconds, gpu_slots, idle, idle_since, keep_alive_until,
    stop_in_seconds, action}, users[] {user, group, slots, max_slots, containers, running,
    max_containers}, events[] (as events.jsonl), warnings[].
    """
    from ds01.orchestrators.monitoring.snapshot import frame as make_frame

    term = app.terminal
    everyone = app.is_admin()

    def frame(prev: dict | None = None) -> dict[str, Any]:
        return make_frame(app.config, app.identity, everyone=everyone, prev_cpu=prev)

    if as_json:
        data = frame()
        data.pop("_cpu", None)
        term.json(data)
        return
    from rich.console import Console

    console = Console(
        file=term.stdout, no_color=not term.color_out, highlight=False, force_terminal=term.color_out or None
    )
    if once or not _is_tty(sys.stdin) or not _is_tty(term.stdout):
        console.print(render(frame(), console.width))
        return
    _live(console, frame, interval)


def _is_tty(stream: Any) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _live(console: Any, frame: Any, interval: float) -> None:
    import select
    import termios
    import tty

    from rich.live import Live

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)  # keys arrive one by one, unechoed; Ctrl-C still interrupts
        data = frame()
        with Live(render(data, console.width), console=console, screen=True, auto_refresh=False) as live:
            while True:
                ready, _, _ = select.select([fd], [], [], interval)
                if ready:
                    key = os.read(fd, 1)
                    if key in (b"q", b"Q", b"\x03", b"\x04", b""):
                        break
                data = frame(data.get("_cpu"))
                live.update(render(data, console.width), refresh=True)
    except KeyboardInterrupt:
        pass
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
