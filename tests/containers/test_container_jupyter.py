"""`container jupyter` on the real engine: a stand-in `jupyter` (busybox httpd on the port it is
given) in an image built FROM the offline base; the printed URL answers on the server's
localhost, as the ssh line forwards it. The token is never on a command line."""

from __future__ import annotations

import io
import json
import re
import tarfile
import urllib.request

import pytest

from ds01.base import engine, execs

STAND_IN = """#!/bin/sh
port=8888
for a in "$@"; do case "$a" in --port=*) port="${a#--port=}";; esac; done
mkdir -p /tmp/nb && echo "lab for $(id -u) token=$JUPYTER_TOKEN" > /tmp/nb/lab
exec httpd -f -p "$port" -h /tmp/nb
"""


@pytest.fixture
def notebook_image(docker_env, base_image, session_tag) -> str:
    tag = f"ds01-test-{session_tag}-jupyter:1"
    dockerfile = f"FROM {base_image}\nCOPY jupyter /usr/local/bin/jupyter\nRUN chmod 755 /usr/local/bin/jupyter\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in (("Dockerfile", dockerfile), ("jupyter", STAND_IN)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    docker_env.images.build(fileobj=buf, custom_context=True, tag=tag, rm=True, forcerm=True)
    return tag


def _bridge_config(cenv, image: str, mode: str = "group") -> None:
    text = cenv.config.read_text()
    text = text.replace("network_mode: none", "network_mode: bridge")
    text = text.replace(
        "allowed_base_images: [ds01-base:busybox]", f"allowed_base_images: [ds01-base:busybox, {image}]\n  mode: {mode}"
    )
    cenv.config.write_text(text)


def _open(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:  # localhost in a test
        return resp.read().decode()


@pytest.mark.parametrize("mode", ["group", "secure"])
def test_printed_url_answers_on_the_servers_localhost(cli, cenv, as_user, notebook_image, mode):
    _bridge_config(cenv, notebook_image, mode)
    as_user("alice")
    name = cenv.name(f"nb-{mode}")
    r = cli("container", "create", name, "--image", notebook_image, "-w", str(cenv.workspace("alice")))
    assert r.exit_code == 0, r
    r = cli("container", "jupyter", name, "--port", "9999")
    assert r.exit_code == 0, r
    ssh = re.search(r"ssh -N -L 9999:127\.0\.0\.1:(\d+) alice@\S+", r.stdout)
    url = re.search(r"http://127\.0\.0\.1:9999/lab\?token=(\S+)", r.stdout)
    assert ssh and url, r
    server_port, token = int(ssh.group(1)), url.group(1)
    # What the ssh line forwards the laptop's 9999 to: the server's localhost port.
    body = _open(f"http://127.0.0.1:{server_port}/lab?token={token}")
    assert f"token={token}" in body and f"lab for {cenv.uid('alice')} " in body  # as the user, not root
    # The token is in no command line (ps shows those to every user).
    info = engine.find_container(name, _owner(cenv))
    assert all(token not in p.command for p in execs.other_programs(info))
    # Asked again: the same notebook is found, not a second one started.
    again = json.loads(cli("container", "jupyter", name, "--json").stdout)
    assert again["started"] is False and again["token"] == token and again["server_port"] == server_port
    assert again["url"] == f"http://127.0.0.1:8888/lab?token={token}"
    # Bound to localhost only.
    attrs = docker_ports(cenv, name)
    assert attrs and all(b["HostIp"] == "127.0.0.1" for b in attrs)


def test_no_jupyter_in_the_image_says_so(cli, cenv, as_user, base_image, notebook_image):
    _bridge_config(cenv, notebook_image)
    as_user("alice")
    name = cenv.name("nb-none")
    assert cli("container", "create", name, "--image", base_image, "-w", str(cenv.workspace("alice"))).exit_code == 0
    r = cli("container", "jupyter", name)
    assert r.exit_code == 1 and "is it installed in the image" in r.stderr, r


def _owner(cenv):
    from ds01.identity import Identity

    uid = cenv.uid("alice")
    return Identity(name="alice", uid=uid, gid=uid, home=cenv.root, via_sudo=True)


def docker_ports(cenv, name: str) -> list[dict]:
    import docker

    c = docker.from_env().containers.get(cenv.docker_name(name.removeprefix(cenv.tag + "-"), "alice"))
    return c.attrs["NetworkSettings"]["Ports"].get("8888/tcp") or []
