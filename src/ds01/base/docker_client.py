"""The Docker SDK adapter: one lazily created client and one place that turns engine
errors into ds01 errors.

Every Docker call in ds01 goes through ``client()`` and, where it can fail, through
``engine_errors()``. Lookups are by label, and names are matched exactly (Docker's
``name=`` filter is an unanchored regex, so ``xpt._.1000`` would match ``pt._.1000``).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ds01.errors import DockerUnavailable, NotFound, OperationFailed

if TYPE_CHECKING:
    import docker

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def _unreachable(exc: BaseException | None = None) -> DockerUnavailable:
    host = docker_host()
    where = host.removeprefix("unix://")
    reason = f" ({exc})" if exc else ""
    return DockerUnavailable(
        f"Cannot reach the Docker engine at {where}{reason}.",
        hint="Is dockerd running (`systemctl status docker`)? Are you in the docker group, "
        "or running ds01 through its sudo entry point?",
    )


@lru_cache(maxsize=1)
def client() -> docker.DockerClient:
    """The process's Docker client, created on first use (never at import time)."""
    import docker

    try:
        return docker.DockerClient(base_url=docker_host(), timeout=int(os.environ.get("DS01_DOCKER_TIMEOUT", "120")))
    except docker.errors.DockerException as exc:
        raise _unreachable(exc) from exc


def reset_client() -> None:
    """Forget the cached client (after a fork, or in tests that change DOCKER_HOST)."""
    client.cache_clear()


def api() -> Any:
    """The low-level API client (for sparse listings and raw calls)."""
    return client().api


@contextmanager
def engine_errors(action: str, *, missing: str | None = None) -> Iterator[None]:
    """Translate SDK exceptions raised while doing ``action`` into ds01 errors.

    ``missing``: the sentence to use when the object is not found (404); without it a
    404 is an operation failure naming ``action``.
    """
    import docker.errors
    import requests.exceptions

    try:
        yield
    except docker.errors.NotFound as exc:
        if missing:
            raise NotFound(missing) from exc
        raise OperationFailed(f"Could not {action}: {_explain(exc)}.") from exc
    except docker.errors.APIError as exc:
        raise OperationFailed(f"Could not {action}: {_explain(exc)}.") from exc
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
        if (
            isinstance(exc, docker.errors.DockerException)
            and "Connection" not in str(exc)
            and "FileNotFound" not in str(exc)
            and "No such file" not in str(exc)
        ):
            raise OperationFailed(f"Could not {action}: {exc}.") from exc
        raise _unreachable() from exc
    except requests.exceptions.ReadTimeout as exc:
        raise OperationFailed(f"Could not {action}: the Docker engine did not answer in time.") from exc


def _explain(exc: Any) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text).rstrip(".")


def is_gone(exc: BaseException) -> bool:
    """404/409 on stop/remove mean "already done" (idempotent destructive calls)."""
    import docker.errors

    if isinstance(exc, docker.errors.NotFound):
        return True
    if isinstance(exc, docker.errors.APIError) and exc.status_code == 409:
        text = str(getattr(exc, "explanation", "") or exc).lower()
        return "already in progress" in text or "is not running" in text or "removal" in text
    return False


@dataclass(frozen=True)
class ContainerSummary:
    """One container as a sparse listing returns it (no per-container inspect)."""

    id: str
    name: str
    image: str
    state: str  # created, running, exited, paused, ...
    status: str  # human text from Docker ("Up 3 minutes")
    created: int  # unix time
    labels: dict[str, str] = field(default_factory=dict)
    size_rw: int | None = None  # only when listed with size=True
    size_root_fs: int | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"


def list_containers(
    label_filters: list[str] | None = None, *, all: bool = True, size: bool = False
) -> list[ContainerSummary]:
    """Containers matching every ``label`` filter (``key`` or ``key=value``), one API call.

    Sizes are computed by Docker only when ``size`` is true (it is slow on many containers).
    """
    filters = {"label": list(label_filters)} if label_filters else None
    socket_path = _unix_socket_path()
    if socket_path is not None:
        query = {"all": "1" if all else "0", "size": "1" if size else "0"}
        if filters:
            query["filters"] = json.dumps(filters)
        raw = _get_json(socket_path, "/containers/json", query, action="list containers")
    else:
        with engine_errors("list containers"):
            raw = api().containers(all=all, filters=filters, size=size)
    return [summary_from_api(item) for item in raw]


def _unix_socket_path() -> str | None:
    host = docker_host()
    return host.removeprefix("unix://") if host.startswith("unix://") else None


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _get_json(socket_path: str, path: str, query: dict[str, str], *, action: str) -> Any:
    """One read-only Engine API call over the unix socket with the standard library.

    The listing commands (``gpu status``, ``container list``, cron's ``gpu release-stale``)
    are run far more often than anything else; importing the Docker SDK (requests, urllib3)
    costs them ~150-200 ms, several times the work itself. Writes always go through the SDK.
    """
    from urllib.parse import urlencode

    conn = _UnixHTTPConnection(socket_path, float(os.environ.get("DS01_DOCKER_TIMEOUT", "120")))
    try:
        conn.request("GET", f"{path}?{urlencode(query)}", headers={"Host": "docker"})
        response = conn.getresponse()
        body = response.read()
    except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
        raise _unreachable(exc) from exc
    except TimeoutError as exc:
        raise OperationFailed(f"Could not {action}: the Docker engine did not answer in time.") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise OperationFailed(f"Could not {action}: {exc}.") from exc
    finally:
        conn.close()
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise OperationFailed(f"Could not {action}: the Docker engine sent a reply that is not JSON.") from exc
    if response.status != 200:
        message = data.get("message") if isinstance(data, dict) else None
        raise OperationFailed(f"Could not {action}: {message or f'HTTP {response.status}'}.")
    return data


def summary_from_api(item: dict[str, Any]) -> ContainerSummary:
    names = item.get("Names") or [""]
    return ContainerSummary(
        id=item["Id"],
        name=names[0].lstrip("/"),
        image=item.get("Image", ""),
        state=item.get("State", ""),
        status=item.get("Status", ""),
        created=int(item.get("Created", 0)),
        labels=dict(item.get("Labels") or {}),
        size_rw=item.get("SizeRw"),
        size_root_fs=item.get("SizeRootFs"),
    )


def find_container(name: str, label_filters: list[str] | None = None) -> ContainerSummary | None:
    """The container whose name is exactly ``name`` (among those matching the labels)."""
    for item in list_containers(label_filters):
        if item.name == name:
            return item
    return None
