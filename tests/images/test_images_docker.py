"""image create/update/list/delete against the real engine, offline on the busybox base.

The base image's stand-in pip records every call in /var/lib/pip-stand-in/calls.log, so a
container of the built image shows exactly which `pip install` commands the build ran.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from ds01.base.docker_client import reset_client

CALLS = "/var/lib/pip-stand-in/calls.log"
PACKAGED_CONFIG = Path(__file__).resolve().parents[2] / "config" / "resource-limits.yaml"


@pytest.fixture(autouse=True)
def _fresh_client():
    reset_client()
    yield
    reset_client()


def pip_calls(client, image: str, tag: str) -> list[list[str]]:
    out = client.containers.run(image, ["cat", CALLS], remove=True, labels={"ds01.test.session": tag})
    return [line.rstrip("\t").split("\t") for line in out.decode().splitlines() if line.strip()]


def _dockerfile(project: str) -> Path:
    return Path.home() / "dockerfiles" / project / "Dockerfile"


def test_create_builds_with_exactly_the_chosen_packages(cli, docker_env, base_image, session_tag):
    project = f"{session_tag}-cv"
    r = cli(
        "image",
        "create",
        project,
        "--base-image",
        base_image,
        "--no-jupyter",
        "--use-case",
        "cv",
        "--packages",
        "pandas==1.5.3 torch-geometric",
        "--packages",
        "numpy>=2.0.0",
        "--json",
    )
    assert r.exit_code == 0, r
    data = json.loads(r.stdout)
    assert data["image"] == f"{project}-image"
    assert data["built"] is True
    assert data["dockerfile"] == str(_dockerfile(project))
    assert data["packages"]["jupyter"] == []
    assert data["packages"]["custom"] == ["pandas==1.5.3", "torch-geometric", "numpy>=2.0.0"]
    assert pip_calls(docker_env, f"{project}-image", session_tag) == [
        ["install", "--no-cache-dir", "pandas", "scipy", "scikit-learn", "matplotlib", "seaborn"],
        ["install", "--no-cache-dir", "opencv-python-headless", "timm", "albumentations", "pillow", "scikit-image"],
        ["install", "--no-cache-dir", "pandas==1.5.3", "torch-geometric", "numpy>=2.0.0"],
    ]
    labels = docker_env.images.get(f"{project}-image").labels
    assert labels["ds01.managed"] == "true"
    assert labels["ds01.project"] == project
    assert labels["ds01.base_image"] == base_image
    assert "Step 2/" in r.stderr  # progress lines on stderr
    assert f"ds01 container create {project}" in r.stderr

    # image list shows it; nobody uses it yet.
    r = cli("image", "list", "--json")
    assert r.exit_code == 0, r
    mine = [i for i in json.loads(r.stdout) if i["project"] == project]
    assert len(mine) == 1
    assert mine[0]["name"] == f"{project}-image:latest"
    assert mine[0]["containers"] == [] and mine[0]["size"] > 0 and mine[0]["base_image"] == base_image


def test_update_round_trip(cli, docker_env, base_image, session_tag):
    project = f"{session_tag}-up"
    r = cli(
        "image",
        "create",
        project,
        "--base-image",
        base_image,
        "--use-case",
        "custom",
        "--no-data-science",
        "--packages",
        "polars",
        "--yes",
    )
    assert r.exit_code == 0, r
    first = docker_env.images.get(f"{project}-image").id

    r = cli(
        "image", "update", project, "--remove", "ipywidgets", "--add", "pandas~=1.5.0 rich", "--no-jupyter", "--json"
    )
    assert r.exit_code == 0, r
    data = json.loads(r.stdout)
    assert data["packages"] == {
        "jupyter": [],
        "data-science": [],
        "use-case": [],
        "custom": ["polars", "pandas~=1.5.0", "rich"],
    }
    assert data["built"] is True
    text = _dockerfile(project).read_text()
    assert "ds01:phase=jupyter" not in text
    assert [line for line in text.splitlines() if line.startswith("RUN")] == [
        'RUN ["pip", "install", "--no-cache-dir", "polars", "pandas~=1.5.0", "rich"]'
    ]
    assert docker_env.images.get(f"{project}-image").id != first
    assert pip_calls(docker_env, f"{project}-image", session_tag) == [
        ["install", "--no-cache-dir", "polars", "pandas~=1.5.0", "rich"]
    ]

    # Removing the last custom package leaves no RUN line at all, and the build still works.
    r = cli("image", "update", project, "--remove", "polars pandas rich", "--category", "custom")
    assert r.exit_code == 0, r
    assert "RUN" not in _dockerfile(project).read_text()
    r = cli("image", "update", project, "--remove", "nothere", "--no-build")
    assert r.exit_code == 2 and "nothere is not in the Dockerfile" in r.stderr


def test_bad_specifier_writes_nothing(cli, docker_env, base_image, session_tag):
    project = f"{session_tag}-bad"
    for bad in ("pandas; rm -rf /", "--index-url http://evil", "$(id)"):
        r = cli("image", "create", project, "--base-image", base_image, "--packages", bad, "--yes")
        assert r.exit_code == 2, r
        assert not _dockerfile(project).parent.exists()
    r = cli("image", "create", project, "--base-image", base_image, "--packages", "pandas;rm", "--yes")
    assert r.exit_code == 2 and "'pandas;rm'" in r.stderr
    r = cli("image", "create", project, "--base-image", f"{session_tag}-missing:1", "--yes")
    assert r.exit_code == 2 and "not present locally" in r.stderr
    assert not _dockerfile(project).parent.exists()
    assert docker_env.images.list(name=f"{project}-image") == []


def test_failed_build_keeps_previous_image_and_log(cli, docker_env, base_image, session_tag):
    project = f"{session_tag}-fail"
    r = cli(
        "image",
        "create",
        project,
        "--base-image",
        base_image,
        "--use-case",
        "custom",
        "--no-jupyter",
        "--no-data-science",
        "--packages",
        "polars",
        "--yes",
    )
    assert r.exit_code == 0, r
    good = docker_env.images.get(f"{project}-image").id
    path = _dockerfile(project)
    path.write_text(path.read_text() + "RUN false\n")
    r = cli("image", "update", project, "--add", "rich")
    assert r.exit_code == 1, r
    assert "failed at Step" in r.stderr and "RUN false" in r.stderr
    assert "previous image is unchanged" in r.stderr
    log = path.parent / "build.log"
    assert log.exists() and "RUN false" in log.read_text()
    assert docker_env.images.get(f"{project}-image").id == good
    # An edited Dockerfile is not replaced by create without --yes.
    r = cli("image", "create", project, "--base-image", base_image, "--no-build")
    assert r.exit_code == 3 and "changed by hand" in r.stderr
    assert "RUN false" in path.read_text()


def test_delete_refuses_while_used_then_force_removes(cli, docker_env, base_image, session_tag):
    project = f"{session_tag}-del"
    r = cli(
        "image",
        "create",
        project,
        "--base-image",
        base_image,
        "--use-case",
        "custom",
        "--no-jupyter",
        "--no-data-science",
        "--yes",
    )
    assert r.exit_code == 0, r
    container = docker_env.containers.create(
        f"{project}-image", ["sleep", "60"], name=f"{session_tag}-user", labels={"ds01.test.session": session_tag}
    )
    r = cli("image", "list", "--json")
    mine = [i for i in json.loads(r.stdout) if i["project"] == project]
    assert mine[0]["containers"] == [f"{session_tag}-user"]

    r = cli("image", "delete", project)
    assert r.exit_code == 3, r
    assert f"{session_tag}-user" in r.stderr and "--force" in r.stderr
    assert docker_env.images.get(f"{project}-image")

    r = cli("image", "delete", f"{session_tag}-nosuch-image")
    assert r.exit_code == 2 and "for you" in r.stderr

    r = cli("image", "delete", f"{project}-image", "--force", "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout) == {
        "deleted": [f"{project}-image:latest"],
        "containers_removed": [f"{session_tag}-user"],
    }
    import docker.errors

    with pytest.raises(docker.errors.NotFound):
        docker_env.containers.get(container.id)
    with pytest.raises(docker.errors.ImageNotFound):
        docker_env.images.get(f"{project}-image")


def test_a_malformed_base_image_name_is_bad_input_and_writes_nothing(cli, docker_env, session_tag):
    project = f"{session_tag}-badbase"
    r = cli("image", "create", project, "--base-image", "Not An Image", "--no-build")
    assert r.exit_code == 2, r
    assert "not present locally" in r.stderr and "Traceback" not in r.stderr
    assert not _dockerfile(project).parent.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="acting for another user needs root (sudo)")
def test_under_sudo_the_new_dockerfile_folders_belong_to_the_caller(cli, docker_env, base_image, session_tag):
    """Under sudo the Dockerfile, its folders and the build log are made by the caller (privsep), so they
    are theirs; and ds01 records the image as theirs."""
    from support.users import make_user, sudo_env

    with make_user() as user:
        env = sudo_env(user)
        project = f"{session_tag}-own"
        r = cli(
            "image",
            "create",
            project,
            "--base-image",
            base_image,
            "--use-case",
            "custom",
            "--no-jupyter",
            "--no-data-science",
            env=env,
        )
        assert r.exit_code == 0, r
        folder = user.home / "dockerfiles" / project
        for path in (user.home / "dockerfiles", folder, folder / "Dockerfile", folder / "build.log"):
            assert path.stat().st_uid == user.uid, path
        mine = json.loads(cli("image", "list", "--json", env=env).stdout)
        assert [i["name"] for i in mine] == [f"{project}-image:latest"]
        assert all(i["project"] != project for i in json.loads(cli("image", "list", "--json").stdout))

        work = user.home / "work"
        work.mkdir()
        os.chown(work, user.uid, user.gid)  # a folder of the caller's; ds01 makes p2 inside it
        r = cli(
            "image",
            "create",
            f"{project}2",
            "--base-image",
            base_image,
            "--no-build",
            "--project-dockerfile",
            str(work / "p2"),
            env=env,
        )
        assert r.exit_code == 0, r
        for path in (work, work / "p2", work / "p2" / "Dockerfile"):
            assert path.stat().st_uid == user.uid, path


def test_an_old_build_listed_as_untagged_can_be_deleted_by_its_listed_name(cli, docker_env, base_image, session_tag):
    project = f"{session_tag}-old"
    for extra in ("polars", "rich"):
        r = cli(
            "image",
            "create",
            project,
            "--base-image",
            base_image,
            "--use-case",
            "custom",
            "--no-jupyter",
            "--no-data-science",
            "--packages",
            extra,
            "--yes",
        )
        assert r.exit_code == 0, r
    mine = [i for i in json.loads(cli("image", "list", "--json").stdout) if i["project"] == project]
    old = [i["name"] for i in mine if i["name"].startswith("<untagged>@")]
    assert len(mine) == 2 and len(old) == 1
    r = cli("image", "delete", old[0])
    assert r.exit_code == 0, r
    left = [i["name"] for i in json.loads(cli("image", "list", "--json").stdout) if i["project"] == project]
    assert left == [f"{project}-image:latest"]


@pytest.mark.skipif(os.geteuid() != 0, reason="acting for other users needs root (sudo)")
def test_a_project_name_whose_image_belongs_to_someone_else_is_refused(cli, docker_env, base_image, session_tag):
    """``{project}-image`` is one name per server: bob must not move alice's tag onto his build."""
    from support.users import make_user, sudo_env

    with make_user() as alice_user, make_user() as bob_user:
        alice, bob = sudo_env(alice_user), sudo_env(bob_user)
        project = f"{session_tag}-shared-name"
        args = (
            "image",
            "create",
            project,
            "--base-image",
            base_image,
            "--use-case",
            "custom",
            "--no-jupyter",
            "--no-data-science",
            "--yes",
        )
        assert cli(*args, env=alice).exit_code == 0
        alices = docker_env.images.get(f"{project}-image:latest").id

        r = cli(*args, env=bob)
        assert r.exit_code == 3, r
        assert "already taken by another user's image" in r.stderr and alice_user.name not in r.stderr
        assert docker_env.images.get(f"{project}-image:latest").id == alices
        r = cli("image", "update", project, "--add", "rich", "--yes", env=bob)
        assert r.exit_code == 3 and "already taken" in r.stderr, r
        assert docker_env.images.get(f"{project}-image:latest").id == alices

        # A local image ds01 did not build (an admin's) is not built over either.
        plain = f"{session_tag}-plain"
        docker_env.images.get(base_image).tag(f"{plain}-image", "latest")
        r = cli("image", "create", plain, "--base-image", base_image, "--yes", "--no-build", env=alice)
        assert r.exit_code == 3 and "did not build for you" in r.stderr


