"""Any Engine API call without the Docker SDK: create, start, stop, kill, remove, inspect, the
archive API, image listings, inspects and deletes.

The commands that make, start, stop and remove containers (``mlc create``/``start``/``stop``/
``remove``, ``container create``/``start``/``stop``/``cleanup``/``retire``) and list or delete
images are run as separate processes, and importing the SDK alone (requests, urllib3, ssl,
email) costs them more than the engine's own work for a create or a stop. So they speak
HTTP/1.0 over the engine's unix socket by hand, one request per connection (the engine answers
with the whole body and closes), through the listings' ``sparse.exchange``. Errors are typed exactly as
``docker_client.translate`` types the SDK's, by HTTP status; a ``DOCKER_HOST`` that is not a
unix socket (TCP, TLS) is asked through the SDK's own HTTP session instead.
"""

from __future__ import annotations

from ds01 import jsonlite
from ds01.base import docker_client as dc
from ds01.base.sparse import exchange, parse_response, quote_path, status_error, urlencode
from ds01.errors import OperationFailed

TYPE_CHECKING = False  # a start imports neither typing nor json nor urllib (pathlib's import of it aside)
if TYPE_CHECKING:
    from typing import Any


def request(
    method: str,
    path: str,
    *,
    action: str,
    query: dict[str, str] | None = None,
    body: bytes | None = None,
    content_type: str = "application/json",
    missing: str | None = None,
    timeout: float | None = None,
) -> bytes:
    """One Engine API call (``path`` unversioned, e.g. ``/containers/create``): the reply's body
    when the engine answered 2xx or 304, else the typed error (``missing``: the exit-2 sentence of a
    404, as in ``docker_client.engine_errors``; ``timeout``: seconds to wait for the answer,
    default ``DS01_DOCKER_TIMEOUT``)."""
    target = quote_path(path) + (f"?{urlencode(query)}" if query else "")
    host = dc.docker_host()
    socket_path = host.removeprefix("unix://") if host.startswith("unix://") else None
    if socket_path is None:
        return _sdk_request(
            method, target, action=action, body=body, content_type=content_type, missing=missing, timeout=timeout
        )
    head = f"{method} {target} HTTP/1.0\r\nHost: docker\r\n"
    if body is not None:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    raw = exchange(socket_path, head.encode() + b"\r\n" + (body or b""), action, timeout=timeout)
    status, data = parse_response(raw, action)
    return _body(status, data, action, missing)


def _body(status: int, data: bytes, action: str, missing: str | None) -> bytes:
    """The reply's body when it is a success, else its typed error."""
    if status < 300 or status == 304:  # as the SDK: 304 is "already so" (a start of a running container)
        return data
    if status < 400:
        # The engine redirects a path it reads differently (an image named
        # "x/../../containers/json"): no object has that name, and the redirect is not followed.
        status, data = 404, b""
    raise status_error(status, data, action, missing=missing)


def request_json(
    method: str,
    path: str,
    *,
    action: str,
    query: dict[str, str] | None = None,
    payload: Any = None,
    missing: str | None = None,
    timeout: float | None = None,
) -> Any:
    """``request`` with a JSON body (``payload``) and a JSON reply (None when it is empty)."""
    if payload is None:
        body = None
    else:
        import json

        body = json.dumps(payload).encode()
    data = request(method, path, action=action, query=query, body=body, missing=missing, timeout=timeout)
    try:
        return jsonlite.loads(data) if data.strip() else None
    except ValueError as exc:
        raise OperationFailed(f"Could not {action}: the Docker engine sent a reply that is not JSON.") from exc


def _sdk_request(
    method: str,
    target: str,
    *,
    action: str,
    body: bytes | None,
    content_type: str,
    missing: str | None,
    timeout: float | None,
) -> bytes:
    """``request`` through the SDK's HTTP session (a TCP or TLS ``DOCKER_HOST``)."""
    client = dc.api()
    headers = {"Content-Type": content_type} if body is not None else {}
    with dc.engine_errors(action, missing=missing):
        response = client.request(
            method,
            f"{client.base_url}{target}",
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=client.timeout if timeout is None else timeout,
        )
    return _body(response.status_code, bytes(response.content), action, missing)
