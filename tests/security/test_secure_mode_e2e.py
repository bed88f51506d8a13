"""Secure mode end to end: a real student outside the docker group works only through sudo.

Debian's sudo is installed (when missing), ``ds01 admin sudoers`` installs the generated rule
(checked by ``visudo -cf``) for an entry point that runs this checkout's Python isolated with
this test's config, state and log folders fixed inside it, and ``ds01 admin symlinks`` makes
the commands. A real unprivileged user then runs ``container-create``, ``container-list``,
``container-run``, ``image-create`` and ``project-init`` through the symlinks with ``runuser``,
cannot reach the Docker socket, cannot hand root a config of their own, and every container
ds01 made for them runs as them with every capability dropped and ``no-new-privileges``.
"""

from __future__ import annotations

import grp
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ds01.identity import Identity
from support import configs
from support.cli import ds01_executable
from support.users import make_user, world_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="installs a sudoers rule and real users: needs root")

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "config" / "topologies" / "demo-small.yaml"
SOCKET = "/var/run/docker.sock"

EVIL = """\
defaults:
  max_mig_instances: null
  max_containers_per_user: null
gpu_allocation:
  inventory: simulated
  topology: {topology}
security:
  mode: secure
"""


def _ensure_sudo() -> None:
    if shutil.which("sudo") and shutil.which("visudo"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    proc = subprocess.run(["apt-get", "install", "-y", "-qq", "sudo"], capture_output=True, text=True, env=env)
    if proc.returncode != 0 or not shutil.which("sudo"):
        pytest.skip(f"Debian's sudo is not installed and apt-get could not install it: {proc.stderr.strip()[-200:]}")


def _user_can_run(user: Identity, program: str) -> bool:
    proc = subprocess.run(
        ["runuser", "-u", user.name, "--", program, "-c", "import ds01"], capture_output=True, cwd="/"
    )
    return proc.returncode == 0


def _user_side_ds01(user: Identity, world: Path) -> Path:
    """The ds01 the student starts: this checkout's, through an interpreter they may execute.

    A virtual environment made from an interpreter in a root-only folder (a developer's
    pyenv under /root) cannot be started by other users; then a small environment on the
    system interpreter reads this checkout's packages. Root's side always uses .venv.
    """
    installed = Path(ds01_executable())
    if _user_can_run(user, sys.executable):
        return installed
    system = shutil.which("python3", path="/usr/bin:/bin")
    if system is None:
        pytest.skip("no interpreter that an unprivileged user may run")
    venv = world / "user-venv"
    subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    site = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    Path(purelib, "ds01-checkout.pth").write_text(f"import site; site.addsitedir({str(site)!r})\n")
    launcher = venv / "bin" / "ds01"
    launcher.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom ds01.cli import main\nsys.exit(main())\n")
    launcher.chmod(0o755)
    if not _user_can_run(user, str(venv / "bin" / "python")):
        pytest.skip("cannot give the test user an interpreter for this checkout")
    return launcher


@dataclass
class Server:
    world: Path
    config: Path
    state: Path
    log: Path
    entry: Path
    bin: Path
    user: Identity
    tag: str

    def env(self, **extra: str) -> list[str]:
        base = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.user.home),
            "LANG": "C.UTF-8",
            "NO_COLOR": "1",
            "DS01_CONFIG": str(self.config),
            "DS01_SECURE_ENTRY": str(self.entry),
        }
        base.update(extra)
        return ["env", "-i", *(f"{k}={v}" for k, v in base.items())]

    def run(
        self,
        command: str,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        argv = ["runuser", "-u", self.user.name, "--", *self.env(**(env or {})), str(self.bin / command), *args]
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            input=input,
            cwd=self.user.home,
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )


@pytest.fixture
def server(docker_env, base_image, session_tag) -> Iterator[Server]:
    _ensure_sudo()
    world = world_dir("ds01-secure-")
    rule_file = Path("/etc/sudoers.d") / f"ds01-e2e-{session_tag}{os.getpid()}"
    try:
        with make_user("ds01s") as user:
            docker_gid = None
            try:
                docker_gid = grp.getgrnam("docker").gr_gid
            except KeyError:
                pass
            assert docker_gid not in os.getgrouplist(user.name, user.gid)
            (user.home / ".gitconfig").write_text(
                f"[user]\n\tname = Test {user.name}\n\temail = {user.name}@example.org\n"
            )
            os.chown(user.home / ".gitconfig", user.uid, user.gid)

            topology = world / f"topology-{session_tag}-{os.getpid()}.yaml"  # simulated UUIDs of its own
            topology.write_text(TOPOLOGY.read_text())
            config = world / "resource-limits.yaml"
            config.write_text(
                configs.render(
                    topology,
                    defaults={
                        "max_containers_per_user": 3,
                        "memory": "512m",
                        "memory_swap": "512m",
                        "shm_size": "64m",
                        "gpu_hold_after_stop": "1h",
                        "pids_limit": configs.OMIT,
                        "priority": configs.OMIT,
                    },
                    admins=[],
                    security={"mode": "secure", "allowed_base_images": [base_image]},
                )
            )
            state, log, bin_dir = world / "state", world / "log", world / "bin"
            for folder in (state, log, bin_dir):
                folder.mkdir(mode=0o755)
            entry = world / "libexec" / "ds01-secure"

            admin_env = {
                **os.environ,
                "DS01_CONFIG": str(config),
                "DS01_STATE_DIR": str(state),
                "DS01_LOG_DIR": str(log),
            }
            installed = subprocess.run(
                [ds01_executable(), "admin", "sudoers", "--entry", str(entry), "--output", str(rule_file)],
                capture_output=True,
                text=True,
                env=admin_env,
            )
            assert installed.returncode == 0, installed
            assert subprocess.run(["visudo", "-cf", str(rule_file)], capture_output=True).returncode == 0
            assert (rule_file.stat().st_mode & 0o7777) == 0o440
            assert entry.stat().st_uid == 0 and f"DS01_CONFIG={config}" in entry.read_text()

            launcher = _user_side_ds01(user, world)
            path = f"{launcher.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"
            links = subprocess.run(
                [ds01_executable(), "admin", "symlinks", "--prefix", str(bin_dir)],
                capture_output=True,
                text=True,
                env={**os.environ, "PATH": path},
            )
            assert links.returncode == 0, links
            (bin_dir / "ds01").symlink_to(launcher)
            yield Server(world, config, state, log, entry, bin_dir, user, session_tag)
            _remove_users_objects(docker_env, user)
    finally:
        rule_file.unlink(missing_ok=True)
        shutil.rmtree(world, ignore_errors=True)


