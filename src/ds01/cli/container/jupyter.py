"""``ds01 container jupyter NAME [--port P]``: JupyterLab in the container, and how to open it."""

from __future__ import annotations

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option, script_option


@click.command("jupyter")
@click.argument("name", required=False)
@click.option(
    "-p",
    "--port",
    "local_port",
    type=click.IntRange(1, 65535),
    default=8888,
    show_default=True,
    help="The port on your laptop (the ssh line forwards it to the notebook).",
)
@click.option(
    "--wait",
    metavar="DURATION",
    default=None,
    help="If the container must be recreated and no GPU slot is free, keep trying this long.",
)
@guided_option
@script_option
@json_option
@pass_app
def command(app: App, name: str | None, local_port: int, wait: str | None, as_json: bool) -> None:
    """Start JupyterLab in container NAME (or find the one running) and print how to open it.

    It runs as you, on a port of the server's localhost, with a token; the output is the
    `ssh -L` line to run on your laptop and the URL to open there. A stopped container is
    started first.

    JSON keys: name, server_host, server_port, token, started, local_port, url, ssh.
    """
    from ds01.cli.container._common import locate, pick_name
    from ds01.cli.gpu._common import parse_wait
    from ds01.units.containers import lifecycle, notebook

    term = app.terminal
    target = locate(app, pick_name(app, name))
    with term.progress(f"Starting JupyterLab in {target.name}…") as status:
        started = lifecycle.ensure_running(app.config, target, progress=status.update, wait=parse_wait(wait))
        nb = notebook.open_notebook(started.info, target.owner)
    server = notebook.server_name()
    user = target.owner.name
    if as_json:
        term.json(nb.to_json(local_port, user, server))
        return
    if nb.started:
        term.success(f"JupyterLab runs in {target.name} (server port {nb.port}, on the server's localhost).")
    else:
        term.info(f"JupyterLab was already running in {target.name} (server port {nb.port}).")
    term.info("1. On your laptop, in a terminal of its own (leave it open):")
    term.out(f"   {nb.ssh_line(local_port, user, server)}")
    term.info("2. Then open in your laptop's browser:")
    term.out(f"   {nb.url(local_port)}")
    term.info(
        f"The notebook keeps running when you close the browser; `ds01 container stop {target.name}` "
        "ends it with the container."
    )
