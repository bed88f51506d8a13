"""``container jupyter``: JupyterLab inside a container, reachable from the student's laptop.

How it is reached (the same in both security modes): every container on a network (the
default ``bridge``) is created with its notebook port 8888 published on the server's
**localhost only**, on a port the engine picks free at each start (``-p 127.0.0.1::8888``).
``open_notebook`` starts ``jupyter lab`` in the container as the container's user (the same
exec user as a shell, never root), listening on 8888 inside, with a fresh random token, and
returns the published port; the laptop reaches it through ``ssh -L``. A container made before
ports were published is reached at its bridge address instead (the server can route to it).
``advanced.network_mode: none`` leaves no way in, and says so.

The token travels only in the program's environment (``JUPYTER_TOKEN``), never on its command
line (which every user on the server can read with ``ps``); finding the running notebook again
reads that environment, which only the owner and root can.
"""

from __future__ import annotations

import secrets
import socket
import time
from typing import TYPE_CHECKING, Any

from ds01.errors import OperationFailed, UsageError
from ds01.records import dataclass

if TYPE_CHECKING:
    from ds01.base.container_spec import ContainerInfo
    from ds01.identity import Identity

MARK = "DS01_NOTEBOOK"
_NOT_INSTALLED = (
    "JupyterLab did not start in {name}: is it installed in the image? Images made by "
    "`ds01 image create` have it unless phase 2 (Jupyter) was answered no."
)


@dataclass(frozen=True)
class Notebook:
    name: str
    host: str  # where the server reaches it: 127.0.0.1 (published) or the container's address
    port: int  # the port on that host
    token: str
    started: bool  # False: it was already running

    def url(self, local_port: int) -> str:
        return f"http://127.0.0.1:{local_port}/lab?token={self.token}"

    def ssh_line(self, local_port: int, user: str, server: str) -> str:
        return f"ssh -N -L {local_port}:{self.host}:{self.port} {user}@{server}"

    def to_json(self, local_port: int, user: str, server: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "server_host": self.host,
            "server_port": self.port,
            "token": self.token,
            "started": self.started,
            "local_port": local_port,
            "url": self.url(local_port),
            "ssh": self.ssh_line(local_port, user, server),
        }


def server_name() -> str:
    return socket.getfqdn() or socket.gethostname()


def running_token(info: ContainerInfo) -> str | None:
    """The token of the notebook ds01 started in the container, when one runs now."""
    from ds01.base import container_spec, execs

    for program in execs.other_programs(info):
        env = execs.program_environment(program.pid)
        if env.get(MARK) == str(container_spec.NOTEBOOK_PORT) and env.get("JUPYTER_TOKEN"):
            return env["JUPYTER_TOKEN"]
    return None


def where(info: ContainerInfo) -> tuple[str, int]:
    """(host, port) at which the server reaches the container's notebook port."""
    from ds01.base import container_spec, engine

    published = engine.published_port(info)
    if published is not None:
        return "127.0.0.1", published
    address = engine.container_address(info)
    if address:
        return address, container_spec.NOTEBOOK_PORT
    raise UsageError(
        f"{info.name} has no network (advanced.network_mode: none), so a notebook in it cannot be reached "
        "from outside; ask your admin about the network mode."
    )


def _answers(host: str, port: int) -> bool:
    """Whether an HTTP server answers there (Docker's proxy accepts a connection on a published
    port even before anything listens in the container: only a reply counts)."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            return bool(sock.recv(1))
    except OSError:
        return False


def open_notebook(info: ContainerInfo, owner: Identity, *, timeout: float = 60.0) -> Notebook:
    """Find the running notebook in ``info`` (a running container) or start one; wait until it answers."""
    from ds01.base import container_spec, execs

    host, port = where(info)
    token = running_token(info)
    started = token is None
    if token is None:
        token = secrets.token_urlsafe(24)
        argv = [
            "jupyter",
            "lab",
            "--no-browser",
            "--ip=0.0.0.0",
            f"--port={container_spec.NOTEBOOK_PORT}",
            f"--ServerApp.root_dir={container_spec.WORKSPACE}",
        ]
        try:
            execs.start_program(
                info,
                owner,
                argv,
                {
                    "JUPYTER_TOKEN": token,
                    MARK: str(container_spec.NOTEBOOK_PORT),
                    "HOME": str(owner.home),
                    "USER": owner.name,
                },
            )
        except OperationFailed as exc:
            if "not found" not in exc.message:
                raise
            raise OperationFailed(_NOT_INSTALLED.format(name=info.name)) from None
    deadline = time.monotonic() + timeout
    first_look = time.monotonic() + 5
    while not _answers(host, port):
        now = time.monotonic()
        if now > first_look and running_token(info) is None:
            raise OperationFailed(_NOT_INSTALLED.format(name=info.name))
        if now > deadline:
            raise OperationFailed(
                f"JupyterLab in {info.name} did not answer within {int(timeout)}s; "
                f"try again, or look inside with `ds01 container run {info.name}`."
            )
        time.sleep(0.3)
    nb = Notebook(info.name, host, port, token, started)
    remember(info, nb)
    return nb


# -- what listings show -------------------------------------------------------------------------
#
# ``container list`` must not exec into every container. ``open_notebook`` leaves a small record
# (``DS01_STATE_DIR/notebooks/<uid>/<docker name>.json``: the container's id, where the server
# reaches the notebook; no token) and a listing looks only at running containers that have one:
# one inspect (the port the engine publishes now) and one localhost request each. It is never
# stale: a notebook that ended, or a container restarted since (the processes are gone, the port
# is new), no longer answers there and is not shown. A record of a removed container is ignored.


def _record_path(uid: int, docker_name: str) -> Any:
    from ds01 import paths

    return paths.state_dir() / "notebooks" / str(uid) / f"{docker_name}.json"


def remember(info: ContainerInfo, nb: Notebook) -> None:
    """Record that ``nb`` runs in ``info`` for listings; a record that cannot be written only
    means listings do not show it."""
    import json

    from ds01.fsutil import write_atomic

    if info.uid is None:
        return
    doc = {"container_id": info.id, "host": nb.host, "port": nb.port, "at": time.time()}
    try:
        write_atomic(_record_path(info.uid, info.docker_name), json.dumps(doc) + "\n", mode=0o644)
    except Exception:  # noqa: BLE001 - the notebook runs; only the listing would miss it
        pass


def _answers_soon(host: str, port: int) -> bool:
    """``_answers`` with a short wait: a listing must stay fast."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.settimeout(0.5)
            sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            return bool(sock.recv(1))
    except OSError:
        return False


def listed_notebook(info: ContainerInfo) -> tuple[str, int] | None:
    """For listings: (host, port) of the notebook ``container jupyter`` started in ``info``
    when it answers now there, else None (never raises; no exec)."""
    import json

    if not info.running or info.uid is None:
        return None
    try:
        doc = json.loads(_record_path(info.uid, info.docker_name).read_text(encoding="utf-8"))
        if doc.get("container_id") != info.id:
            return None  # a record of an earlier container of that name
        host, port = where(info) if doc.get("host") == "127.0.0.1" else (str(doc["host"]), int(doc["port"]))
        return (host, port) if _answers_soon(host, port) else None
    except Exception:  # noqa: BLE001 - a listing shows what it can
        return None