def test_a_second_build_of_a_project_waits_for_the_first(cli, docker_env, base_image, session_tag):
    """Builds of one project are serialised on its Dockerfile folder, so the tag ends on the newest recipe."""
    import subprocess
    import sys
    import time

    from ds01.fsutil import locked_dir
    from support.locks import wait_until_blocked

    project = f"{session_tag}-lock"
    r = cli(
        "image",
        "create",
        project,
        "--base-image",
        base_image,
        "--use-case",
        "custom",
        "--no-jupyter",
        "--no-data-science",
        "--packages",
        "polars",
        "--yes",
    )
    assert r.exit_code == 0, r
    first = docker_env.images.get(f"{project}-image").id
    dockerfile = _dockerfile(project)
    exe = str(Path(sys.executable).parent / "ds01")
    with locked_dir(dockerfile.parent):  # a build of this project in progress
        proc = subprocess.Popen(
            [exe, "image", "update", project, "--add", "rich", "--build", "--yes"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while "rich" not in dockerfile.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "rich" in dockerfile.read_text()  # the update wrote its recipe and reached the build
        wait_until_blocked(dockerfile.parent)  # ... where the kernel has it waiting for the lock
        assert proc.poll() is None
        assert docker_env.images.get(f"{project}-image").id == first
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert docker_env.images.get(f"{project}-image").id != first
    assert pip_calls(docker_env, f"{project}-image", session_tag) == [["install", "--no-cache-dir", "polars", "rich"]]


APT_STAND_IN = """#!/bin/sh
# Stand-in for apt-get inside the offline test image: records its arguments, installs nothing.
mkdir -p /var/lib/apt-stand-in
printf '%s\\t' "$@" >> /var/lib/apt-stand-in/calls.log
echo >> /var/lib/apt-stand-in/calls.log
"""


def _apt_base(client, base_image: str, tag: str) -> str:
    """``base_image`` plus a stand-in apt-get (and the lists folder the apt phase cleans)."""
    import io
    import tarfile

    ref = f"{tag}-aptbase:latest"
    files = {
        "Dockerfile": f"FROM {base_image}\nCOPY apt-get /usr/bin/apt-get\nRUN mkdir -p /var/lib/apt/lists\n"
        f"LABEL test.session={tag}\n",
        "apt-get": APT_STAND_IN,
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    client.images.build(
        fileobj=buf, custom_context=True, tag=ref, pull=False, rm=True, forcerm=True, labels={"ds01.test.session": tag}
    )
    return ref


def test_system_packages_are_one_apt_run_in_exec_form(cli, docker_env, base_image, session_tag, tmp_path, monkeypatch):
    base = _apt_base(docker_env, base_image, session_tag)
    config = yaml.safe_load(PACKAGED_CONFIG.read_text())
    config.setdefault("security", {})["allowed_base_images"] = [base_image, base]
    (tmp_path / "limits.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DS01_CONFIG", str(tmp_path / "limits.yaml"))
    project = f"{session_tag}-apt"

    # Anything but Debian package names is refused before a file is written.
    for bad in ("libgl1;id", "$(id)", "-o APT::x", "Libgl1", "ffmpeg=1.0;x"):
        r = cli("image", "create", project, "--base-image", base, "--system-packages", bad, "--yes")
        assert r.exit_code == 2 and "not a Debian package name" in r.stderr, (bad, r)
        assert not _dockerfile(project).parent.exists()

    r = cli(
        "image",
        "create",
        project,
        "--base-image",
        base,
        "--use-case",
        "custom",
        "--no-jupyter",
        "--no-data-science",
        "--packages",
        "polars",
        "--system-packages",
        "libgl1 ffmpeg=7:5.1.6-0+deb12u1",
        "--json",
    )
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["system_packages"] == ["libgl1", "ffmpeg=7:5.1.6-0+deb12u1"]
    runs = [line for line in _dockerfile(project).read_text().splitlines() if line.startswith("RUN")]
    assert json.loads(runs[0][4:])[3:] == ["sh", "libgl1", "ffmpeg=7:5.1.6-0+deb12u1"]
    assert json.loads(runs[0][4:])[:2] == ["/bin/sh", "-c"]
    out = docker_env.containers.run(
        f"{project}-image",
        ["cat", "/var/lib/apt-stand-in/calls.log"],
        remove=True,
        labels={"ds01.test.session": session_tag},
    ).decode()
    assert [line.rstrip("\t").split("\t") for line in out.splitlines()] == [
        ["update"],
        ["install", "-y", "--no-install-recommends", "libgl1", "ffmpeg=7:5.1.6-0+deb12u1"],
    ]

    # image update adds and removes system packages; the last one removed takes its RUN line along.
    r = cli(
        "image",
        "update",
        project,
        "--system-packages",
        "ffmpeg",
        "--remove",
        "libgl1",
        "--category",
        "system",
        "--no-build",
        "--json",
    )
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["system_packages"] == ["ffmpeg"]
    r = cli("image", "update", project, "--remove", "ffmpeg", "--json")
    assert r.exit_code == 0, r
    text = _dockerfile(project).read_text()
    assert "apt-get" not in text and "ds01:phase=system" not in text
    assert [line for line in text.splitlines() if line.startswith("RUN")] == [
        'RUN ["pip", "install", "--no-cache-dir", "polars"]'
    ]
