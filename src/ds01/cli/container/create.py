"""``ds01 container create NAME``: a container with your limits and a GPU slot (or --dry-run)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option, script_option


def request_from(
    app: App,
    name: str | None,
    framework: str | None,
    version: str | None,
    image: str | None,
    gpus: int,
    workspace: Path | None,
    data: Path | None,
    models: Path | None,
    project_dockerfile: bool,
    arch: str | None,
    wait: str | None,
):  # type: ignore[no-untyped-def]
    """The CreateRequest of the command line (shared with `container deploy`)."""
    from ds01.units.containers.create import CreateRequest

    name = name or app.terminal.ask("Container name:", what="a container NAME")
    if wait is not None:  # parse_wait(None) is None: its module is loaded only for a --wait
        from ds01.cli.gpu._common import parse_wait

        waited = parse_wait(wait)
    else:
        waited = None
    return CreateRequest(
        name=name,
        owner=app.identity,
        image=image,
        framework=framework,
        version=version,
        gpus=gpus,
        workspace=workspace,
        data=data,
        models=models,
        project_dockerfile=project_dockerfile,
        arch=arch,
        wait=waited,
    )


def ask_first(app: App, req, *, dry_run: bool = False):  # type: ignore[no-untyped-def]
    """Settle the image now: ask (picker) before a progress spinner would draw over the
    questions, or, without a terminal, fail before announcing a create. Before any question,
    the preflight refuses what would be refused later (the container limit, the GPU quota, no
    slot to take, an image, framework or mount given as flags); a dry run reports a missing
    slot in its plan instead.

    Returns the request and what the preflight found (None when flags settle the image of a
    real create: no question can come, and ``create(..., preflight=True)`` makes the same checks,
    with the same sentences, once, under the user's lock)."""
    from ds01.units.containers import create as unit

    if not dry_run and unit.settled_by_flags(req):
        return req, None
    from ds01.wizards.container_image import choose_image

    checked = unit.preflight(app.config, req, slots=not dry_run)
    return choose_image(app.terminal, app.config, req), checked


@contextmanager
def progress_once_checked(app: App, message: str) -> Iterator[Callable[[str], None]]:
    """A progress callback whose spinner (or line) appears at its first report: the create's
    checks come before it, so a refusal is printed alone, as when the preflight refused it."""
    with ExitStack() as stack:
        shown: list = []

        def update(text: str) -> None:
            if not shown:
                shown.append(stack.enter_context(app.terminal.progress(message, steps=True)))
            shown[0].update(text)

        yield update


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
def command(
    app: App,
    name: str | None,
    framework: str | None,
    version: str | None,
    image: str | None,
    gpus: int,
    workspace: Path | None,
    data: Path | None,
    models: Path | None,
    project_dockerfile: bool,
    arch: str | None,
    wait: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Create container NAME from a local image (default NAME-image) or a catalog FRAMEWORK VERSION.

    Your limits are applied (CPUs, memory, shm, PIDs, cgroup slice) and GPU slots are
    reserved for it. Exit 3 when a limit refuses, 4 when no GPU slot is free.
    JSON keys: name, docker_name, user, group, image, image_source, framework, version, gpus,
    slots, uuids, refusal, device_requests, inventory, mounts, limits, docker_args, resources,
    network_mode, restart_policy, containers (+ id, definition after a real create).
    """
    from ds01.units.containers import create as unit
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "create")
    req = request_from(
        app, name, framework, version, image, gpus, workspace, data, models, project_dockerfile, arch, wait
    )
    unit.check_request(req)
    if dry_run:
        req, checked = ask_first(app, req, dry_run=True)
        plan = unit.plan_create(app.config, req, preview=True, checked=checked)
        show_plan(app, plan, as_json)
        return
    req, checked = ask_first(app, req)
    with progress_once_checked(app, f"Creating container {req.name}…") as update:
        result = unit.create(app.config, req, progress=update, preflight=checked is None)
    if as_json:
        term.json(result.to_json())
        return
    report_created(app, result.plan)


def show_plan(app: App, plan, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    term = app.terminal
    data = plan.to_json()
    if as_json:
        term.json(data)
        return
    term.out(f"Plan for container {data['name']} ({data['docker_name']}) — dry run, nothing changed")
    term.out(f"  image        {data['image']} ({data['image_source']})")
    term.out(f"  user/group   {data['user']} / {data['group'] or '-'}")
    slots = ", ".join(data["slots"]) or ("none (CPU only)" if not data["gpus"] else "none free now")
    term.out(f"  GPU slots    {slots}" + (f"  [{', '.join(data['uuids'])}]" if data["uuids"] else ""))
    if data["refusal"]:
        term.out(f"  would refuse {data['refusal']}")
    term.out(
        f"  GPU access   {'Docker device request' if data['device_requests'] else 'NVIDIA_VISIBLE_DEVICES'}"
        f" ({data['inventory']} inventory)"
    )
    for key, value in data["mounts"].items():
        if value:
            term.out(f"  {key:<12} {value}")
    term.out(f"  containers   {data['containers']['now']} of {data['containers']['max'] or 'unlimited'}")
    term.out(
        f"  docker args  {' '.join(data['docker_args'])} --network={data['network_mode']} "
        f"--restart={data['restart_policy']}"
    )
    term.out("  limits       " + ", ".join(f"{k}={v}" for k, v in data["limits"].items()))


def report_created(app: App, plan, *, next_step: bool = True) -> None:  # type: ignore[no-untyped-def]
    from ds01.units.containers.create import limits_summary

    term = app.terminal
    slots = ", ".join(plan.slots)
    gpu = f"GPU slot {slots}" if slots else "no GPU (CPU only)"
    term.success(f"Container {plan.spec.name} created: {plan.spec.image}, {gpu}.")
    term.info(f"  limits: {limits_summary(plan.resources)}; workspace {plan.spec.workspace} at /workspace")
    if next_step:
        term.guide("Nothing runs yet: `container run` starts it and opens a shell inside it.")
        term.next_step(f"ds01 container run {plan.spec.name}", "start it and open a shell")
