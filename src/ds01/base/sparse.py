"""Sparse listings over the engine's unix socket, spoken by hand, with the cheapest of modules.

The listing commands (``container list``, ``mlc list``, ``gpu status``, cron's ``gpu
release-stale``) are run far more often than anything else. The Docker SDK (requests,
urllib3) costs them ~150 ms and even ``http.client`` brings ``ssl`` and ``email``; ``socket``,
``urllib.parse`` and ``json`` bring ``enum`` and ``re``, each several milliseconds on a process
whose whole budget is a few times a bare interpreter start. So this module imports only
``os``, the C half of ``socket`` (``_socket``), ``ds01.jsonlite`` and nothing else of ds01
until an error is to be raised. One request per connection (HTTP/1.0: the engine answers with
the whole body and closes); ``engine_api`` sends its create, start and archive requests through
the same ``exchange`` and types their errors with the same ``status_error``.
"""

from __future__ import annotations

import os

from ds01 import jsonlite

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
MAX_CHUNK = 262144


def docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def unix_socket_path() -> str | None:
    """The engine's socket path; None when ``DOCKER_HOST`` is not a unix socket (use the SDK)."""
    host = docker_host()
    return host.removeprefix("unix://") if host.startswith("unix://") else None


# -- the query string ----------------------------------------------------

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote_plus(text: str) -> str:
    """``urllib.parse.quote_plus(text)`` (nothing is safe but the unreserved characters)."""
    return "".join(chr(b) if b in _SAFE else "+" if b == 0x20 else f"%{b:02X}" for b in text.encode("utf-8", "strict"))


def quote_path(path: str) -> str:
    """``urllib.parse.quote(path, safe="/:@")``: a request path, its separators kept."""
    return "".join(chr(b) if b in _SAFE or b in b"/:@" else f"%{b:02X}" for b in path.encode("utf-8", "strict"))


def urlencode(query: dict[str, str]) -> str:
    """``urllib.parse.urlencode(query)`` for a dict of strings."""
    return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in query.items())


# -- one request over the socket --------------------------------------------------------------


def request_timeout() -> float:
    """Seconds to wait for the engine's answer (``DS01_DOCKER_TIMEOUT``, as the SDK's client)."""
    return float(os.environ.get("DS01_DOCKER_TIMEOUT", "120"))


def exchange(socket_path: str, message: bytes, action: str, *, timeout: float | None = None) -> bytes:
    """Send one whole HTTP/1.0 request over the unix socket; the whole raw reply (the engine
    closes after it). Failing to reach the engine is ``DockerUnavailable`` (exit 6), a timeout
    ``Timeout``, as through the SDK. ``timeout``: seconds to wait for the engine (default
    ``request_timeout()``; a stop waits longer, as the SDK does, by the stop's own grace time)."""
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.settimeout(request_timeout() if timeout is None else timeout)
    chunks = []
    try:
        sock.connect(socket_path)
        sock.sendall(message)
        while True:
            chunk = sock.recv(MAX_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as exc:
        raise _failure(exc, action) from exc
    finally:
        sock.close()
    return b"".join(chunks)


def get_json(socket_path: str, path: str, query: dict[str, str], *, action: str) -> Any:
    """One read-only Engine API call over the unix socket: the decoded JSON reply.

    Fails with ds01's errors (``docker_client``'s types: unreachable is exit 6, 404
    ``EngineNotFound``, 409 ``Conflict``, a timeout ``Timeout``), the same as an SDK call.
    """
    request = f"GET {path}?{urlencode(query)} HTTP/1.0\r\nHost: docker\r\n\r\n".encode()
    status, body = parse_response(exchange(socket_path, request, action), action)
    if status != 200:
        raise status_error(status, body, action)
    try:
        return jsonlite.loads(body or b"null")
    except ValueError as exc:
        from ds01.errors import OperationFailed

        raise OperationFailed(f"Could not {action}: the Docker engine sent a reply that is not JSON.") from exc


def status_error(status: int, body: bytes, action: str, *, missing: str | None = None) -> Exception:
    """The typed error of a reply that is not 2xx, worded as ``docker_client.translate`` words
    the SDK's (``missing``: the exit-2 sentence of a 404 for an object the user named)."""
    from ds01.base import docker_client as dc

    try:
        data = jsonlite.loads(body) if body.strip() else None
    except ValueError:
        data = None
    message = data.get("message") if isinstance(data, dict) else None
    text = str(message or body.decode(errors="replace").strip() or f"HTTP {status}").rstrip(".")
    if status == 404 and missing:
        return dc.NamedNotFound(missing)
    if status in (408, 504):
        return dc.Timeout(f"Could not {action}: the Docker engine did not answer in time.")
    kind = {400: dc.BadRequest, 404: dc.EngineNotFound, 409: dc.Conflict}.get(status, dc.OperationFailed)
    return kind(f"Could not {action}: {text}.")


def _failure(exc: OSError, action: str) -> Exception:
    from ds01.base import docker_client as dc

    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError, PermissionError)):
        return dc.unreachable(exc)
    if isinstance(exc, TimeoutError):
        return dc.Timeout(f"Could not {action}: the Docker engine did not answer in time.")
    return dc.OperationFailed(f"Could not {action}: {exc}.")


def parse_response(raw: bytes, action: str) -> tuple[int, bytes]:
    """Pure: (status, body) of one whole HTTP/1.x response (plain, with Content-Length, or chunked)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(None, 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        from ds01.errors import OperationFailed

        raise OperationFailed(f"Could not {action}: the Docker engine sent a reply that is not HTTP.")
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        headers[key.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        out, rest = [], body
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            try:
                size = int(size_line.split(b";")[0], 16)
            except ValueError:
                from ds01.errors import OperationFailed

                raise OperationFailed(f"Could not {action}: the Docker engine's reply was cut short.") from None
            if size == 0:
                break
            out.append(rest[:size])
            rest = rest[size + 2 :]
        body = b"".join(out)
    elif b"content-length" in headers and headers[b"content-length"].isdigit():
        body = body[: int(headers[b"content-length"])]
    return int(parts[1]), body


def list_raw(label_filters: list[str] | None = None, *, all: bool = True, size: bool = False) -> list[dict] | None:
    """The engine's ``/containers/json`` objects matching every ``label`` filter, one request;
    None when the engine is not on a unix socket (``docker_client.list_containers`` then asks
    the SDK). Sizes are computed by Docker only when ``size`` is true (slow on many containers)."""
    socket_path = unix_socket_path()
    if socket_path is None:
        return None
    query = {"all": "1" if all else "0", "size": "1" if size else "0"}
    if label_filters:
        query["filters"] = '{"label": [' + ", ".join(jsonlite.string(f) for f in label_filters) + "]}"
    data = get_json(socket_path, "/containers/json", query, action="list containers")
    return data if isinstance(data, list) else []


def docker_uid(name: str) -> int | None:
    """The uid suffix of a Docker name (``pt._.1000`` -> 1000); None without one (AIME v1)."""
    _base, sep, suffix = name.lstrip("/").rpartition("._.")
    return int(suffix) if sep and suffix.isdigit() else None
