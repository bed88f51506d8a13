"""`project init` refuses before any work when its container could not be had: over the GPU
quota, no slot the user may take, or at the container limit -- no folder, no image built."""

from __future__ import annotations

import json
import os

from ds01.gpu import inputs


def _nothing_made(caller, docker_env, project):
    assert list(caller.home.iterdir()) == [caller.home / ".gitconfig"]
    assert docker_env.images.list(name=f"{project}-image") == []
    assert docker_env.containers.list(all=True, filters={"label": f"ds01.user={caller.name}"}) == []


def test_gpu_quota_refused_before_the_build(cli, docker_env, base_image, caller, sim_config):
    sim_config.write_text(sim_config.read_text().replace("max_mig_instances: 2", "max_mig_instances: 0"))
    project = caller.project("quota")
    r = cli("project", "init", project, "--base-image", base_image, "--yes")
    assert r.exit_code == 3, r
    assert "not allowed" in r.stderr and "before the image build" in r.stderr
    assert "Building" not in r.output
    _nothing_made(caller, docker_env, project)


def test_no_slot_the_user_may_take_refused_before_the_build(cli, docker_env, base_image, caller, sim_config):
    from ds01.limits.config import load_config

    slots = [s.id for s in inputs.inventory(load_config(sim_config)).slots]
    sim_config.write_text(
        sim_config.read_text()
        + (
            "user_overrides:\n  someoneelse:\n    reservation_start: 2020-01-01T00:00:00Z\n"
            "    reservation_end: 2099-01-01T00:00:00Z\n"
            f"    reserved_gpus: [{', '.join(repr(s) for s in slots)}]\n"
        )
    )
    project = caller.project("full")
    r = cli("project", "init", project, "--base-image", base_image, "--yes", "--json")
    assert r.exit_code == 3, r
    assert "reserved for someoneelse" in r.stderr and "before the image build" in r.stderr
    _nothing_made(caller, docker_env, project)
    # Without the container the project is set up as before.
    r = cli("project", "init", project, "--base-image", base_image, "--yes", "--no-container", "--no-image", "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["ok"] is True
    assert os.path.isdir(caller.workspace(project))
