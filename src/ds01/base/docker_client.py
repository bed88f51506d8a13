"""The Docker SDK adapter: one lazily created client and one place that turns engine
errors into ds01 errors.

Every Docker call in ds01 goes through ``client()`` and, where it can fail, through
``engine_errors()``. Lookups are by label, and names are matched exactly (Docker's
``name=`` filter is an unanchored regex, so ``xpt._.1000`` would match ``pt._.1000``).
"""

from __future__ import annotations

import os
import sys

from ds01.base import sparse
from ds01.base.container_info import ContainerInfo, info_from_api
from ds01.errors import DockerUnavailable, Ds01Error, NotFound, OperationFailed

TYPE_CHECKING = False  # typing, contextlib and functools stay out of a start's imports
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import TracebackType
    from typing import Any

    import docker

DEFAULT_SOCKET = sparse.DEFAULT_SOCKET
docker_host = sparse.docker_host


def unreachable(exc: BaseException | None = None) -> DockerUnavailable:
    host = docker_host()
    where = host.removeprefix("unix://")
    reason = f" ({exc})" if exc else ""
    return DockerUnavailable(
        f"Cannot reach the Docker engine at {where}{reason}.",
        hint="Is dockerd running (`systemctl status docker`)? Are you in the docker group, "
        "or running ds01 through its sudo entry point?",
    )


_client: docker.DockerClient | None = None


def client() -> docker.DockerClient:
    """The process's Docker client, created on first use (never at import time)."""
    global _client
    if _client is None:
        import docker

        try:
            _client = docker.DockerClient(
                base_url=docker_host(), timeout=int(os.environ.get("DS01_DOCKER_TIMEOUT", "120"))
            )
        except docker.errors.DockerException as exc:
            raise unreachable(exc) from exc
    return _client


def reset_client() -> None:
    """Forget the cached client (after a fork, or in tests that change DOCKER_HOST)."""
    global _client
    _client = None


def api() -> Any:
    """The low-level API client (for sparse listings and raw calls)."""
    return client().api


# -- engine errors, typed once ---------------------------------------------------------------
#
# Every failure of a Docker call becomes one of these, decided by the HTTP status the engine
# answered and the exception's class, never by searching its message text.


class EngineNotFound(OperationFailed):
    """404: the container or image is not there (exit 1, or 2 when the caller named it)."""


class NamedNotFound(NotFound, EngineNotFound):
    """404 for an object the user named: the sentence the caller gave, exit 2."""


class Conflict(OperationFailed):
    """409: the object is in a state that forbids the request (running, being removed, in use)."""


class BadRequest(OperationFailed):
    """400: the request itself is malformed (an invalid image reference, a bad parameter)."""


class Timeout(OperationFailed):
    """The engine did not answer in time."""


EngineDown = DockerUnavailable  # the engine cannot be reached at all (exit 5)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from (``__cause__``/``__context__``)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def translate(exc: BaseException, action: str, *, missing: str | None = None) -> Ds01Error:
    """The ds01 error for an exception raised by the SDK (or the socket) while doing ``action``."""
    import docker.errors
    import requests.exceptions

    if isinstance(exc, Ds01Error):
        return exc
    if isinstance(exc, docker.errors.APIError):
        status = exc.status_code
        if isinstance(exc, docker.errors.NotFound) or status == 404:
            if missing:
                return NamedNotFound(missing)
            return EngineNotFound(f"Could not {action}: {_explain(exc)}.")
        if status == 409:
            return Conflict(f"Could not {action}: {_explain(exc)}.")
        if status == 400:
            return BadRequest(f"Could not {action}: {_explain(exc)}.")
        if status in (408, 504):
            return Timeout(f"Could not {action}: the Docker engine did not answer in time.")
        return OperationFailed(f"Could not {action}: {_explain(exc)}.")
    timeouts = (requests.exceptions.Timeout, TimeoutError)  # socket.timeout is TimeoutError
    no_engine = (requests.exceptions.ConnectionError, ConnectionError, FileNotFoundError, PermissionError)
    for link in _chain(exc):
        if isinstance(link, timeouts) and not isinstance(link, requests.exceptions.ConnectTimeout):
            return Timeout(f"Could not {action}: the Docker engine did not answer in time.")
        if isinstance(link, no_engine):
            return unreachable(exc if isinstance(exc, docker.errors.DockerException) else None)
    return OperationFailed(f"Could not {action}: {exc}.")


class engine_errors:  # a class, not a contextlib generator: contextlib stays out of a start
    """Translate SDK exceptions raised while doing ``action`` into ds01 errors (``translate``).

    ``missing``: the sentence to use when the object is not found (404, then exit 2); without
    it a 404 is ``EngineNotFound`` naming ``action``.
    """

    def __init__(self, action: str, *, missing: str | None = None) -> None:
        self.action, self.missing = action, missing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if isinstance(exc, Exception) and _from_the_sdk(exc):
            raise translate(exc, self.action, missing=self.missing) from exc


def _from_the_sdk(exc: BaseException) -> bool:
    """Whether ``exc`` is one of the SDK's (or requests') exceptions. Neither is imported for the
    question: a process that never loaded them cannot have raised one."""
    kinds = tuple(
        getattr(module, name)
        for module_name, name in (("docker.errors", "DockerException"), ("requests.exceptions", "RequestException"))
        if (module := sys.modules.get(module_name)) is not None
    )
    return bool(kinds) and isinstance(exc, kinds)


def _explain(exc: Any) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text).rstrip(".")


def gone_ok(action: str, call: Callable[[], Any], *, still_there: Callable[[], bool]) -> bool:
    """Run a destructive call (stop, kill, remove); False when someone already did it.

    A 404 means gone. A 409 means it is being done already (a removal in progress, a kill of a
    stopped container) or it is refused; ``still_there()`` asks the engine which, instead of
    reading the message: when the object is still there as it was, the 409 is raised.
    """
    try:
        with engine_errors(action):
            call()
    except EngineNotFound:
        return False
    except Conflict:
        if still_there():
            raise
        return False
    return True


def list_containers(
    label_filters: list[str] | None = None, *, all: bool = True, size: bool = False
) -> list[ContainerInfo]:
    """Containers matching every ``label`` filter (``key`` or ``key=value``), one API call.

    Sizes are computed by Docker only when ``size`` is true (it is slow on many containers).
    On a unix socket the request is spoken by hand (``sparse``); otherwise the SDK asks.
    """
    raw = sparse.list_raw(label_filters, all=all, size=size)
    if raw is None:
        filters = {"label": list(label_filters)} if label_filters else None
        with engine_errors("list containers"):
            raw = api().containers(all=all, filters=filters, size=size)
    return [info_from_api(item) for item in raw]


# The hand-spoken GET and its reply parser (kept under their old names for callers and tests).
_get_json = sparse.get_json
_parse_response = sparse.parse_response
