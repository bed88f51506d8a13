"""``container list`` and ``mlc list`` without click: what both the click commands and the
entry point's fast path run.

The two listings are what people (and their shell prompts, watch loops and scripts) run most.
Importing click, the YAML config with its schema and the Docker engine module costs them many
times a bare interpreter start, so ``run`` answers these command lines itself (``fast``):

- it takes only the plain forms (``container list|ls|ps [--json]`` and ``mlc list`` with any
  of ``-a``, ``-s``, ``--json``, long or short); anything else (``--help``, ``--guided``,
  ``container list -a``, ``mlc list -au``, a typo, an argument) goes to click as before;
- ``container list`` needs to know that the config is valid (an invalid one is reported, and
  read-only commands then run on the last valid one): it asks the last-good record's stamp
  (``limits.stamp``) instead of parsing the file; a config that is not the one stamped goes to
  click, which validates it, warns or refuses as ever, and stamps it. The config's values are
  read (parsed) only when a listed container needs one (a hold time, a running container's
  idle limits);
- with no container (and, for ``container list``, no saved definition) it prints the empty
  answer having imported nothing but ``os``, ``pwd`` and the small ``sparse``/``stamp``/``paths``;
  otherwise it renders through the same functions as the click commands (below), so the output
  is the same by construction.

Caller and paths are resolved by the same rules as ``identity.current`` and ``paths`` (under
sudo: ``SUDO_USER``/``SUDO_UID``, and overrides only where root controls them).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ds01.base.container_info import ContainerInfo
    from ds01.cli.context import App

CONTAINERS_EMPTY = "No containers; create one with `ds01 container create NAME`."
MLC_EMPTY = "No containers; create one with `ds01 mlc create NAME`."

CONTAINER_VERBS = ("list", "ls", "ps")  # cli.tree.VERB_ALIASES["container"] spells list so
CONTAINER_FLAGS = {"--json": "as_json"}
MLC_FLAGS = {"--json": "as_json", "-a": "show_all", "--all": "show_all", "-s": "sizes", "--size": "sizes"}


# -- the fast path ------------------------------------------------------------------------------


def fast(args: list[str]) -> int | None:
    """Run ``args`` when it is one of the plain listings (exit code); None: let click run it."""
    if len(args) < 2:
        return None
    noun, verb, rest = args[0], args[1], args[2:]
    if noun == "container" and verb in CONTAINER_VERBS:
        flags = _flags(rest, CONTAINER_FLAGS)
        return None if flags is None else _container_list(as_json="as_json" in flags)
    if noun == "mlc" and verb == "list":
        flags = _flags(rest, MLC_FLAGS)
        if flags is None:
            return None
        return _mlc_list(show_all="show_all" in flags, sizes="sizes" in flags, as_json="as_json" in flags)
    return None


def _flags(words: list[str], known: dict[str, str]) -> set[str] | None:
    out = set()
    for word in words:
        if word not in known:
            return None
        out.add(known[word])
    return out


def _caller() -> tuple[str, int] | None:
    """(name, uid) of the caller by ``ds01.caller``'s rule; None when ``identity.current`` would
    refuse (click then says why)."""
    from ds01 import caller

    try:
        name, uid, _entry, _sudo = caller.name_and_uid()
    except ValueError:
        return None
    return name, uid


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _info(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _mlc_list(*, show_all: bool, sizes: bool, as_json: bool) -> int | None:
    from ds01.base import labels, sparse

    caller = _caller()
    if caller is None:
        return None
    raw = sparse.list_raw(labels.owner_filter(caller[0]), size=sizes)
    if raw is None:
        return None
    if not raw:
        # What show_mlc prints for no rows (Terminal.json / Terminal.table's empty line).
        _out("[]") if as_json else _info(MLC_EMPTY)
        return 0
    from ds01.base.container_info import info_from_api, sort_infos
    from ds01.cli.context import App

    infos = sort_infos([info_from_api(item) for item in raw])
    show_mlc(App(), show_all=show_all, all_users=False, sizes=sizes, as_json=as_json, infos=infos)
    return 0


def _container_list(*, as_json: bool) -> int | None:
    from ds01 import paths
    from ds01.base import labels, sparse
    from ds01.limits import stamp

    caller = _caller()
    if caller is None:
        return None
    name, uid = caller
    state = paths.state_dir_text()
    if not stamp.valid_as_stamped(paths.config_path_text(), state):
        return None  # click validates the config (warning or refusing as it must) and stamps it
    raw = sparse.list_raw(labels.owner_filter(name))
    if raw is None:
        return None
    mine = [item for item in raw if sparse.docker_uid((item.get("Names") or [""])[0]) in (uid, None)]
    if not mine and not _may_have_definitions(state, name, uid):
        _out("[]") if as_json else _info(CONTAINERS_EMPTY)
        return 0
    from ds01.base.container_info import info_from_api, sort_infos
    from ds01.cli.context import App

    app = App()
    app.config_use = "read"
    listed = sort_infos([info_from_api(item) for item in raw])
    show_containers(app, show_all=False, as_json=as_json, listed=listed)
    return 0


def _may_have_definitions(state: str, name: str, uid: int) -> bool:
    """False only when ``units.containers.definitions.list_all(name)`` surely finds nothing: no
    ``containers/`` folder, or one holding uid folders only (no old name-keyed folder to move)
    and none of ``name``'s ``*.json``. Anything unsure is True (the definitions module decides)."""
    root = os.path.join(state, "containers")
    try:
        entries = os.listdir(root)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    if any(not entry.isdigit() for entry in entries):
        return True
    import pwd

    try:
        owner = pwd.getpwnam(name).pw_uid  # definitions.owner_uid: the login's uid, else the caller's
    except KeyError:
        owner = uid
    try:
        files = os.listdir(os.path.join(root, str(owner)))
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return any(f.endswith(".json") for f in files)


