"""``mlc create`` and ``container create`` without click: what both the click commands and the
entry point's fast path run.

Every container begins with a create, and a create's own Python (click, the command tree) is
a large part of its time. ``run`` answers the usual forms itself (``fast``), as it answers the
plain listings and starts (``cli.listings``, ``cli.starts``): a NAME (with FRAMEWORK VERSION
where the command takes them) and the command's own options, each given once, as
``--opt VALUE``, ``--opt=VALUE`` or ``-o VALUE``. The option tables below are the click
commands' (``tests/cli/test_cli_creates.py`` parses the same command lines both ways and
compares). Anything else goes to click: no NAME (the questions), ``--help``, ``--``, an
unknown or repeated option, a value that begins with ``-``, a ``--gpus`` that is not a number.

Both click commands call ``mlc_create`` and ``container_create``, so what is printed is the
same by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ds01.cli.context import App

# option -> (parameter, converter); flag -> parameter. What the click commands declare.
MLC_VALUES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "--image": ("image", str),
    "-w": ("workspace", Path),
    "--workspace": ("workspace", Path),
    "-d": ("data", Path),
    "--data": ("data", Path),
    "-m": ("models", Path),
    "--models": ("models", Path),
    "-g": ("gpus", str),
    "--gpus": ("gpus", str),
    "--arch": ("arch", str),
}
MLC_FLAGS = {"-s": "script", "--script": "script", "--json": "as_json"}
CONTAINER_VALUES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "--image": ("image", str),
    "--gpus": ("gpus", int),
    "-w": ("workspace", Path),
    "--workspace": ("workspace", Path),
    "-d": ("data", Path),
    "--data": ("data", Path),
    "-m": ("models", Path),
    "--models": ("models", Path),
    "--arch": ("arch", str),
    "--wait": ("wait", str),
}
CONTAINER_FLAGS = {
    "--project-dockerfile": "project_dockerfile",
    "--dry-run": "dry_run",
    "--guided": "guided",
    "-s": "script",
    "--script": "script",
    "--json": "as_json",
}
POSITIONAL = ("name", "framework", "version")
TERMINAL_FLAGS = ("script", "guided")  # set on the terminal, not passed (click: expose_value=False)


# -- the fast path ------------------------------------------------------------------------------


def fast(args: list[str]) -> int | None:
    """Run ``args`` when it is a plain create (exit code); None: let click run it."""
    if len(args) < 3 or args[1] != "create" or args[0] not in ("mlc", "container"):
        return None
    mlc = args[0] == "mlc"
    params = parse(args[2:], mlc=mlc)
    if params is None:
        return None
    from ds01.cli.context import App

    app = App()
    app.terminal.script_mode = bool(params.pop("script"))
    app.terminal.guided = bool(params.pop("guided"))
    if mlc:
        mlc_create(app, **params)
    else:
        container_create(app, **params)
    return 0


def parse(words: list[str], *, mlc: bool) -> dict[str, Any] | None:
    """The parameters click would give the command for ``words`` (plus ``script``/``guided``);
    None for any form the fast path leaves to click."""
    values, flags = (MLC_VALUES, MLC_FLAGS) if mlc else (CONTAINER_VALUES, CONTAINER_FLAGS)
    params: dict[str, Any] = {p: None for p in POSITIONAL}
    params.update({p: None for p, _ in values.values()})
    params.update({p: False for p in flags.values()})
    params.update({p: False for p in TERMINAL_FLAGS})
    params["gpus"] = "1" if mlc else 1  # the click options' defaults
    given: set[str] = set()
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        option, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if option in flags and not eq and flags[option] not in given:
            params[flags[option]] = True
            given.add(flags[option])
            continue
        if option not in values:
            return None  # --help, --, an unknown option, a short option with its value attached
        param, convert = values[option]
        if not eq:
            if i >= len(words):
                return None
            value = words[i]
            i += 1
        if param in given or value.startswith("-"):
            return None
        if convert is int:
            if not (value.isascii() and value.isdigit()):
                return None  # click explains what --gpus takes ('²' is a digit int() refuses)
            params[param] = int(value)
        else:
            params[param] = convert(value)
        given.add(param)
    if not 1 <= len(positional) <= len(POSITIONAL):
        return None
    params.update(zip(POSITIONAL, positional, strict=False))
    return params


# -- what the commands run ------------------------------------------------------------------


def mlc_create(
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
    """``mlc create``: AIME's create through ds01's ledger and quotas (``cli.mlc.create``)."""
    from ds01.base import catalog, engine
    from ds01.base.names import docker_name, validate_new_name
    from ds01.cli.mlc._common import gpu_count
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


def container_create(
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
    """``container create`` (``cli.container.create``): the plan, or the container."""
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
