"""What `container create` and `container start` ask the engine, once the image is known: each
thing once (the caller's containers, the image, the create, the container, the user setup's one
write, the start), and the GPU service is not loaded for a CPU-only container."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ds01.base import docker_client, engine_api, sparse


def record(monkeypatch) -> list[str]:
    """Every engine request made in-process from now on: ``METHOD /path`` (listings by their
    label filter); a request through the Docker SDK would be recorded as ``SDK``."""
    log: list[str] = []
    real_request, real_list = engine_api.request, sparse.list_raw

    def request(method: str, path: str, **kw):
        log.append(f"{method} {path}")
        return real_request(method, path, **kw)

    def list_raw(label_filters=None, **kw):
        log.append(f"LIST {','.join(label_filters or [])}")
        return real_list(label_filters, **kw)

    def sdk():
        log.append("SDK")
        return real_api()

    real_api = docker_client.api
    monkeypatch.setattr(engine_api, "request", request)
    monkeypatch.setattr(sparse, "list_raw", list_raw)
    monkeypatch.setattr(docker_client, "api", sdk)
    return log


def test_a_warm_create_and_start_ask_the_engine_each_thing_once(
    cli, cenv, as_user, base_image, docker_env, monkeypatch
):
    as_user("alice")
    ws = str(cenv.workspace("alice"))
    warm = cli("container", "create", cenv.name("rq-warm"), "--image", base_image, "-w", ws, "--gpus", "0", "--script")
    assert warm.exit_code == 0, warm  # the image's passwd and group are now kept (image_etc)
    log = record(monkeypatch)
    name = cenv.name("rq")
    made = cli("container", "create", name, "--image", base_image, "-w", ws, "--gpus", "0", "--json")
    assert made.exit_code == 0, made
    cid = docker_env.api.inspect_container(json.loads(made.stdout)["docker_name"])["Id"]
    assert log == [
        "LIST aime.mlc=alice",  # the caller's containers: the name is free, the container limit
        f"GET /images/{base_image}/json",  # present, allowed, its labels for the create
        "POST /containers/create",
        f"GET /containers/{cid}/json",  # the image it was made from; the definition is made from it
        f"PUT /containers/{cid}/archive",  # the user setup, one write
    ]
    log.clear()
    started = cli("container", "start", name, "--script")
    assert started.exit_code == 0, started
    assert log == ["LIST aime.mlc=alice", f"GET /containers/{cid}/json", f"POST /containers/{cid}/start"]


def test_the_dry_run_looks_each_thing_up_once(cli, cenv, as_user, base_image, monkeypatch):
    as_user("alice")
    ws = str(cenv.workspace("alice"))
    log = record(monkeypatch)
    plan = cli("container", "create", cenv.name("rq-dry"), "--image", base_image, "-w", ws, "--dry-run", "--json")
    assert plan.exit_code == 0, plan
    assert log == ["LIST aime.mlc=alice", f"GET /images/{base_image}/json"]


@pytest.mark.docker
def test_a_cpu_only_create_does_not_load_the_gpu_service(cenv, base_image, tmp_path):
    ws = cenv.workspace("alice")
    name = cenv.name("rq-cpu")
    program = (
        "import sys\n"
        "from ds01.cli import run\n"
        f"code = run(['container', 'create', {name!r}, '--image', {base_image!r}, '-w', {str(ws)!r},"
        " '--gpus', '0', '--script'])\n"
        "print(code, 'ds01.gpu.service' in sys.modules)\n"
    )
    env = dict(os.environ, **cenv.caller("alice"))
    out = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split()[-2:] == ["0", "False"], out
