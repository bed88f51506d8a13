"""`container create` / `deploy` on a real terminal: what would be refused later is refused
before the image picker appears (the container limit, the GPU quota, a mount given as a flag),
with the way forward, and nothing is made."""

from __future__ import annotations

import os

import pexpect
import pytest

from support.cli import ds01_executable

PICKER = "Image for the container"


def _spawn(*args: str) -> pexpect.spawn:
    env = dict(os.environ, TERM="xterm", NO_COLOR="1", COLUMNS="120", LINES="40")
    return pexpect.spawn(
        ds01_executable(), ["container", *args], env=env, encoding="utf-8", timeout=60, dimensions=(40, 120)
    )


def _refused(child: pexpect.spawn) -> str:
    index = child.expect([PICKER, pexpect.EOF])
    child.close()
    assert index == 1, f"the picker appeared first: {child.before}"
    return child.before


def _ours(docker_env, cenv) -> list[str]:
    return sorted(c.name for c in docker_env.containers.list(all=True) if c.name.startswith(cenv.tag + "-pf"))


@pytest.mark.parametrize("verb", ["create", "deploy"])
def test_at_the_container_limit_refused_before_the_picker(cli, cenv, as_user, base_image, docker_env, verb):
    cenv.config.write_text(cenv.config.read_text().replace("max_containers_per_user: 3", "max_containers_per_user: 1"))
    as_user("alice")
    ws = str(cenv.workspace("alice"))
    assert (
        cli("container", "create", cenv.name("pf-one"), "--image", base_image, "--gpus", "0", "-w", ws).exit_code == 0
    )
    child = _spawn(verb, cenv.name("pf-two"), "-w", ws)  # no NAME-image: the picker would come next
    out = _refused(child)
    assert child.exitstatus == 3, out
    assert "limit is 1" in out and "nothing was asked or made" in out and "ds01 container cleanup NAME" in out
    assert _ours(docker_env, cenv) == [cenv.docker_name("pf-one", "alice")]


def test_over_the_gpu_quota_refused_before_the_picker(cenv, as_user, docker_env):
    cenv.config.write_text(cenv.config.read_text().replace("max_mig_instances: 2", "max_mig_instances: 0"))
    as_user("alice")
    out = _refused(child := _spawn("create", cenv.name("pf-gpu"), "-w", str(cenv.workspace("alice"))))
    assert child.exitstatus == 3, out
    assert "--gpus 0" in out and "Nothing was asked or made" in out
    assert _ours(docker_env, cenv) == [] and cenv.active_rows() == []


def test_a_missing_mount_refused_before_the_picker(cenv, as_user, docker_env):
    as_user("alice")
    child = _spawn(
        "create",
        cenv.name("pf-mnt"),
        "--gpus",
        "0",
        "-w",
        str(cenv.workspace("alice")),
        "-d",
        str(cenv.root / "no-such-folder"),
    )
    out = _refused(child)
    assert child.exitstatus == 2, out
    assert "no-such-folder" in out and _ours(docker_env, cenv) == []
