"""`new-project` on a real terminal: a user who could not have the project's container (at the
container limit, over the GPU quota) is told before the image questions and the build, with
the way to set the project up without it; nothing is made."""

from __future__ import annotations

import os

import pexpect

from support.cli import ds01_executable


def _run_until_refused(project: str) -> tuple[int | None, str]:
    env = dict(os.environ, TERM="xterm", NO_COLOR="1", COLUMNS="160", LINES="40")
    child = pexpect.spawn(
        ds01_executable(), ["new-project"], env=env, encoding="utf-8", timeout=60, dimensions=(40, 160)
    )
    child.expect("Project name")
    child.sendline(project)
    index = child.expect(["Build the image", "Base image", "Framework", pexpect.EOF])
    child.close()
    assert index == 3, f"a question came first: {child.before}"
    return child.exitstatus, child.before


def test_over_the_gpu_quota_refused_before_the_questions(docker_env, caller, sim_config):
    sim_config.write_text(sim_config.read_text().replace("max_mig_instances: 2", "max_mig_instances: 0"))
    project = caller.project("pfq")
    code, out = _run_until_refused(project)
    assert code == 3, out
    assert "before the image build" in out and "--no-container" in out
    assert docker_env.images.list(name=f"{project}-image") == []
    assert not caller.workspace(project).exists()


def test_at_the_container_limit_refused_before_the_questions(docker_env, caller, sim_config, base_image):
    import re

    text = re.sub(r"max_containers_per_user: \d+", "max_containers_per_user: 0", sim_config.read_text())
    if "max_containers_per_user" not in text:
        text = text.replace("max_mig_instances: 2", "max_mig_instances: 2\n  max_containers_per_user: 0", 1)
    sim_config.write_text(text)
    project = caller.project("pfc")
    code, out = _run_until_refused(project)
    assert code == 3, out
    assert "limit is 0" in out and "--no-container" in out
    assert not caller.workspace(project).exists()
