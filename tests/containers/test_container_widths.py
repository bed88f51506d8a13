"""The real tables at 80 and 200 columns (real engine): no line wider than the terminal, no
name of up to 24 characters cut, user-facing names only, relative times (ISO 8601 in JSON)."""

from __future__ import annotations

import json

import pytest


def _check(result, width: int, names: list[str]) -> None:
    assert result.exit_code == 0, result
    for line in result.stdout.splitlines():
        assert len(line) <= width, f"{len(line)} > {width}: {line!r}"
    for n in names:
        assert n in result.stdout, (n, result.stdout)
    assert "._." not in result.stdout  # user-facing names only
    assert (
        "…" not in "".join(line for line in result.stdout.splitlines() if any(n in line for n in names)) or width == 80
    )


@pytest.mark.docker
@pytest.mark.parametrize("width", [80, 200])
def test_tables_fit_at_80_and_200_columns(cli, cenv, as_user, docker_env, base_image, width):
    as_user("alice")
    ws = str(cenv.workspace("alice"))
    long_a = cenv.name("a" * (24 - len(cenv.tag) - 1))
    long_b = cenv.name("b" * (24 - len(cenv.tag) - 1))
    assert len(long_a) == 24
    docker_env.images.get(base_image).tag(f"{long_a}-image", "latest")
    try:
        assert cli("container", "create", long_a, "-w", ws).exit_code == 0
        assert cli("container", "create", long_b, "--image", base_image, "-w", ws, "--gpus", "0").exit_code == 0
        assert cli("container", "start", long_a).exit_code == 0
        assert cli("container", "stop", long_a, "-t", "0").exit_code == 0
        env = {"COLUMNS": str(width)}
        r = cli("container", "list", env=env)
        _check(r, width, [long_a, long_b])
        assert "in 59m" in r.stdout or "in 1h" in r.stdout  # held until, relative
        as_json = json.loads(cli("container", "list", "--json", env=env).stdout)
        assert all(e["held_until"] is None or e["held_until"].endswith("Z") for e in as_json)  # ISO in JSON
        _check(cli("status", env=env), width, [long_a, long_b])
        gpu = cli("gpu", "status", env=env)
        _check(gpu, width, [long_a])
        as_user("boss")
        admin = cli("container", "list", "--all", env=env)
        _check(admin, width, [long_a, long_b, "alice"])
        if width == 200:
            assert "PROJECT" in admin.stdout and "CREATED" in admin.stdout
    finally:
        as_user("alice")
        for n in (long_a, long_b):
            cli("container", "cleanup", n, "--force")
        docker_env.images.remove(f"{long_a}-image:latest")
