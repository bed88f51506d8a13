"""``ds01 container create NAME``: a container with your limits and a GPU slot (or --dry-run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option, script_option


def create_options(f):  # type: ignore[no-untyped-def]
    """The options `container create` and `container deploy` share."""
    for opt in reversed(
        [
            click.argument("name", required=False),
            click.argument("framework", required=False),
            click.argument("version", required=False),
            click.option("--image", metavar="IMG", help="A local image (default: NAME-image when it exists)."),
            click.option(
                "--gpus",
                type=click.IntRange(min=0),
                default=1,
                show_default=True,
                help="GPU slots (whole GPUs or MIG slices); 0 = a CPU-only container.",
            ),
            click.option(
                "-w",
                "--workspace",
                type=click.Path(path_type=Path),
                help="Folder mounted at /workspace (default ~/workspace).",
            ),
            click.option("-d", "--data", type=click.Path(path_type=Path), help="Folder mounted at /data."),
            click.option("-m", "--models", type=click.Path(path_type=Path), help="Folder mounted at /models."),
            click.option(
                "--project-dockerfile",
                is_flag=True,
                help="The project's image is built from ~/workspace/NAME/Dockerfile; mount that folder.",
            ),
            click.option("--arch", help="GPU architecture for catalog images (default: detected)."),
            click.option(
                "--wait",
                metavar="DURATION",
                default=None,
                help="When no GPU slot is free, keep trying this long (e.g. 30m).",
            ),
        ]
    ):
        f = opt(f)
    return f


@click.command("create")
@create_options
@click.option("--dry-run", is_flag=True, help="Show the full plan (limits, slot, Docker parameters); change nothing.")
@guided_option
@script_option
@json_option
@pass_app
def command(app: App, **params: Any) -> None:
    """Create container NAME from a local image (default NAME-image) or a catalog FRAMEWORK VERSION.

    Your limits are applied (CPUs, memory, shm, PIDs, cgroup slice) and GPU slots are
    reserved for it. Exit 3 when a limit refuses, 4 when no GPU slot is free.
    JSON keys: name, docker_name, user, group, image, image_source, framework, version, gpus,
    slots, uuids, refusal, device_requests, inventory, mounts, limits, docker_args, resources,
    network_mode, restart_policy, containers (+ id, definition after a real create).
    """
    from ds01.cli.creates import container_create

    container_create(app, **params)  # the parameters above, by name (``cli.creates`` answers without click too)
