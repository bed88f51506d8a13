"""``ds01 mlc create NAME [FRAMEWORK VERSION]``: AIME's create, on the Docker SDK, with ds01's patch set."""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.mlc._common import settings
from ds01.cli.options import json_option, script_option


@click.command("create")
@click.argument("name", required=False)
@click.argument("framework", required=False)
@click.argument("version", required=False)
@click.option("--image", help="Use this local image instead of a catalog framework (never pulled).")
@click.option("-w", "--workspace", type=click.Path(path_type=Path), help="Workspace directory (default ~/workspace).")
@click.option("-d", "--data", type=click.Path(path_type=Path), help="Data directory, mounted at /data.")
@click.option("-m", "--models", type=click.Path(path_type=Path), help="Models directory, mounted at /models.")
@click.option("-g", "--gpus", default="all", show_default=True, help="GPUs to use (AIME's -g value).")
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

    The container runs as you, with your workspace at /workspace; open it with
    `ds01 mlc open NAME`.
    """
    from ds01.base import catalog, engine
    from ds01.base.names import validate_name
    from ds01.errors import UsageError

    term, me = app.terminal, app.identity
    conf = settings(app, with_limits=True)
    name = validate_name(name or term.ask("Container name:", what="a container name (NAME)"))
    if image and (framework or version):
        raise UsageError("Give either FRAMEWORK VERSION or --image, not both.")
    entry = None
    if image:
        try:
            arch_value: str | None = catalog.resolve_arch(arch)
        except UsageError:
            arch_value = None  # a custom image needs no catalog architecture
    else:
        arch_value = catalog.resolve_arch(arch)
        cat = catalog.load_catalog(aime_catalog=conf.aime_catalog)
        framework = framework or term.choose("Framework:", cat.frameworks(arch_value), what="a FRAMEWORK")
        framework = cat.canonical_framework(framework)
        version = version or term.choose("Version:", cat.versions(framework, arch_value), what="a VERSION")
        entry = cat.lookup(framework, version, arch_value)
    ws = workspace if workspace is not None else engine.default_workspace(me)
    wants_gpu = engine.nvidia_runtime_available()
    if not wants_gpu and gpus != "all":
        term.warning("This Docker engine has no NVIDIA runtime; the container will get no GPU.")
    labels = {"ds01.group": conf.group} if conf.group else {}
    spec = engine.ContainerSpec(
        name=name,
        owner=me,
        image=image or entry.image,  # type: ignore[union-attr]
        workspace=ws,
        framework=entry.framework if entry else None,
        version=entry.version if entry else None,
        arch=arch_value,
        data=data,
        models=models,
        gpus_label=gpus,
        resources=conf.resources,
        device_requests=wants_gpu,
        gpu_count=int(gpus) if gpus.isdigit() else -1,
        extra_labels=labels,
        network_mode=conf.network_mode,
        restart_policy=conf.restart_policy,
        custom_image=bool(image),
    )
    with term.progress(f"Creating container {name}…") as status:
        info = engine.create_container(spec, progress=status.update)
    if as_json:
        term.json(info.to_json())
        return
    term.success(f"Container {name} created ({spec.image}, workspace {ws}).")
    term.next_step(f"ds01 mlc open {name}", "open a shell in it")
