"""``ds01 status``: one screen for the caller -- containers, GPU slots and usage against limits."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app, read_only
from ds01.cli.options import guided_option, json_option


@click.command("status")
@read_only
@guided_option
@json_option
@pass_app
def command(app: App, as_json: bool) -> None:
    """Your containers, the GPU slots you hold (and until when), and your usage of each limit.
    Times are relative (`in 59m`, `5m ago`); --json gives them in ISO 8601.

    JSON keys: user, group, priority, generated_at, containers[] (as `container list --json`),
    gpus {held, max, allocations[]}, limits {field: {value, display, source}},
    usage {containers {used, max}, gpu_slots {used, max}}, warnings[],
    notices[] {when, container, kind, message} (lifecycle warnings and stops of the last 7 days),
    lifecycle[] (your running containers as `ds01 monitor idle --json`).
    """
    from ds01.units.containers.listing import status
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "status")
    seen = _Seen(app)
    data = status(app.config, app.identity, listed=seen.listed, inv=seen.inv)
    data["notices"], data["lifecycle"] = _lifecycle(app, data["warnings"], seen)
    if as_json:
        term.json(data)
        return
    from ds01.terminal import Column, relative

    term.warnings(data["warnings"], full="ds01 status --json")
    use = data["usage"]

    def of(u: dict) -> str:
        return f"{u['used']} of {u['max'] if u['max'] is not None else 'unlimited'}"

    term.out(f"{data['user']}  (group {data['group'] or '-'}, priority {data['priority']})")
    term.out(f"Containers: {of(use['containers'])}    GPU slots: {of(use['gpu_slots'])}")
    term.out("")
    rows = []
    for c in data["containers"]:
        held = relative(c["held_until"]) if c["held_until"] else ("indefinitely" if c["held_indefinitely"] else "-")
        rows.append([c["name"], c["status"], ",".join(c["gpu_slots"]) or "-", held, c["image"]])
    term.table(
        [
            Column("CONTAINER", 1, name=True),
            Column("STATUS", 1),
            Column("GPU", 2),
            Column("HELD UNTIL", 3),
            Column("IMAGE", 4),
        ],
        rows,
        empty="No containers yet; create one with `ds01 container create NAME`.",
    )
    term.out("")
    limits = data["limits"]
    shown = (
        "max_mig_instances",
        "max_gpus_per_container",
        "max_containers_per_user",
        "max_cpus",
        "memory",
        "shm_size",
        "pids_limit",
        "gpu_hold_after_stop",
        "idle_timeout",
        "max_runtime",
    )
    term.table(
        [Column("LIMIT", 1, name=True), Column("VALUE", 1), Column("FROM", 2)],
        [[k, limits[k]["display"], limits[k]["source"]] for k in shown],
    )
    if data["lifecycle"]:
        from ds01.terminal import relative_in as left

        term.out("")
        term.table(
            [
                Column("CONTAINER", 1, name=True),
                Column("IDLE SINCE", 4),
                Column("KEEP-ALIVE UNTIL", 5),
                Column("STOP IN", 1),
                Column("WHY", 2),
            ],
            [
                [
                    r["name"],
                    relative(r["idle_since"]),
                    relative(r["keep_alive_until"]),
                    left(r["stop_in_seconds"]),
                    "runtime"
                    if r["stop_at"] and r["stop_at"] == r["runtime_stop_at"]
                    else ("idle" if r["stop_at"] else "-"),
                ]
                for r in data["lifecycle"]
            ],
        )
    for n in data["notices"]:
        term.warning(f"{relative(n['when'])}: {n['message']}")


class _Seen:
    """What the screen reads once and shows twice: every container (one listing) and the GPU
    inventory; None where reading failed (each part then reads, and reports, for itself)."""

    def __init__(self, app: App) -> None:
        from ds01.errors import Ds01Error
        from ds01.gpu import inputs
        from ds01.units.containers.listing import every_container

        self.listed: tuple[float, list] | None = None
        self.inv = None
        try:
            self.listed = every_container()
        except Ds01Error:
            pass
        try:
            self.inv = inputs.inventory(app.config)
        except Ds01Error:
            pass


def _lifecycle(app: App, warnings: list[str], seen: _Seen) -> tuple[list[dict], list[dict]]:
    """The caller's lifecycle notices (newest last) and, per running container, the time left
    before each limit and any keep-alive (what `ds01 monitor idle` shows)."""
    from ds01.errors import Ds01Error
    from ds01.timefmt import iso
    from ds01.units.containers import activity

    notices = [
        {
            "when": iso(float(n["at"])),
            "container": n.get("container"),
            "kind": n.get("kind"),
            "message": n.get("message"),
        }
        for n in activity.read_notices(app.identity.uid)
    ]
    try:
        from ds01.orchestrators.lifecycle import monitor

        running = None if seen.listed is None else [i for i in seen.listed[1] if i.alive and i.ds01_managed]
        rows = monitor(app.config, app.identity, all_users=False, infos=running, inv=seen.inv)
    except Ds01Error as exc:
        warnings.append(f"Idle and runtime limits not shown ({exc.message})")
        rows = []
    return notices, rows
