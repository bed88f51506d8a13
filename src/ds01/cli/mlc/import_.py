"""``ds01 mlc import FILE [NAME]``: recreate an exported container as yours, on ds01's terms.

The archive supplies the image and user-level settings only (``ds01.policy.archives``): the
name, the workspace relative to your home, and environment variables other than
``NVIDIA_*``/``DS01_*``. The container is made through ``container create``'s path: your
limits, your quotas, a fresh GPU allocation, the server's network and restart policy, and
labels written by ds01.
"""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.mlc._common import DEFAULT_GPUS, gpu_count
from ds01.cli.options import json_option, script_option
from ds01.records import replace


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.argument("name", required=False)
@click.option("-w", "--workspace", type=click.Path(path_type=Path), help="Workspace directory to mount instead.")
@click.option(
    "-g",
    "--gpus",
    default=DEFAULT_GPUS,
    show_default=True,
    help="Number of GPU slots (0: CPU only); GPU assignments are never carried over.",
)
@script_option
@json_option
@pass_app
def command(app: App, file: Path, name: str | None, workspace: Path | None, gpus: str, as_json: bool) -> None:
    """Import FILE (from `ds01 mlc export`) as container NAME (default: the exported name).

    The workspace is the exported one relative to your home when it is yours (else
    ~/workspace); data/models mounts, limits, network, devices and labels in FILE are ignored.
    """
    from ds01.base import engine, images, transfer
    from ds01.base.names import docker_name, validate_new_name
    from ds01.errors import UsageError
    from ds01.policy import archives
    from ds01.units.containers import create as unit

    term, me = app.terminal, app.identity
    count = gpu_count(gpus)
    config = app.config
    with transfer.open_archive(file, me) as archive:
        taken = archives.allowed_settings(archive.definition)
        if not (name or taken.name):
            raise UsageError(f"{file} names no container; give one: ds01 mlc import {file} NAME.")
        new_name = validate_new_name(name or taken.name or "")
        if engine.container_exists(docker_name(new_name, me.uid)):
            raise UsageError(
                f"A container named {new_name!r} already exists for you; import under another name "
                f"(ds01 mlc import {file} NEW_NAME)."
            )
        ws = workspace if workspace is not None else _workspace(me, taken.workspace)
        req = unit.CreateRequest(name=new_name, owner=me, gpus=count, workspace=ws)
        unit.check_request(req)
        with term.progress(f"Importing {file}…") as status:
            ref = transfer.load_image(archive, me, new_name, shared=not config.security.secure, progress=status.update)
            try:
                status.update(f"Creating container {new_name}…")
                result = unit.create(config, replace(req, image=ref), progress=status.update)
            except BaseException:
                images.remove_tag(ref)
                raise
    info = result.info
    if as_json:
        term.json(
            {**info.to_json(), "slots": result.plan.slots, "uuids": result.plan.uuids, "ignored": list(taken.ignored)}
        )
        return
    if taken.ignored:
        term.info("Not taken from the file (ds01 applies its own): " + ", ".join(taken.ignored) + ".")
    slots = ", ".join(result.plan.slots) or "none (CPU only)"
    term.success(f"Imported container {info.name} from {file} (image {ref}, workspace {ws}, GPU slots {slots}).")
    term.next_step(f"ds01 mlc open {info.name}", "open a shell in it")


def _workspace(me, relative):  # type: ignore[no-untyped-def]
    """The exported workspace below the caller's home when it is theirs; else ~/workspace."""
    from ds01.base import container_spec, engine
    from ds01.errors import PolicyRefused, UsageError

    if relative is not None:
        candidate = me.home / relative
        try:
            container_spec.validate_mount(candidate, me, "workspace", writable=True)
            return candidate
        except (UsageError, PolicyRefused):  # a folder that is not theirs is a policy refusal (exit 3)
            pass
    return engine.default_workspace(me)
