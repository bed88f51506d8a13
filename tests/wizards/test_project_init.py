"""`project init` against the real engine: every step, the labels that link them, re-runs and skips.

The caller acts through sudo with a home of its own; the base is the offline busybox image.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from wizard_support import not_owned_by, snapshot

STEPS = ["dir-create", "git-init", "readme-create", "image-create", "container-create", "container-run"]


def statuses(data: dict) -> dict[str, str]:
    return {s["step"]: s["status"] for s in data["steps"]}


def init(cli, *args: str):
    r = cli("project", "init", *args, "--json")
    data = json.loads(r.stdout) if r.stdout.strip() else None
    return r, data


def test_init_yes_end_to_end_then_rerun_changes_nothing(cli, docker_env, base_image, caller):
    project = caller.project("e2e")
    r, data = init(cli, project, "--base-image", base_image, "--use-case", "nlp", "--packages", "rich==13.0", "--yes")
    assert r.exit_code == 0, r
    assert [s["step"] for s in data["steps"]] == STEPS
    assert set(statuses(data).values()) == {"done"}, data
    root = caller.workspace(project)
    assert data["directory"] == str(root)

    # Directory, repository with its first commit, README, Dockerfile in the project.
    for folder in ("data", "notebooks", "src", "models", "outputs"):
        assert (root / folder / "README.md").is_file()
    log = subprocess.run(
        ["git", "-C", str(root), "log", "--format=%an|%s"],
        capture_output=True,
        text=True,
        env={"SUDO_UID": str(caller.uid), "HOME": str(caller.home), "PATH": "/usr/bin:/bin"},
    )
    assert log.stdout.strip() == f"Test {caller.name}|Initial project layout", log
    assert f"# {project}" in (root / "README.md").read_text()
    dockerfile = root / "Dockerfile"
    assert f"FROM {base_image}" in dockerfile.read_text()
    assert "ds01:phase=use-case:nlp" in dockerfile.read_text()
    # Everything made for the caller belongs to the caller, not to root.
    assert not_owned_by(caller.home, caller.uid) == []

    # Image and container exist and are linked by labels.
    image = docker_env.images.get(f"{project}-image")
    assert image.labels["ds01.project"] == project
    assert image.labels["ds01.user"] == caller.name
    assert image.labels["ds01.dockerfile"] == str(dockerfile)
    container = docker_env.containers.get(f"{project}._.{caller.uid}")
    assert container.labels["ds01.project"] == project
    assert container.labels["ds01.user"] == caller.name
    assert container.attrs["Config"]["Image"] == f"{project}-image"
    assert container.image.id == image.id
    assert container.labels["ds01.gpu.slots"]  # a slot of the simulated inventory
    assert container.status == "running"
    mounts = {m["Destination"]: m["Source"] for m in container.attrs["Mounts"]}
    assert mounts["/workspace"] == str(root)

    # Re-run: every step already done, nothing on disk or in Docker changed.
    before = snapshot(caller.home)
    r, again = init(cli, project, "--base-image", base_image, "--use-case", "nlp", "--packages", "rich==13.0", "--yes")
    assert r.exit_code == 0, r
    assert set(statuses(again).values()) == {"already done"}, again
    # Without the image flags the project's Dockerfile is kept as the recipe: still nothing to do.
    r, bare = init(cli, project, "--yes")
    assert r.exit_code == 0, r
    assert set(statuses(bare).values()) == {"already done"}, bare
    assert snapshot(caller.home) == before
    assert docker_env.images.get(f"{project}-image").id == image.id
    assert docker_env.containers.get(f"{project}._.{caller.uid}").id == container.id


def test_skip_flags_then_resume(cli, docker_env, base_image, caller):
    project = caller.project("skip")
    root = caller.workspace(project)
    r, data = init(cli, project, "--no-git", "--no-readme", "--no-image", "--no-container", "--yes")
    assert r.exit_code == 0, r
    assert statuses(data) == {
        "dir-create": "done",
        "git-init": "skipped",
        "readme-create": "skipped",
        "image-create": "skipped",
        "container-create": "skipped",
        "container-run": "skipped",
    }
    assert (root / "src").is_dir()
    assert not (root / ".git").exists() and not (root / "README.md").exists()
    assert not (root / "Dockerfile").exists()
    assert docker_env.images.list(name=f"{project}-image") == []

    # Resume: the image and a stopped container, still no git.
    r, data = init(cli, project, "--no-git", "--base-image", base_image, "--no-run", "--yes")
    assert r.exit_code == 0, r
    assert statuses(data) == {
        "dir-create": "already done",
        "git-init": "skipped",
        "readme-create": "done",
        "image-create": "done",
        "container-create": "done",
        "container-run": "skipped",
    }
    container = docker_env.containers.get(f"{project}._.{caller.uid}")
    assert container.status == "created"
    assert not (root / ".git").exists()

    # Resume again with every step: only git and the start are left to do.
    r, data = init(cli, project, "--yes")
    assert r.exit_code == 0, r
    assert statuses(data) == {
        "dir-create": "already done",
        "git-init": "done",
        "readme-create": "already done",
        "image-create": "already done",
        "container-create": "already done",
        "container-run": "done",
    }
    container.reload()
    assert container.status == "running"
    assert (root / ".git").is_dir()


def test_changed_packages_rebuild_the_image(cli, docker_env, base_image, caller):
    project = caller.project("pk")
    r, _ = init(cli, project, "--base-image", base_image, "--no-container", "--use-case", "custom", "--yes")
    assert r.exit_code == 0, r
    first = docker_env.images.get(f"{project}-image").id
    r, data = init(
        cli,
        project,
        "--base-image",
        base_image,
        "--no-container",
        "--use-case",
        "custom",
        "--packages",
        "polars",
        "--yes",
    )
    assert r.exit_code == 0, r
    assert statuses(data)["image-create"] == "done"
    assert data["steps"][3]["details"]["packages"]["custom"] == ["polars"]
    assert docker_env.images.get(f"{project}-image").id != first


def test_edited_dockerfile_is_kept_without_asking(cli, docker_env, base_image, caller):
    project = caller.project("ed")
    r, _ = init(cli, project, "--base-image", base_image, "--no-container", "--no-data-science", "--yes")
    assert r.exit_code == 0, r
    dockerfile = caller.workspace(project) / "Dockerfile"
    edited = dockerfile.read_text() + "# my own line\n"
    dockerfile.write_text(edited)
    r, data = init(cli, project, "--base-image", base_image, "--no-container", "--use-case", "rl", "--yes")
    assert r.exit_code == 0, r
    assert statuses(data)["image-create"] == "already done"
    assert data["steps"][3]["details"]["edited"] is True
    assert any("not applied" in note for note in data["steps"][3]["details"]["notes"])
    assert dockerfile.read_text() == edited


def test_rerun_with_new_packages_keeps_the_other_choices_of_the_dockerfile(cli, docker_env, base_image, caller):
    """Only --packages on a re-run: the base, the phases and the use case stay as the Dockerfile has them."""
    project = caller.project("keep")
    r, _ = init(
        cli,
        project,
        "--base-image",
        base_image,
        "--no-container",
        "--no-jupyter",
        "--use-case",
        "rl",
        "--packages",
        "httpx",
        "--yes",
    )
    assert r.exit_code == 0, r
    r, data = init(cli, project, "--no-container", "--packages", "rich==13.0", "--yes")
    assert r.exit_code == 0, r
    step = data["steps"][3]
    assert step["status"] == "done"
    assert step["details"]["base_image"] == base_image
    assert step["details"]["use_case"] == "rl"
    assert step["details"]["packages"]["jupyter"] == []
    assert step["details"]["packages"]["data-science"] != []
    assert step["details"]["packages"]["custom"] == ["rich==13.0"]
    assert f"FROM {base_image}" in (caller.workspace(project) / "Dockerfile").read_text()


@pytest.mark.parametrize("name", ["Bad Name", "UPPER", "dots..in", "a._.b", "../escape", "-dash", "x" * 70])
def test_bad_project_name_exits_2_and_creates_nothing(cli, caller, name):
    r = cli("project", "init", "--yes", "--no-image", "--no-container", "--", name)
    assert r.exit_code == 2, r
    assert r.stderr.startswith("error: ")
    assert list(caller.home.iterdir()) == [caller.home / ".gitconfig"]


def test_bad_input_found_before_any_step(cli, docker_env, base_image, caller):
    project = caller.project("bad")
    cases = [
        (["--base-image", base_image, "--packages", "pandas;rm -rf /"], "not a valid package specifier"),
        (["--base-image", f"{caller.name}-missing:latest"], "not present locally"),
        ([], "A base is required"),
        (["--no-image"], "needs the image"),
    ]
    for args, message in cases:
        r = cli("project", "init", project, "--yes", *args)
        assert r.exit_code == 2, (args, r)
        assert message in r.stderr, (args, r)
        assert list(caller.home.iterdir()) == [caller.home / ".gitconfig"], args
    assert docker_env.containers.list(all=True, filters={"label": f"ds01.user={caller.name}"}) == []


def test_aliases_run_the_same_flow(docker_env, base_image, caller):
    from support.cli import run_process

    project = caller.project("alias")
    for argv in (["project-init", project], ["new-project", project], ["user", "new-project", project]):
        r = run_process(*argv, "--no-git", "--no-image", "--no-container", "--yes", "--json")
        assert r.exit_code == 0, (argv, r)
        data = json.loads(r.stdout)
        assert data["project"] == project and [s["step"] for s in data["steps"]] == STEPS
    assert (caller.workspace(project) / "data" / "README.md").is_file()


def test_failed_step_is_reported_and_later_steps_skipped(cli, docker_env, base_image, caller):
    project = caller.project("fail")
    r, _ = init(cli, project, "--no-image", "--no-container", "--yes")
    assert r.exit_code == 0, r
    # The user's own Dockerfile, whose build fails.
    (caller.workspace(project) / "Dockerfile").write_text(f'FROM {base_image}\nRUN ["false"]\n')
    r, data = init(cli, project, "--yes")
    assert r.exit_code == 1, r
    assert data["ok"] is False and data["exit_code"] == 1
    assert statuses(data) == {
        "dir-create": "already done",
        "git-init": "already done",
        "readme-create": "already done",
        "image-create": "failed",
        "container-create": "skipped",
        "container-run": "skipped",
    }
    assert "failed" in data["error"]
    assert r.stderr.count("error: ") == 1
    assert docker_env.images.list(name=f"{project}-image") == []
    assert docker_env.containers.list(all=True, filters={"label": f"ds01.user={caller.name}"}) == []
