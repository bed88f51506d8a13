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

    def exchange(socket_path: str, message: bytes, action: str) -> bytes:
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


def test_remove_is_idempotent_by_status_and_asks_the_engine_about_a_conflict(api):
    api.remove_container.side_effect = _api_error(404, "No such container", docker.errors.NotFound)
    assert engine.remove_container(_info()) is False  # already gone
    api.remove_container.side_effect = _api_error(409, "removal of container c1 is already in progress")
    api.inspect_container.return_value = {"State": {"Status": "removing"}}
    assert engine.remove_container(_info()) is False  # someone else is removing it
    api.inspect_container.side_effect = _api_error(404, "No such container", docker.errors.NotFound)
    assert engine.remove_container(_info()) is False  # ... and has removed it
    api.inspect_container.side_effect = None
    api.inspect_container.return_value = {"State": {"Status": "running", "Running": True}}
    api.remove_container.side_effect = _api_error(409, "cannot remove a running container")
    with pytest.raises(dc.Conflict):  # a real refusal is not taken for "already done"
        engine.remove_container(_info())
    api.remove_container.side_effect = None
    assert engine.remove_container(_info()) is True


def test_stop_and_kill_of_a_container_that_stopped_meanwhile(api):
    api.kill.side_effect = _api_error(409, "container c1 is not running")
    api.inspect_container.return_value = {"State": {"Status": "exited", "Running": False}}
    assert engine.stop_container(_info(running=True), force=True) is False
    api.inspect_container.return_value = {"State": {"Status": "running", "Running": True}}
    with pytest.raises(dc.Conflict):
        engine.stop_container(_info(running=True), force=True)
    api.stop.side_effect = _api_error(404, "No such container", docker.errors.NotFound)
    assert engine.stop_container(_info(running=True)) is False


def test_forced_removals_of_many_containers(api):
    api.remove_container.side_effect = [
        None,
        _api_error(404, "gone", docker.errors.NotFound),
        _api_error(409, "removal already in progress"),
    ]
    api.inspect_container.return_value = {"State": {"Status": "removing"}}
    assert images.remove_containers(["a", "b", "c"]) == ["a", "b", "c"]
    api.remove_container.side_effect = _api_error(500, "device busy")
    with pytest.raises(OperationFailed, match="device busy"):
        images.remove_containers(["d"])


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


def test_a_failed_create_removes_its_container_and_says_what_it_could_not(api, engine_replies):
    replies, sent = engine_replies
    replies.append(_reply(500, b'{"message": "device or resource busy"}'))
    api.remove_image.side_effect = _api_error(404, "No such image", docker.errors.ImageNotFound)
    error = OperationFailed("Could not start container x: boom.")
    engine._discard(error, "c0ffee", "pulled:1")
    assert [m.split(b" HTTP")[0] for m in sent] == [b"DELETE /containers/c0ffee?force=1&v=1"]
    api.remove_image.assert_called_once_with("pulled:1")  # ran although the first undo failed
    assert error.details == [
        "Not undone: remove the half-made container c0ffee (Could not remove container "
        "c0ffee: device or resource busy)."
    ]  # the image was already gone: not listed
