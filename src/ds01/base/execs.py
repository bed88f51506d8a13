"""Commands and programs inside a running container: execs as the owner, what else runs there.

``run_command`` (a command, its exit code), ``start_program`` (in the background),
``live_execs``, ``other_programs`` (``docker top``), ``program_environment``, ``user_shell``
and ``exec_user``: the user every exec runs as, never root for a user.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from ds01.base import docker_client as dc
from ds01.base import engine_api
from ds01.base.container_spec import WORKSPACE, ContainerInfo, security_mode
from ds01.base.users import read_single_file
from ds01.identity import Identity
from ds01.policy import containers as hardening_policy
from ds01.records import dataclass


def run_command(
    info: ContainerInfo,
    owner: Identity,
    argv: list[str],
    *,
    detach: bool = False,
    out: Callable[[bytes], None] | None = None,
    err: Callable[[bytes], None] | None = None,
    mode: str | None = None,
) -> int:
    """Run ``argv`` (kept intact: no shell) in the running container as the owner; its exit code."""
    api = dc.api()
    user = exec_user(info, owner, mode=mode)
    with dc.engine_errors(f"run a command in {info.name}"):
        exec_id = api.exec_create(info.id, argv, user=user, workdir=WORKSPACE, stdout=not detach, stderr=not detach)[
            "Id"
        ]
        if detach:
            api.exec_start(exec_id, detach=True)
            return 0
        for chunk_out, chunk_err in api.exec_start(exec_id, stream=True, demux=True):
            if chunk_out and out:
                out(chunk_out)
            if chunk_err and err:
                err(chunk_err)
        code = api.exec_inspect(exec_id).get("ExitCode")
    return int(code if code is not None else 1)


def live_execs(container_id: str) -> int:
    """How many exec sessions (shells, commands) are running in the container now."""
    import docker.errors

    api = dc.api()
    with dc.engine_errors("inspect the container"):
        ids = api.inspect_container(container_id).get("ExecIDs") or []
        count = 0
        for exec_id in ids:
            try:
                count += bool(api.exec_inspect(exec_id).get("Running"))
            except docker.errors.NotFound:
                continue
    return count


def start_program(
    info: ContainerInfo, owner: Identity, argv: list[str], env: Mapping[str, str], *, mode: str | None = None
) -> None:
    """Start ``argv`` in the background in the container as its owner (the same user as a shell:
    ``exec_user``, never root for a user), in /workspace, with ``env`` added."""
    api = dc.api()
    user = exec_user(info, owner, mode=mode)
    with dc.engine_errors(f"start a program in {info.name}"):
        exec_id = api.exec_create(
            info.id, argv, user=user, workdir=WORKSPACE, stdout=False, stderr=False, environment=dict(env)
        )["Id"]
        api.exec_start(exec_id, detach=True)


def program_environment(pid: int) -> dict[str, str]:
    """The environment of a container program by its host PID ({} when it cannot be read: only
    its own user and root may)."""
    try:
        raw = Path(f"/proc/{int(pid)}/environ").read_bytes()
    except (OSError, ValueError):
        return {}
    out: dict[str, str] = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            out[key.decode(errors="replace")] = value.decode(errors="replace")
    return out


@dataclass(frozen=True)
class Program:
    """A program running in a container: its host PID, seconds since it started, its command line."""

    pid: int
    seconds: int
    command: str


def other_programs(info: ContainerInfo) -> list[Program]:
    """What runs in the container besides its init and keep-alive command (``docker top``).

    A job left behind by a shell (``nohup train.py &``) is here; ``sleep infinity`` under the
    container's init is not. Oldest first.
    """
    import docker.errors

    api = dc.api()
    with dc.engine_errors(f"list the programs in {info.name}"):
        try:
            attrs = api.inspect_container(info.id)
            top = api.top(info.id, ps_args="-eo pid,ppid,etimes,args")
        except docker.errors.NotFound:
            return []
        except docker.errors.APIError:  # not running
            return []
    state = attrs.get("State") or {}
    conf = attrs.get("Config") or {}
    main_argv = " ".join([*(conf.get("Entrypoint") or []), *(conf.get("Cmd") or [])])
    init = int(state.get("Pid") or 0)
    titles = [t.upper() for t in top.get("Titles") or []]
    try:
        col = {name: titles.index(name) for name in ("PID", "PPID", "ELAPSED", "COMMAND")}
    except ValueError:
        return []
    out: list[Program] = []
    for row in top.get("Processes") or []:
        try:
            pid, ppid, secs = int(row[col["PID"]]), int(row[col["PPID"]]), int(row[col["ELAPSED"]])
        except (ValueError, IndexError):
            continue
        command = " ".join(row[col["COMMAND"] :])
        if pid == init or (ppid == init and command == main_argv):
            continue
        out.append(Program(pid, secs, command))
    return sorted(out, key=lambda p: -p.seconds)


def user_shell(info: ContainerInfo, owner: Identity) -> str:
    """The owner's login shell inside the container (from its passwd), /bin/sh when unknown."""
    passwd = (read_container_file(info.id, "/etc/passwd", action="read the container's users") or b"").decode()
    for line in passwd.splitlines():
        row = line.split(":")
        if len(row) >= 7 and row[2] == str(owner.uid) and row[6]:
            return row[6]
    return "/bin/sh"


def _user_spec(owner: Identity, mode: str = "group") -> str:
    return hardening_policy.hardening(mode, uid=owner.uid, gid=owner.gid).exec_user


def exec_user(info: ContainerInfo, owner: Identity, *, mode: str | None = None) -> str:
    """The ``user`` of an exec (shell or command) in ``info`` for ``owner``: never root for a user.

    Secure mode checks the container first (``policy.containers``) and runs the exec as the
    identity the container itself runs as, ``uid:gid``; a root exec is never requested.
    """
    mode = security_mode(mode)
    if mode == "secure" and owner.uid != 0:
        with dc.engine_errors(f"inspect container {info.name}", missing=f"Container {info.name!r} has gone."):
            attrs = dc.api().inspect_container(info.id)
        hardening_policy.check_container(mode, uid=owner.uid, gid=owner.gid, attrs=attrs, name=info.name)
        return str((attrs.get("Config") or {}).get("User") or _user_spec(owner, mode))
    return _user_spec(owner, mode)


def read_container_file(cid: str, path: str, *, action: str = "read a file in the container") -> bytes | None:
    """The content of one file in a container (None when it is not there)."""
    try:
        archive = engine_api.request("GET", f"/containers/{cid}/archive", query={"path": path}, action=action)
    except dc.EngineNotFound:
        return None
    return read_single_file(archive)
