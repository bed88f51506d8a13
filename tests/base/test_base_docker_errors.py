"""Docker errors typed once (``docker_client.translate``), by status code and exception class.

Pure unit tests: the SDK's low-level client is replaced by an autospec'd ``docker.APIClient``
whose calls raise exactly what the SDK raises (an ``APIError`` built from an HTTP response,
``requests`` exceptions, a ``DockerException`` raised from a socket error), and every branch is
checked through the functions that use it. No engine is needed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest import mock

import docker
import docker.errors
import pytest
import requests
import requests.exceptions

from ds01 import rollback
from ds01.base import container_spec, engine, engine_api, images
from ds01.base import docker_client as dc
from ds01.errors import DockerUnavailable, Ds01Error, ExitCode, NotFound, OperationFailed, UsageError
from ds01.identity import Identity


def _api_error(status: int, text: str = "engine says no", cls=docker.errors.APIError):
    response = requests.Response()
    response.status_code = status
    return cls(f"{status} Client Error", response=response, explanation=text)


def _socket_down() -> docker.errors.DockerException:
    try:
        try:
            raise requests.exceptions.ConnectionError(FileNotFoundError(2, "No such file or directory"))
        except requests.exceptions.ConnectionError as inner:
            raise docker.errors.DockerException("Error while fetching server API version") from inner
    except docker.errors.DockerException as exc:
        return exc


@pytest.fixture
def api(monkeypatch):
    client = mock.create_autospec(docker.APIClient, instance=True)
    monkeypatch.setattr(dc, "api", lambda: client)
    monkeypatch.setattr(images, "api", lambda: client)  # imported there by name
    return client


CASES = [
    (_api_error(404, "No such container: x", docker.errors.NotFound), dc.EngineNotFound, ExitCode.FAILED),
    (_api_error(404, "No such image: x", docker.errors.ImageNotFound), dc.EngineNotFound, ExitCode.FAILED),
    (_api_error(404, "page not found"), dc.EngineNotFound, ExitCode.FAILED),  # a bare APIError with 404
    (_api_error(409, "removal of container x is already in progress"), dc.Conflict, ExitCode.FAILED),
    (_api_error(400, "invalid reference format"), dc.BadRequest, ExitCode.FAILED),
    (_api_error(500, "driver failed"), OperationFailed, ExitCode.FAILED),
    (_api_error(504, "gateway timeout"), dc.Timeout, ExitCode.FAILED),
    (requests.exceptions.ReadTimeout("read timed out"), dc.Timeout, ExitCode.FAILED),
    (requests.exceptions.ConnectionError("Connection aborted"), dc.EngineDown, ExitCode.DOCKER),
    (_socket_down(), dc.EngineDown, ExitCode.DOCKER),
    (docker.errors.DockerException("bad parameter"), OperationFailed, ExitCode.FAILED),
]


@pytest.mark.parametrize(("raised", "kind", "code"), CASES, ids=lambda v: getattr(v, "__name__", None))
def test_every_sdk_failure_becomes_one_typed_error(api, raised, kind, code):
    api.inspect_container.side_effect = raised
    with pytest.raises(Ds01Error) as caught:
        with dc.engine_errors("inspect container x"):
            dc.api().inspect_container("x")
    err = caught.value
    assert type(err) is kind or (kind is OperationFailed and type(err) is OperationFailed)
    assert err.exit_code == code and err.__cause__ is raised
    assert EngineDownIsDockerUnavailable()


def EngineDownIsDockerUnavailable() -> bool:  # reads as a sentence in the assertion
    return dc.EngineDown is DockerUnavailable


def test_a_named_object_that_is_missing_is_exit_2_and_still_a_not_found(api):
    api.inspect_container.side_effect = _api_error(404, "No such container", docker.errors.NotFound)
    with pytest.raises(NotFound) as caught:
        with dc.engine_errors("inspect container x", missing="Container 'x' has gone."):
            dc.api().inspect_container("x")
    assert caught.value.exit_code == ExitCode.USAGE and caught.value.message == "Container 'x' has gone."
    assert isinstance(caught.value, dc.EngineNotFound)  # callers catch one type for every 404


def _reply(status: int, body: bytes = b"") -> bytes:
    return b"HTTP/1.0 %d X\r\nContent-Type: application/json\r\n\r\n%s" % (status, body)


@pytest.fixture
def engine_replies(monkeypatch):
    """The engine's raw replies to ``engine_api`` requests, in order (an exception is raised as a
    socket failure); the requests sent are kept."""
    replies: list[bytes | BaseException] = []
    sent: list[bytes] = []

    def exchange(socket_path: str, message: bytes, action: str, *, timeout: float | None = None) -> bytes:
        sent.append(message)
        reply = replies.pop(0)
        if isinstance(reply, BaseException):
            try:
                raise reply
            except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
                raise dc.unreachable(exc) from exc
        return reply

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setattr(engine_api, "exchange", exchange)
    return replies, sent


def test_lookups_answer_missing_and_raise_everything_else(engine_replies):
    replies, _sent = engine_replies
    replies += [_reply(404, b'{"message": "No such container: x"}'), _reply(200, b'{"Id": "c1"}')]
    assert engine.container_exists("x") is False
    assert engine.container_exists("x") is True
    replies.append(_reply(500, b'{"message": "boom"}'))
    with pytest.raises(OperationFailed, match="boom"):
        engine.container_exists("x")
    replies += [_reply(404, b'{"message": "No such image"}')] * 3
    assert engine.image_labels("x:1") is None and images.image_exists("x:1") is False
    assert images.inspect_image("x:1") is None
    replies.append(_reply(400, b'{"message": "invalid reference format"}'))
    assert images.image_exists("a._.b") is False
    replies.append(ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(DockerUnavailable):
        images.image_exists("x:1")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (404, dc.EngineNotFound),
        (409, dc.Conflict),
        (400, dc.BadRequest),
        (500, OperationFailed),
        (504, dc.Timeout),
        (408, dc.Timeout),
    ],
)
def test_a_request_without_the_sdk_is_typed_as_the_sdk_is(engine_replies, status, kind):
    replies, sent = engine_replies
    replies.append(_reply(status, b'{"message": "engine says no."}'))
    with pytest.raises(Ds01Error) as caught:
        engine_api.request("POST", "/containers/c1/start", action="start container x")
    assert type(caught.value) is kind and caught.value.exit_code == ExitCode.FAILED
    if kind not in (dc.Timeout,):
        assert caught.value.message == "Could not start container x: engine says no."
    assert sent == [b"POST /containers/c1/start HTTP/1.0\r\nHost: docker\r\n\r\n"]


def test_a_request_for_a_named_object_that_is_missing_is_exit_2(engine_replies):
    replies, _sent = engine_replies
    replies.append(_reply(404, b'{"message": "No such container"}'))
    with pytest.raises(NotFound) as caught:
        engine.inspect_container("c1", "x")
    assert caught.value.exit_code == ExitCode.USAGE and caught.value.message == "Container 'x' has gone."
    assert isinstance(caught.value, dc.EngineNotFound)


def test_a_request_body_is_sent_with_its_length_and_type(engine_replies):
    replies, sent = engine_replies
    replies.append(_reply(201, b'{"Id": "c1", "Warnings": []}'))
    got = engine_api.request_json(
        "POST", "/containers/create", query={"name": "a b._.1"}, payload={"Image": "x"}, action="create container a"
    )
    assert got == {"Id": "c1", "Warnings": []}
    head, _, body = sent[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /containers/create?name=a+b._.1 HTTP/1.0\r\n")
    assert b"Content-Type: application/json" in head
    assert b"Content-Length: %d" % len(body) in head and json.loads(body) == {"Image": "x"}


def test_a_create_the_engine_refuses_for_its_name_is_the_name_taken_sentence(engine_replies, tmp_path):
    replies, _sent = engine_replies
    owner = Identity(name="alice", uid=os.getuid(), gid=os.getgid(), home=Path("/home/alice"))
    spec = container_spec.ContainerSpec(name="x", owner=owner, image="img:1", workspace=tmp_path, custom_image=True)
    replies += [_reply(200, b'{"Id": "sha256:1", "Config": {"Labels": {}}}'), _reply(409, b'{"message": "in use"}')]
    with pytest.raises(UsageError, match="already exists for you"):
        engine.create_container(spec)
    assert replies == []  # nothing was made, so nothing was removed


def _info(running: bool = False) -> container_spec.ContainerInfo:
    state = "running" if running else "exited"
    return container_spec.ContainerInfo("c1", "x._.1000", "x", "alice", 1000, "img", state, state, 0, {})


def _sent(sent: list[bytes]) -> list[str]:
    """The request lines sent (``METHOD /path?query``)."""
    return [m.split(b" HTTP")[0].decode() for m in sent]


GONE = _reply(404, b'{"message": "No such container: c1"}')
RUNNING = _reply(200, b'{"State": {"Status": "running", "Running": true}}')


def test_remove_is_idempotent_by_status_and_asks_the_engine_about_a_conflict(engine_replies):
    replies, sent = engine_replies
    replies.append(GONE)
    assert engine.remove_container(_info()) is False  # already gone
    assert _sent(sent) == ["DELETE /containers/c1?force=0"]
    replies += [_reply(409, b'{"message": "removal of container c1 is already in progress"}')]
    replies += [_reply(200, b'{"State": {"Status": "removing"}}')]
    assert engine.remove_container(_info()) is False  # someone else is removing it
    assert _sent(sent)[-1] == "GET /containers/c1/json"
    replies += [_reply(409, b'{"message": "removal in progress"}'), GONE]
    assert engine.remove_container(_info()) is False  # ... and has removed it
    replies += [_reply(409, b'{"message": "cannot remove a running container"}'), RUNNING]
    with pytest.raises(dc.Conflict) as caught:  # a real refusal is not taken for "already done"
        engine.remove_container(_info())
    assert caught.value.message == "Could not remove container x: cannot remove a running container."
    replies.append(_reply(204))
    assert engine.remove_container(_info(running=True), force=True) is True
    assert _sent(sent)[-1] == "DELETE /containers/c1?force=1"
    assert replies == []


def test_stop_and_kill_of_a_container_that_stopped_meanwhile(engine_replies):
    replies, sent = engine_replies
    replies += [_reply(409, b'{"message": "container c1 is not running"}')]
    replies += [_reply(200, b'{"State": {"Status": "exited", "Running": false}}')]
    assert engine.stop_container(_info(running=True), force=True) is False
    assert _sent(sent) == ["POST /containers/c1/kill", "GET /containers/c1/json"]
    replies += [_reply(409, b'{"message": "container c1 is paused"}'), RUNNING]
    with pytest.raises(dc.Conflict, match="Could not kill container x: container c1 is paused"):
        engine.stop_container(_info(running=True), force=True)
    replies.append(GONE)
    assert engine.stop_container(_info(running=True)) is False
    assert _sent(sent)[-1] == "POST /containers/c1/stop?t=10"
    # 304: the engine found it stopped already; a success, as the SDK took it
    replies += [_reply(304), _reply(204)]
    assert engine.stop_container(_info(running=True), timeout=0) is True
    assert engine.stop_container(_info(running=True), timeout=3) is True
    assert _sent(sent)[-2:] == ["POST /containers/c1/stop?t=0", "POST /containers/c1/stop?t=3"]
    assert engine.stop_container(_info(running=False)) is False  # not asked at all
    assert replies == []


def test_a_stop_waits_for_the_engine_beyond_its_grace_time(engine_replies, monkeypatch):
    replies, _sent = engine_replies
    waits: list[float | None] = []
    fake = engine_api.exchange

    def exchange(socket_path: str, message: bytes, action: str, *, timeout: float | None = None) -> bytes:
        waits.append(timeout)
        return fake(socket_path, message, action, timeout=timeout)

    monkeypatch.setattr(engine_api, "exchange", exchange)
    monkeypatch.setenv("DS01_DOCKER_TIMEOUT", "30")
    replies += [_reply(204), _reply(204)]
    engine.stop_container(_info(running=True), timeout=600)
    engine.stop_container(_info(running=True), force=True)
    assert waits == [630.0, None]  # the kill waits as long as any request


def test_forced_removals_of_many_containers(engine_replies):
    replies, sent = engine_replies
    replies += [_reply(204), GONE, _reply(409, b'{"message": "removal already in progress"}')]
    replies.append(_reply(200, b'{"State": {"Status": "removing"}}'))
    assert images.remove_containers(["a", "b", "c"]) == ["a", "b", "c"]
    assert _sent(sent) == [
        "DELETE /containers/a?force=1&v=0",
        "DELETE /containers/b?force=1&v=0",
        "DELETE /containers/c?force=1&v=0",
        "GET /containers/c/json",
    ]
    replies.append(_reply(500, b'{"message": "device busy"}'))
    with pytest.raises(OperationFailed, match="Could not remove container d: device busy"):
        images.remove_containers(["d"])


def test_image_removals_are_typed_and_forget_what_went(engine_replies, monkeypatch):
    from ds01.base import image_etc

    replies, sent = engine_replies
    forgotten: list[str] = []
    monkeypatch.setattr(image_etc, "forget", forgotten.append)
    deleted = b'[{"Untagged": "a:1"}, {"Deleted": "sha256:aa"}, {"Deleted": "sha256:bb"}]'
    replies += [_reply(200, deleted), _reply(409, b'{"message": "image is being used"}'), GONE]
    assert engine.remove_image_unless_used("a:1") is True
    assert engine.remove_image_unless_used("b:1") is False  # a container uses it: kept
    assert engine.remove_image_unless_used("c:1") is False  # already gone
    assert _sent(sent) == [
        "DELETE /images/a:1?force=0&noprune=0",
        "DELETE /images/b:1?force=0&noprune=0",
        "DELETE /images/c:1?force=0&noprune=0",
    ]
    assert forgotten == ["sha256:aa", "sha256:bb"]
    replies += [_reply(200, b'[{"Deleted": "sha256:cc"}]'), GONE, _reply(200, b"[]"), GONE]
    images.remove_image("sha256:cc")
    images.remove_image("sha256:dd")  # gone already: what was kept for it goes all the same
    images.remove_tag("x:building", prune=False)
    images.remove_tag("x:never-made")  # quiet
    assert _sent(sent)[3:] == [
        "DELETE /images/sha256:cc?force=1&noprune=0",
        "DELETE /images/sha256:dd?force=1&noprune=0",
        "DELETE /images/x:building?force=0&noprune=1",
        "DELETE /images/x:never-made?force=0&noprune=0",
    ]
    assert forgotten[2:] == ["sha256:cc", "sha256:dd"]
    replies.append(_reply(409, b'{"message": "conflict: unable to delete aa (must be forced)"}'))
    with pytest.raises(dc.Conflict, match="Could not remove image sha256:ee: conflict: unable to delete aa"):
        images.remove_image("sha256:ee")
    assert replies == []


def test_image_listings_ask_by_label(engine_replies):
    replies, sent = engine_replies
    listed = b'[{"Id": "sha256:aa", "RepoTags": ["<none>:<none>", "p:1"], "Size": 5, "Created": 7, "Labels": null}]'
    replies += [_reply(200, listed), _reply(500, b'{"message": "boom"}')]
    got = images.list_images(["ds01.user=alice"])
    assert got == [images.ImageSummary("sha256:aa", ("p:1",), 5, 7, {})]
    assert _sent(sent) == ["GET /images/json?filters=%7B%22label%22%3A+%5B%22ds01.user%3Dalice%22%5D%7D"]
    with pytest.raises(OperationFailed, match="Could not list images: boom"):
        images.list_images([])


def test_listing_over_the_socket_is_typed_the_same(monkeypatch, tmp_path):
    import socket
    import threading

    path = str(tmp_path / "docker.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)

    def answer() -> None:
        for status in (404, 409, 500):
            conn, _ = server.accept()
            conn.recv(65536)
            body = b'{"message": "engine says no"}'
            conn.sendall(
                b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (status, len(body), body)
            )
            conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    try:
        for kind in (dc.EngineNotFound, dc.Conflict, OperationFailed):
            with pytest.raises(kind, match="engine says no") as caught:
                dc.list_containers(None)
            assert type(caught.value) is kind
    finally:
        thread.join(timeout=10)
        server.close()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'nothing.sock'}")
    with pytest.raises(DockerUnavailable):
        dc.list_containers(None)


# -- rollback: every undo step runs, the first error stays --------------------------------------


def test_rollback_runs_every_step_keeps_the_first_error_and_lists_what_was_not_undone():
    done = []

    def fails() -> None:
        done.append("remove")
        raise OperationFailed("Could not remove container x: device busy.")

    with pytest.raises(OperationFailed) as caught:
        with rollback.Rollback() as undo:
            undo.add("release the GPU slots of x", lambda: done.append("release"))
            undo.add("remove container x", fails)
            raise OperationFailed("Could not start container x: no such device.")
    assert caught.value.message == "Could not start container x: no such device."  # the first error
    assert done == ["remove", "release"]  # last added first, and the failure stopped nothing
    assert caught.value.details == ["Not undone: remove container x (Could not remove container x: device busy)."]


def test_rollback_on_success_runs_nothing_and_notes_on_foreign_errors():
    done = []
    with rollback.Rollback() as undo:
        undo.add("x", lambda: done.append("x"))
    assert done == []
    with pytest.raises(KeyError) as caught:
        with rollback.Rollback() as undo:
            undo.add("remove container x", lambda: 1 / 0)
            raise KeyError("k")
    assert caught.value.__notes__ == ["Not undone: remove container x (division by zero)."]


def test_a_failed_create_removes_its_container_and_says_what_it_could_not(engine_replies):
    replies, sent = engine_replies
    replies.append(_reply(500, b'{"message": "device or resource busy"}'))
    replies.append(_reply(404, b'{"message": "No such image: pulled:1"}'))
    error = OperationFailed("Could not start container x: boom.")
    engine._discard(error, "c0ffee", "pulled:1")
    assert _sent(sent) == [
        "DELETE /containers/c0ffee?force=1&v=1",
        "DELETE /images/pulled:1?force=0&noprune=0",  # ran although the first undo failed
    ]
    assert error.details == [
        "Not undone: remove the half-made container c0ffee (Could not remove container "
        "c0ffee: device or resource busy)."
    ]  # the image was already gone: not listed
