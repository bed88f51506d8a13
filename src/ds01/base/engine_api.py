"""Any Engine API call without the Docker SDK: create, start, inspect, the archive API.

The commands that make and start containers (``mlc create``/``start``, ``container
create``/``start``) are run as separate processes, and importing the SDK alone (requests,
urllib3, ssl, email) costs them more than the engine's own work for a create. So they speak
HTTP/1.0 over the engine's unix socket by hand, one request per connection (the engine answers
with the whole body and closes), as the listings do. Errors are typed exactly as
``docker_client.translate`` types the SDK's, by HTTP status; a ``DOCKER_HOST`` that is not a
unix socket (TCP, TLS) is asked through the SDK's own HTTP session instead.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote, urlencode

from ds01.base import docker_client as dc
from ds01.errors import Ds01Error, OperationFailed

_BY_STATUS: dict[int, type[OperationFailed]] = {400: dc.BadRequest, 404: dc.EngineNotFound, 409: dc.Conflict}


def request(
    method: str,
    path: str,
    *,
    action: str,
    query: dict[str, str] | None = None,
    body: bytes | None = None,
    content_type: str = "application/json",
    missing: str | None = None,
) -> bytes:
    """One Engine API call (``path`` unversioned, e.g. ``/containers/create``): the reply's body
    when the engine answered 2xx or 304, else the typed error (``missing``: the exit-2 sentence of a
    404, as in ``docker_client.engine_errors``)."""
    target = quote(path, safe="/:@") + (f"?{urlencode(query)}" if query else "")
    host = dc.docker_host()
    socket_path = host.removeprefix("unix://") if host.startswith("unix://") else None
    if socket_path is None:
        return _sdk_request(method, target, action=action, body=body, content_type=content_type, missing=missing)
    head = f"{method} {target} HTTP/1.0\r\nHost: docker\r\n"
    if body is not None:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    raw = exchange(socket_path, head.encode() + b"\r\n" + (body or b""), action)
    status, data = parse_reply(raw, action)
    if status < 400:  # as the SDK: 304 is "already so" (a start of a running container)
        return data
    raise status_error(status, data, action, missing=missing)


def request_json(
    method: str,
    path: str,
    *,
    action: str,
    query: dict[str, str] | None = None,
    payload: Any = None,
    missing: str | None = None,
) -> Any:
    """``request`` with a JSON body (``payload``) and a JSON reply (None when it is empty)."""
    body = None if payload is None else json.dumps(payload).encode()
    data = request(method, path, action=action, query=query, body=body, missing=missing)
    try:
        return json.loads(data) if data.strip() else None
    except ValueError as exc:
        raise OperationFailed(f"Could not {action}: the Docker engine sent a reply that is not JSON.") from exc


def exchange(socket_path: str, message: bytes, action: str) -> bytes:
    """Send one whole HTTP/1.0 request over the unix socket; the whole raw reply. Failing to
    reach the engine is ``EngineDown`` (exit 5), as it is through the SDK."""
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(float(os.environ.get("DS01_DOCKER_TIMEOUT", "120")))
    chunks = []
    try:
        sock.connect(socket_path)
        sock.sendall(message)
        while True:
            chunk = sock.recv(262144)
            if not chunk:
                break
            chunks.append(chunk)
    except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
        raise dc._unreachable(exc) from exc
    except TimeoutError as exc:
        raise dc.Timeout(f"Could not {action}: the Docker engine did not answer in time.") from exc
    except OSError as exc:
        raise OperationFailed(f"Could not {action}: {exc}.") from exc
    finally:
        sock.close()
    return b"".join(chunks)


def parse_reply(raw: bytes, action: str) -> tuple[int, bytes]:
    """Pure: (status, body) of one whole HTTP/1.0 reply (the body runs to the close, or to its
    Content-Length; an HTTP/1.0 reply is never chunked)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(None, 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise OperationFailed(f"Could not {action}: the Docker engine sent a reply that is not HTTP.")
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length" and value.strip().isdigit():
            body = body[: int(value.strip())]
    return int(parts[1]), body


def status_error(status: int, body: bytes, action: str, *, missing: str | None = None) -> Ds01Error:
    """The typed error of a reply that is not 2xx, worded as ``translate`` words the SDK's."""
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        data = None
    message = data.get("message") if isinstance(data, dict) else None
    text = str(message or body.decode(errors="replace").strip() or f"HTTP {status}").rstrip(".")
    if status == 404 and missing:
        return dc._NamedNotFound(missing)
    if status in (408, 504):
        return dc.Timeout(f"Could not {action}: the Docker engine did not answer in time.")
    return _BY_STATUS.get(status, OperationFailed)(f"Could not {action}: {text}.")


def _sdk_request(
    method: str, target: str, *, action: str, body: bytes | None, content_type: str, missing: str | None
) -> bytes:
    """``request`` through the SDK's HTTP session (a TCP or TLS ``DOCKER_HOST``)."""
    client = dc.api()
    headers = {"Content-Type": content_type} if body is not None else {}
    with dc.engine_errors(action, missing=missing):
        response = client.request(method, f"{client.base_url}{target}", data=body, headers=headers)
    if response.status_code < 400:
        return bytes(response.content)
    raise status_error(response.status_code, bytes(response.content), action, missing=missing)