# -- what the commands show ---------------------------------------------------------------------


def show_mlc(
    app: App,
    *,
    show_all: bool,
    all_users: bool,
    sizes: bool,
    as_json: bool,
    infos: list[ContainerInfo] | None = None,
) -> None:
    """``mlc list``: the caller's (``all_users``: everyone's, admins only) mlc containers."""
    if all_users:
        from ds01.cli.mlc._common import is_admin
        from ds01.errors import PolicyRefused

        if not is_admin(app):
            raise PolicyRefused("Only admins can list every user's containers; drop -au to see yours.")
    if infos is None:
        from ds01.base.container_info import list_infos

        infos = list_infos(None if all_users else app.identity.name, size=sizes)
    if as_json:
        app.terminal.json([i.to_json() for i in infos])
        return
    columns = ["NAME", "FRAMEWORK", "STATE", "STATUS"]
    if all_users:
        columns.insert(0, "USER")
    if show_all:
        columns += ["ARCH", "GPUS", "WORKSPACE", "DATA", "MODELS", "MANAGED"]
    if sizes:
        columns += ["SIZE"]
    from ds01.terminal import human_size

    rows = []
    for i in infos:
        j = i.to_json()
        row = [i.name, j["framework"] or "-", i.state, i.status]
        if all_users:
            row.insert(0, i.user)
        if show_all:
            row += [
                j["arch"] or "-",
                j["gpus"] or "-",
                j["workspace"] or "-",
                j["data"] or "-",
                j["models"] or "-",
                "ds01" if i.ds01_managed else "aime",
            ]
        if sizes:
            row += [f"{human_size(i.size_rw)} (virtual {human_size(i.size_root_fs)})"]
        rows.append(row)
    app.terminal.table(columns, rows, empty=MLC_EMPTY)


_NO_LIMITS = {"keep_alive_until": None, "idle_stop_at": None, "runtime_stop_at": None, "stop_in_seconds": None}


def show_containers(app: App, *, show_all: bool, as_json: bool, listed: list[ContainerInfo] | None = None) -> None:
    """``container list``: the caller's containers (``show_all``: with released ones; admins:
    everyone's). The config is read only when a container needs a value of it.
    ``listed``: the caller's own listing (``container_info.list_infos``) when already made."""
    from ds01.units.containers.listing import list_entries

    term = app.terminal
    everyone = show_all and app.is_admin()
    entries = list_entries(
        lambda: app.config,
        app.identity,
        include_released=True,
        all_users=everyone,
        listed=None if everyone else listed,
    )
    released = [e for e in entries if e.status == "released"]
    if not show_all:
        entries = [e for e in entries if e.status != "released"]
    limits = _limits(app, everyone, entries)
    if as_json:
        term.json([{**e.to_json(), **limits.get(e.docker_name, _NO_LIMITS)} for e in entries])
        return
    from ds01.terminal import Column, relative

    columns = [
        Column("NAME", 1, name=True),
        Column("STATUS", 1),
        Column("IMAGE", 4),
        Column("GPU", 2),
        Column("HELD UNTIL", 3),
        Column("KEEP-ALIVE", 6),
        Column("STOP IN", 3),
        Column("CREATED", 5),
        Column("PROJECT", 7),
        Column("NOTEBOOK", 8),
    ]
    if everyone:
        columns.insert(0, Column("USER", 1, name=True))
    rows = []
    for e in entries:
        held = relative(e.held_until) if e.held_until else ("indefinitely" if e.held_indefinitely else "-")
        lim = limits.get(e.docker_name, _NO_LIMITS)
        row = [
            e.name,
            e.status,
            e.image,
            ",".join(e.gpu_slots) or "-",
            held,
            relative(lim["keep_alive_until"]),
            _stop_in(lim),
            relative(e.created),
            e.project or "-",
            e.notebook_text,
        ]
        if everyone:
            row.insert(0, e.user)
        rows.append(row)
    hidden = len(released) if not show_all else 0
    if hidden and not rows:
        # Not "create one": the user still has containers, only their GPUs were released.
        term.info(
            f"No containers running or stopped; {hidden} released (GPU given back, definition kept): "
            "see `ds01 container list --all`; `ds01 container run NAME` makes one again."
        )
        return
    term.table(columns, rows, empty=CONTAINERS_EMPTY)
    if hidden:
        term.info(f"+ {hidden} released (GPU given back, definition kept): `ds01 container list --all`.")


def _limits(app: App, everyone: bool, entries: list) -> dict[str, dict]:
    """Running containers' keep-alive and time left before each limit, from the idle monitor
    (what `ds01 status` and `ds01 monitor idle` show), by Docker name."""
    if not any(e.status == "running" for e in entries):
        return {}
    from ds01.errors import Ds01Error
    from ds01.orchestrators.lifecycle import monitor

    try:
        rows = monitor(app.config, app.identity, all_users=everyone)
    except Ds01Error as exc:
        app.terminal.warning(f"Idle and runtime limits not shown ({exc.message})")
        return {}
    return {r["container"]: {k: r[k] for k in _NO_LIMITS} for r in rows}


def _stop_in(lim: dict) -> str:
    from ds01.terminal import relative_in

    left = lim["stop_in_seconds"]
    if left is None:
        return "-"
    why = (
        "runtime"
        if lim["runtime_stop_at"]
        and lim["runtime_stop_at"] == min(t for t in (lim["idle_stop_at"], lim["runtime_stop_at"]) if t)
        else "idle"
    )
    return f"{relative_in(left)} ({why})"
