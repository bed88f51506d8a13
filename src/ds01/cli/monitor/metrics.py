"""``ds01 monitor metrics``: Prometheus metrics over HTTP, or as a node_exporter textfile."""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app


@click.command("metrics")
@click.option(
    "--listen",
    "listen",
    default=None,
    metavar="ADDR:PORT",
    help="Serve /metrics here until stopped (default 127.0.0.1:9401).",
)
@click.option(
    "--textfile",
    "textfile",
    default=None,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write DIR/ds01.prom once, atomically, for node_exporter's textfile collector (cron).",
)
@pass_app
def command(app: App, listen: str | None, textfile: Path | None) -> None:
    """Prometheus metrics: slots and who holds them, per-user slots and quotas, container CPU,
    memory and idle time, allocations and refusals, GPU-hours. Admins only.

    The slot series carry dcgm-exporter's own labels, UUID (the GPU) and GPU_I_ID (the MIG
    instance), so a PromQL join gives GPU utilisation per user; docs/monitoring.md has the
    queries, the Prometheus and node_exporter settings and the Grafana dashboard.
    """
    from ds01.errors import PolicyRefused, UsageError
    from ds01.orchestrators.monitoring import metrics

    if listen and textfile:
        raise UsageError("Choose one of --listen and --textfile.")
    if not app.is_admin():
        raise PolicyRefused("Only an admin can export every user's metrics.")
    term = app.terminal
    if textfile is not None:
        if not textfile.is_dir():
            raise UsageError(f"--textfile {textfile} is not a folder; give node_exporter's textfile folder.")
        term.info(f"Wrote {metrics.write_textfile(app.config, textfile)}.")
        return
    addr, port = metrics.parse_listen(listen or metrics.DEFAULT_LISTEN)
    try:
        metrics.serve(
            app.config,
            addr,
            port,
            ready=lambda a, p: term.info(f"Serving metrics on http://{a}:{p}/metrics (Ctrl-C stops)."),
        )
    except KeyboardInterrupt:
        pass