def _remove_users_objects(client, user: Identity) -> None:
    for c in client.api.containers(all=True, filters={"label": f"ds01.user={user.name}"}):
        client.api.remove_container(c["Id"], force=True, v=True)
    for image in client.api.images(filters={"label": f"ds01.user={user.name}"}):
        for tag in image.get("RepoTags") or []:
            client.api.remove_image(tag, force=True)


def test_a_student_outside_the_docker_group_works_through_sudo_only(server: Server, docker_env, base_image):
    user, tag = server.user, server.tag

    # No Docker for the student: the socket refuses them.
    probe = subprocess.run(
        [
            "runuser",
            "-u",
            user.name,
            "--",
            "/usr/bin/python3",
            "-c",
            f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({SOCKET!r})",
        ],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert probe.returncode != 0 and "PermissionError" in probe.stderr, probe

    box = f"{tag}box"
    created = server.run("container-create", box, "--image", base_image)
    assert created.returncode == 0, created
    listed = server.run("container-list", "--json")
    assert listed.returncode == 0, listed
    assert [c["name"] for c in json.loads(listed.stdout)] == [box]

    ran = server.run("container-run", box, input="id -u\nid -g\n")
    assert ran.returncode == 0, ran
    assert [str(user.uid), str(user.gid)] == [line for line in ran.stdout.split() if line.isdigit()][:2], ran

    proj = f"{tag}img"
    image = server.run(
        "image-create",
        proj,
        "--base-image",
        base_image,
        "--use-case",
        "custom",
        "--no-jupyter",
        "--no-data-science",
        "--packages",
        "rich",
        "--yes",
    )
    assert image.returncode == 0, image
    assert docker_env.api.images(filters={"label": [f"ds01.user={user.name}", f"ds01.project={proj}"]}), image

    proj2 = f"{tag}prj"
    init = server.run(
        "project-init",
        proj2,
        "--base-image",
        base_image,
        "--use-case",
        "custom",
        "--no-jupyter",
        "--no-data-science",
        "--yes",
    )
    assert init.returncode == 0, init
    assert (user.home / "workspace" / proj2 / "README.md").stat().st_uid == user.uid

    # Root's ledger, logs and state stay root's.
    for folder in (server.state, server.log):
        for path in [folder, *folder.rglob("*")]:
            st = path.stat()
            assert st.st_uid == 0 and not st.st_mode & 0o022, path

    containers = docker_env.api.containers(all=True, filters={"label": f"ds01.user={user.name}"})
    assert len(containers) == 2, containers
    for summary in containers:
        attrs = docker_env.api.inspect_container(summary["Id"])
        host, cfg = attrs["HostConfig"], attrs["Config"]
        name = attrs["Name"]
        assert cfg["User"] == f"{user.uid}:{user.gid}", name
        assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd"), name
        assert any(opt.startswith("no-new-privileges") for opt in host.get("SecurityOpt") or []), name
        assert host["Privileged"] is False, name
        for mode in ("NetworkMode", "PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode"):
            assert (host.get(mode) or "") != "host", (name, mode)
        assert not host.get("Devices"), name
        labels = cfg["Labels"]
        assert labels["ds01.user"] == user.name and labels["ds01.uid"] == str(user.uid), name
        assert labels["aime.mlc.USER"] == user.name and labels["ds01.gpu.slots"], name


def test_the_student_cannot_hand_root_a_config_or_skip_the_rule(server: Server, tmp_path):
    user = server.user
    evil = user.home / "unlimited.yaml"
    evil.write_text(EVIL.format(topology=TOPOLOGY))
    os.chown(evil, user.uid, user.gid)

    # Their own config says secure too, so ds01 goes through sudo, which drops DS01_CONFIG: the
    # entry point's config rules.
    shown = server.run("ds01", "limits", "show", user.name, "--json", env={"DS01_CONFIG": str(evil)})
    assert shown.returncode == 0, shown
    assert json.loads(shown.stdout)["limits"]["max_mig_instances"] == 2

    # sudo itself refuses to keep their environment for the entry point.
    keep = subprocess.run(
        [
            "runuser",
            "-u",
            user.name,
            "--",
            "env",
            f"DS01_CONFIG={evil}",
            "sudo",
            "-n",
            "-E",
            "--",
            str(server.entry),
            "ds01",
            "limits",
            "show",
            user.name,
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=user.home,
    )
    assert keep.returncode != 0 and "max_mig_instances" not in keep.stdout, keep

    # An entry point with no rule: one sentence, exit 3.
    refused = server.run("container-list", env={"DS01_SECURE_ENTRY": str(server.world / "other-entry")})
    assert refused.returncode == 3, refused
    assert "ask an admin to run `ds01 admin sudoers`" in refused.stderr
