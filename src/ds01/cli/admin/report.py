"""``ds01 admin report``: GPU-hours, container-hours, allocations, refusals, idle stops and peak
slots per user or group, from the ledger's history."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app


@click.command("report")
@click.option(
    "--since",
    "since",
    default="30d",
    show_default=True,
    metavar="DURATION|DATE",
    help="Start of the period: a duration back from now (30d, 12h) or a date (2026-11-01, UTC).",
)
@click.option("--until", "until", default=None, metavar="DATE", help="End of the period (default: now).")
@click.option(
    "--by",
    "by",
    type=click.Choice(["user", "group"]),
    default="user",
    show_default=True,
    help="One row per user, or per group (the group each user's limits come from).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout (stable keys).")
@click.option(
    "--csv", "as_csv", is_flag=True, help="Print CSV on stdout (one header line, then the rows and the TOTAL row)."
)
@pass_app
def command(app: App, since: str, until: str | None, by: str, as_json: bool, as_csv: bool) -> None:
    """Usage per user (or group) over a period, with a TOTAL row. Admins only.

    GPU-hours count a MIG slot as its fraction of a GPU (its compute slices over the GPU's: a 3g
    slice of a 7-slice GPU counts 3/7). Container-hours: time the containers holding a GPU slot
    ran. Allocations: slots handed out in the period. Refusals: allocation requests refused
    for a quota or limit (refusals_quota) or for lack of a free slot (refusals_capacity).
    Idle stops: containers the lifecycle pass stopped for idleness. Peak slots: the most slots
    held at one moment. Intervals still open count up to now.

    JSON keys: since, until, by, note, rows[] and total {user|group, gpu_hours,
    container_hours, allocations, refusals_quota, refusals_capacity, idle_stops, peak_slots},
    warnings[]. CSV: the same columns, plus since and until.
    """
    import time

    from ds01.errors import PolicyRefused, UsageError
    from ds01.orchestrators.monitoring import report as rep
    from ds01.timefmt import iso

    if as_json and as_csv:
        raise UsageError("Choose one of --json and --csv.")
    if not app.is_admin():
        raise PolicyRefused("Only an admin can see every user's usage; `ds01 status` shows your own.")
    now = time.time()
    start = rep.parse_when(since, now=now, option="--since")
    end = rep.parse_when(until, now=now, option="--until") if until else None
    if end is not None and end <= start:
        raise UsageError(f"--until ({iso(end)}) must be after --since ({iso(start)}).")
    result = rep.report(app.config, since=start, until=end, by=by, now=lambda: now)
    term = app.terminal
    for w in result.warnings:
        term.warning(w)
    if as_json:
        term.json(result.to_json())
        return
    columns = [by, *rep.COLUMNS]
    if as_csv:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([*columns, "since", "until"])
        for row in [*result.rows, result.total]:
            writer.writerow([row[c] for c in columns] + [iso(result.since), iso(result.until)])
        term.out(buf.getvalue().rstrip("\n"))
        return
    term.out(f"Usage from {iso(result.since)} to {iso(result.until)}, by {by}.")
    term.out(rep.NOTE)
    term.out("")
    heads = [by.upper(), "GPU-H", "CONT-H", "ALLOCS", "REF-QUOTA", "REF-CAP", "IDLE-STOPS", "PEAK"]
    rows = [[row[c] for c in columns] for row in [*result.rows, result.total]] if result.rows else []
    term.table(heads, rows, empty="No usage recorded in this period.")
