"""``ds01 mlc create NAME [FRAMEWORK VERSION]``: AIME's create, through ds01's ledger and quotas.

The container is made by ``container create``'s path (``ds01.units.containers.create``): the
caller's limits, ``max_containers_per_user`` and ``max_gpus_per_container``, GPU slots from
the allocator by UUID and recorded in the ledger, the network and restart policy from the
config. ``-g`` is a number of slots (default 1); ``-g all`` is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ds01.cli.app import App, pass_app
from ds01.cli.mlc._common import DEFAULT_GPUS
from ds01.cli.options import json_option, script_option


@click.command("create")
@click.argument("name", required=False)
@click.argument("framework", required=False)
@click.argument("version", required=False)
@click.option("--image", help="Use this local image instead of a catalog framework (never pulled).")
@click.option("-w", "--workspace", type=click.Path(path_type=Path), help="Workspace directory (default ~/workspace).")
@click.option("-d", "--data", type=click.Path(path_type=Path), help="Data directory, mounted at /data.")
@click.option("-m", "--models", type=click.Path(path_type=Path), help="Models directory, mounted at /models.")
@click.option(
    "-g",
    "--gpus",
    default=DEFAULT_GPUS,
    show_default=True,
    help="Number of GPU slots (0: CPU only); `all` is refused on a shared server.",
)
@click.option("--arch", help="GPU architecture for the catalog (default: detected, or MLC_ARCH).")
@script_option
@json_option
@pass_app
def command(app: App, **params: Any) -> None:
    """Create a container NAME from a catalog FRAMEWORK VERSION or a local --image.

    The container runs as you, with your workspace at /workspace, your limits and the GPU
    slots the allocator gives you (exit 3 when a limit refuses, 4 when none is free); open it
    with `ds01 mlc open NAME`.
    """
    from ds01.cli.creates import mlc_create

    mlc_create(app, **params)  # the parameters above, by name (``cli.creates`` answers without click too)
