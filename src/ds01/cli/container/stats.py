"""``ds01 container stats``: CPU, memory, PIDs and GPU processes of your running containers."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option


@click.command("stats")
@click.option("-a", "--all", "show_all", is_flag=True, help="Every user's containers (admins).")
@guided_option
@json_option
@pass_app
def command(app: App, show_all: bool, as_json: bool) -> None:
    """One sample per running container.

    JSON keys: name, docker_name, user, cpu_percent, memory_usage, memory_limit,
    memory_percent, pids, gpu_slots, gpu_processes ([{pid, gpu_memory, device_uuid}], or null
    where NVML cannot tell, e.g. a simulated inventory).
    """
    from ds01.errors import PolicyRefused
    from ds01.terminal import human_size
    from ds01.units.containers.listing import stats
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "stats")
    if show_all and not app.is_admin():
        raise PolicyRefused("Only admins can see every user's containers; drop --all to see yours.")
    warnings: list[str] = []
    rows = stats(app.config, app.identity, all_users=show_all, warnings=warnings)
    for w in warnings:  # a GPU NVML could not read is named; the other rows are complete
        term.warning(w)
    if as_json:
        term.json(rows)
        return
    table = []
    for r in rows:
        procs = r["gpu_processes"]
        gpu = "-" if procs is None else (", ".join(str(p["pid"]) for p in procs) or "none")
        table.append(
            [
                r["name"],
                f"{r['cpu_percent']:.2f}",
                f"{human_size(r['memory_usage'])} / {human_size(r['memory_limit'])}",
                f"{r['memory_percent']:.2f}",
                r["pids"],
                ",".join(r["gpu_slots"]) or "-",
                gpu,
            ]
        )
    term.table(
        ["NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS", "GPU", "GPU PIDS"],
        table,
        empty="No running containers.",
    )
