"""``mlc open``: an interactive shell inside a container, through the Docker SDK with a pty.

The shell is an exec session (``exec_create(tty=True, stdin=True)``) run as the owner in
``/workspace`` with the owner's login shell from the container's passwd. The local terminal
is put in raw mode and bytes are pumped both ways until the shell ends. Like AIME, when the
last shell leaves, the container is stopped (``policies.last_shell_stops_container``) -- but
only when nothing else runs in it: a job left running (``nohup train.py &``) is shown to
``on_others``, which decides; without one the container keeps running.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from ds01.base import cgroups, container_spec, engine, execs
from ds01.base import docker_client as dc
from ds01.identity import Identity


def _raw_socket(sock: Any) -> socket.socket:
    # docker-py hands back a SocketIO (unix socket) or a socket; we need the real socket.
    return getattr(sock, "_sock", sock)


def _terminal_size(fd: int) -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


def open_shell(
    info: container_spec.ContainerInfo,
    owner: Identity,
    *,
    stdin_fd: int | None = None,
    stdout_fd: int | None = None,
    last_shell_stops: bool = True,
    on_others: Callable[[list[execs.Program]], bool] | None = None,
) -> tuple[int, bool]:
    """Start the container if needed, run an interactive login shell in it as ``owner``.

    Returns ``(exit code of the shell, whether the container was stopped afterwards)``. When
    the last shell left but other programs still run, ``on_others(programs)`` says whether to
    stop it anyway (None: keep it running).
    """
    in_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    out_fd = sys.stdout.fileno() if stdout_fd is None else stdout_fd
    if not info.running:
        engine.start_container(info, owner)
    shell = execs.user_shell(info, owner)
    api = dc.api()
    # Without a terminal (``echo cmd | ds01 mlc open x``) the shell gets no pty: it reads the
    # piped commands, and its output arrives multiplexed (stdout/stderr frames).
    interactive = os.isatty(in_fd)
    env = {"HOME": str(owner.home), "USER": owner.name, "TERM": os.environ.get("TERM", "xterm")}
    with dc.engine_errors(f"open a shell in {info.name}"):
        exec_id = api.exec_create(
            info.id,
            [shell, "-l"],
            user=execs.exec_user(info, owner),
            workdir=container_spec.WORKSPACE,
            tty=interactive,
            stdin=True,
            environment=env,
        )["Id"]
        sock = api.exec_start(exec_id, tty=interactive, socket=True)
    raw = _raw_socket(sock)
    saved = None
    if interactive:
        import termios
        import tty

        saved = termios.tcgetattr(in_fd)
        tty.setraw(in_fd)

    def resize(*_: Any) -> None:
        size = _terminal_size(in_fd) if interactive else None
        if size:
            try:
                api.exec_resize(exec_id, height=size[0], width=size[1])
            except Exception:  # noqa: BLE001 - a lost resize only misdraws, never fails the shell
                pass

    previous = signal.signal(signal.SIGWINCH, resize) if interactive else None
    # A dropped ssh connection hangs up on us: end the shell inside too and still do the
    # last-shell check, so a container nobody is in does not keep running with its GPU.
    previous_hup = signal.signal(signal.SIGHUP, _hang_up)
    resize()
    hung_up = False
    try:
        _pump(raw, in_fd, out_fd, _Demux(out_fd, sys.stderr.fileno()) if not interactive else None)
    except _HangUp:
        hung_up = True
    finally:
        if saved is not None and not hung_up:
            import termios

            termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
        if previous is not None:
            signal.signal(signal.SIGWINCH, previous)
        signal.signal(signal.SIGHUP, previous_hup)
        try:
            raw.close()
        except OSError:
            pass
    if hung_up:
        _end_exec(api, exec_id)
    with dc.engine_errors("read the shell's exit status"):
        code = api.exec_inspect(exec_id).get("ExitCode")
    stopped = False
    if last_shell_stops and cgroups.open_shells(info.id) == 0:
        others = execs.other_programs(info)
        if not others or (on_others is not None and on_others(others)):
            stopped = engine.stop_container(engine.refresh(info))
    return (int(code) if code is not None else 0), stopped


class _HangUp(Exception):
    """The controlling terminal went away (SIGHUP)."""


def _hang_up(*_: Any) -> None:
    raise _HangUp


def _end_exec(api: Any, exec_id: str, *, timeout: float = 10.0) -> None:
    """Hang up the shell inside (its host PID; it runs as the caller) and wait for it to end."""
    import time

    try:
        pid = int(api.exec_inspect(exec_id).get("Pid") or 0)
        if pid > 0:
            os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        pass
    except Exception:  # noqa: BLE001 - the engine may be gone too; the check below decides
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not api.exec_inspect(exec_id).get("Running"):
                return
        except Exception:  # noqa: BLE001
            return
        time.sleep(0.2)


class _Demux:
    """Split Docker's multiplexed exec stream (8-byte headers: stream, 0, 0, 0, size) by stream."""

    def __init__(self, out_fd: int, err_fd: int):
        self.fds = {1: out_fd, 2: err_fd}
        self.buffer = b""

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 8:
            size = int.from_bytes(self.buffer[4:8], "big")
            if len(self.buffer) < 8 + size:
                return
            stream, payload = self.buffer[0], self.buffer[8 : 8 + size]
            self.buffer = self.buffer[8 + size :]
            os.write(self.fds.get(stream, self.fds[1]), payload)


def _pump(raw: socket.socket, in_fd: int, out_fd: int, demux: _Demux | None = None) -> None:
    """Copy stdin -> socket and socket -> stdout until the shell closes the socket."""
    watch: list[Any] = [raw, in_fd]
    while True:
        readable, _, _ = select.select(watch, [], [])
        if raw in readable:
            try:
                data = raw.recv(65536)
            except (ConnectionResetError, OSError):
                data = b""
            if not data:
                return
            if demux is not None:
                demux.feed(data)
            else:
                os.write(out_fd, data)
        if in_fd in readable:
            data = os.read(in_fd, 65536)
            if not data:
                # Our stdin ended (a pipe): tell the shell, keep reading its output.
                watch = [raw]
                try:
                    raw.shutdown(socket.SHUT_WR)
                except OSError:
                    return
            else:
                raw.sendall(data)
