"""``mlc start`` and ``container start`` without click: what both the click commands and the
entry point's fast path run.

A start is the second half of every create-and-run, and what people type each morning. Going
through click, the command tree and the config's module costs it several times a bare
interpreter start, so ``run`` answers the plain forms itself (``fast``), as it answers the
plain listings (``cli.listings``):

- ``mlc start NAME`` (with ``-s``/``--script``; no COMMAND): the caller's own container, started
  after the same checks (``base.running.start_container``). All it needs of the config is its
  security mode, which the last-good record's stamp holds (``limits.stamp``), so the config is
  neither parsed nor rebuilt; all it needs of the caller is the name and uid (``ds01.caller``'s
  rule, which ``identity.current`` follows), so nothing of paths (``pathlib``) is loaded.
  Another user's container (an admin's ``any_user`` lookup), a config that is not the one
  stamped, or any other form goes to click, which validates, refuses or prompts as ever.
- ``container start NAME`` (with ``--json``, ``-s``/``--script``, ``--guided``): the caller's own
  container that needs no remaking (running, or holding no GPU slot) is started as the click
  command starts it (``lifecycle.start_existing``) on the stamped security mode, and reported
  by the same function; any other (one to remake from its definition, another user's, a
  config not the one stamped, ``--guided``) runs the click command's body, ``container_start``,
  on ``App.config`` as every command loads it (the stamped record while it matches; else the
  file is validated, and an invalid one refused, exactly as under click). ``--wait``, no NAME
  (the picker) and everything else go to click.

Both click commands call the functions below, so what is printed is the same by construction.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ds01.base.container_info import ContainerInfo
    from ds01.cli.context import App
    from ds01.identity import Identity
    from ds01.terminal import Terminal

SCRIPT = ("-s", "--script")
CONTAINER_FLAGS = {"--json": "as_json", "-s": "script", "--script": "script", "--guided": "guided"}


# -- the fast path ------------------------------------------------------------------------------


def fast(args: list[str]) -> int | None:
    """Run ``args`` when it is a plain start (exit code); None: let click run it."""
    if len(args) < 3 or args[1] != "start":
        return None
    noun, rest = args[0], args[2:]
    names = [w for w in rest if not w.startswith("-")]
    flags = [w for w in rest if w.startswith("-")]
    if len(names) != 1 or (noun == "mlc" and rest[-1] != names[0]):
        return None  # mlc: options come before NAME, and anything after it is a COMMAND
    if noun == "mlc" and all(f in SCRIPT for f in flags):
        return _mlc_start(names[0], script=bool(flags))
    if noun == "container" and all(f in CONTAINER_FLAGS for f in flags):
        chosen = {CONTAINER_FLAGS[f] for f in flags}
        return _container_start(names[0], chosen)
    return None


def _stamped_mode() -> str | None:
    """The security mode of the config as last validated, when it is still the file validated
    and the record is root's or the caller's own; None otherwise."""
    from ds01 import paths
    from ds01.limits import stamp

    record = stamp.read_record(paths.state_dir_text(), values=True)
    if record is None or not stamp.matches(record, paths.config_path_text()):
        return None
    mode = record["stamp"].get("security_mode")
    return mode if isinstance(mode, str) else None


def _mlc_start(name: str, *, script: bool) -> int | None:
    mode = _stamped_mode()
    if mode is None:
        return None
    from ds01 import caller
    from ds01.base import running
    from ds01.terminal import Terminal

    try:
        user, uid, _entry, _sudo = caller.name_and_uid()
    except ValueError:
        return None  # a SUDO_UID that is not a number: click says so
    info = running.find_own(name, user, uid)
    if info is None:
        return None  # perhaps another user's, for an admin: click decides
    term = Terminal()
    term.script_mode = script
    _announce_start(term, info, mode)
    return 0


def _container_start(name: str, flags: set[str]) -> int:
    if "guided" not in flags:
        done = _container_start_stamped(name, script="script" in flags, as_json="as_json" in flags)
        if done is not None:
            return done
    from ds01.cli.context import App

    app = App()
    app.terminal.script_mode = "script" in flags
    app.terminal.guided = "guided" in flags
    container_start(app, name, wait=None, as_json="as_json" in flags)
    return 0


def _container_start_stamped(name: str, *, script: bool, as_json: bool) -> int | None:
    """``container start NAME`` of the caller's container that needs no remaking, on the stamped
    security mode (neither the config nor the GPU service is loaded); None: the full path."""
    mode = _stamped_mode()
    if mode is None:
        return None
    from ds01.base import running
    from ds01.identity import current
    from ds01.terminal import Terminal
    from ds01.units.containers import lifecycle
    from ds01.units.containers.common import gpu_slots_label

    me = current()
    info = running.find_own(name, me.name, me.uid)
    if info is None or lifecycle.may_need_remaking(info):
        return None
    term = Terminal()
    term.script_mode = script
    with term.progress(f"Starting {info.name}…", steps=True):
        started = lifecycle.start_existing(info, me, mode)
    slots = gpu_slots_label(info.labels)
    _report_start(term, info.name, info.docker_name, started=started, recreated=False, slots=slots, as_json=as_json)
    return 0


# -- what the commands run ------------------------------------------------------------------


def mlc_start(
    term: Terminal, me: Identity, info: ContainerInfo, *, mode: str | None, argv: Sequence[str], detach: bool
) -> int:
    """Start ``info`` (``mode``: the security mode, None: read it now); with ``argv``, run that
    command in it as ``me`` and give its exit code."""
    _announce_start(term, info, mode)
    if not argv:
        return 0
    from ds01.base import execs

    def write(stream):  # the command's output is data: stdout stays stdout, stderr stays stderr
        return lambda chunk: (stream.write(chunk.decode(errors="replace")), stream.flush())

    return execs.run_command(
        info, me, list(argv), detach=detach, out=write(term.stdout), err=write(term.stderr), mode=mode
    )


def _announce_start(term: Terminal, info: ContainerInfo, mode: str | None) -> None:
    from ds01.base import running

    if running.start_container(info, mode=mode):
        term.success(f"Container {info.name} started.")
    else:
        term.info(f"Container {info.name} is already running.")


def container_start(app: App, name: str | None, *, wait: str | None, as_json: bool) -> None:
    """Start container NAME (recreating it when its GPU was released); ``wait``: how long to keep
    trying for a GPU slot when it must be recreated."""
    from ds01.cli.container._common import locate, pick_name
    from ds01.cli.gpu._common import parse_wait
    from ds01.units.containers import lifecycle
    from ds01.units.containers.texts import guide

    term = app.terminal
    guide(term, "start")
    target = locate(app, pick_name(app, name, running=False))
    with term.progress(f"Starting {target.name}…", steps=True) as status:
        s = lifecycle.ensure_running(app.config, target, progress=status.update, wait=parse_wait(wait))
    _report_start(
        term, target.name, target.docker_name, started=s.started, recreated=s.recreated, slots=s.slots, as_json=as_json
    )


def _report_start(
    term: Terminal,
    name: str,
    docker_name: str,
    *,
    started: bool,
    recreated: bool,
    slots: Sequence[str],
    as_json: bool = False,
) -> None:
    if as_json:
        term.json(
            {
                "name": name,
                "docker_name": docker_name,
                "started": started,
                "recreated": recreated,
                "gpu_slots": list(slots),
            }
        )
        return
    from ds01.cli.container._common import gpu_words

    gpu = gpu_words(tuple(slots))
    if recreated:
        term.success(f"Recreated and started {name} ({gpu}).")
    elif started:
        term.success(f"Started {name} ({gpu}).")
    else:
        term.info(f"{name} was already running ({gpu}).")
    term.next_step(f"ds01 container run {name}", "open a shell in it")
