"""``ds01 mlc create NAME [FRAMEWORK VERSION]``: AIME's create, through ds01's ledger and quotas.

The container is made by ``container create``'s path (``ds01.units.containers.create``): the
caller's limits, ``max_containers_per_user`` and ``max_gpus_per_container``, GPU slots from
the allocator by UUID and recorded in the ledger, the network and restart policy from the
config. ``-g`` is a number of slots (default 1); ``-g all`` is refused.
"""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.mlc._common import DEFAULT_GPUS, gpu_count
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
def command(
    app: App,
    name: str | None,
    framework: str | None,
    version: str | None,
    image: str | None,
    workspace: Path | None,
    data: Path | None,
    models: Path | None,
    gpus: str,
    arch: str | None,
    as_json: bool,
) -> None:
    """Create a container NAME from a catalog FRAMEWORK VERSION or a local --image.

    The container runs as you, with your workspace at /workspace, your limits and the GPU
    slots the allocator gives you (exit 3 when a limit refuses, 4 when none is free); open it
    with `ds01 mlc open NAME`.
    """
    from ds01.base import catalog, engine
    from ds01.base.names import docker_name, validate_new_name
    from ds01.errors import UsageError
    from ds01.units.containers import create as unit

    term, me = app.terminal, app.identity
    count = gpu_count(gpus)
    config = app.config
    name = validate_new_name(name or term.ask("Container name:", what="a container name (NAME)"))
    if image and (framework or version):
        raise UsageError("Give either FRAMEWORK VERSION or --image, not both.")
    if engine.container_exists(docker_name(name, me.uid)):
        raise UsageError(
            f"A container named {name!r} already exists for you; choose another name "
            f"or remove it first (ds01 mlc remove {name})."
        )
    arch_value: str | None = None
    if image:
        try:
            # Only a label here: NVML is asked only where the inventory is NVML's (loading it
            # costs ~40 ms, and a simulated inventory has no GPU to answer).
            arch_value = catalog.resolve_arch(arch, detect=config.gpu_allocation.inventory == "nvml")
        except UsageError:
            arch_value = None  # a custom image needs no catalog architecture
    else:  # AIME's questions, in AIME's order, before anything is allocated
        arch_value = catalog.resolve_arch(arch)
        cat = catalog.load_catalog(aime_catalog=Path(config.images.aime_catalog))
        framework = framework or term.choose("Framework:", cat.frameworks(arch_value), what="a FRAMEWORK")
        framework = cat.canonical_framework(framework)
        version = version or term.choose("Version:", cat.versions(framework, arch_value), what="a VERSION")
        cat.lookup(framework, version, arch_value)
    ws = workspace if workspace is not None else engine.default_workspace(me)
    req = unit.CreateRequest(
        name=name,
        owner=me,
        image=image,
        framework=framework,
        version=version,
        gpus=count,
        workspace=ws,
        data=data,
        models=models,
        arch=arch_value,
    )
    unit.check_request(req)
    with term.progress(f"Creating container {name}…", steps=True) as status:
        result = unit.create(config, req, progress=status.update)
    info = result.info
    if as_json:
        term.json({**info.to_json(), "slots": result.plan.slots, "uuids": result.plan.uuids})
        return
    slots = ", ".join(result.plan.slots) or "none (CPU only)"
    term.success(f"Container {name} created ({result.plan.spec.image}, workspace {ws}, GPU slots {slots}).")
    term.next_step(f"ds01 mlc open {name}", "open a shell in it")
