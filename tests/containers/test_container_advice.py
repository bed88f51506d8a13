"""Every piece of advice in a container error is a command that works for that user in that
state: state -> message -> the advised command succeeds (real engine)."""

from __future__ import annotations

import json

import pytest


def _advised(text: str) -> list[str]:
    """The first `ds01 ...` command quoted in a message, as argv (without ``ds01``)."""
    start = text.index("`ds01 ") + len("`ds01 ")
    return text[start : text.index("`", start)].split()


@pytest.mark.docker
def test_advice_table(cli, cenv, as_user, docker_env, base_image):
    as_user("alice")
    name = cenv.name("adv")
    ws = str(cenv.workspace("alice"))
    docker_env.images.get(base_image).tag(f"{name}-image", "latest")
    try:
        # State: nothing was ever made. `run NAME` -> make it with create NAME, which works.
        r = cli("container", "run", name)
        assert r.exit_code != 0 and f"`ds01 container create {name}`" in r.stderr, r
        assert "list --all" not in r.stderr  # would print "No containers": a dead end
        assert _advised(r.stderr) == ["container", "create", name]
        made = cli(*_advised(r.stderr), "-w", ws, "--gpus", "0")
        assert made.exit_code == 0, made

        # State: a typo of an existing container -> its name, and the list that shows it.
        r = cli("container", "start", name + "x")
        assert r.exit_code != 0 and f"did you mean {name!r}" in r.stderr, r
        listed = cli(*_advised(r.stderr), "--json")
        assert listed.exit_code == 0 and name in [e["name"] for e in json.loads(listed.stdout)]

        # State: cleaned up, the image is still there -> create NAME again, which works.
        assert cli("container", "cleanup", name).exit_code == 0
        r = cli("container", "run", name)
        assert r.exit_code != 0 and f"`ds01 container create {name}`" in r.stderr, r
        again = cli(*_advised(r.stderr), "-w", ws, "--gpus", "0")
        assert again.exit_code == 0, again
        assert cli("container", "rm", name).exit_code == 0  # Docker's spelling of cleanup

        # State: an invalid name -> no advice to create what cannot be created.
        r = cli("container", "run", "bad/name")
        assert r.exit_code != 0 and "container create" not in r.stderr
    finally:
        docker_env.images.remove(f"{name}-image:latest")
