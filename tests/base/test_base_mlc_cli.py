"""``ds01 mlc …`` against the real engine: interop with AIME-made containers both ways, list,
start argv, export/import round trip, script mode, and ``open`` through a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import sys

import pytest

from ds01.base import container_spec, engine, sparse
from ds01.base.catalog import ARCHITECTURES
from ds01.identity import Identity

AIME_LIST_KEYS = (
    "aime.mlc",
    "aime.mlc.NAME",
    "aime.mlc.USER",
    "aime.mlc.ARCH",
    "aime.mlc.MLC_VERSION",
    "aime.mlc.WORK_MOUNT",
    "aime.mlc.DATA_MOUNT",
    "aime.mlc.MODELS_MOUNT",
    "aime.mlc.FRAMEWORK",
    "aime.mlc.GPUS",
)


def _aime_made(client, image, name, ws):
    """A container made the way AIME's mlc makes one (raw create, its labels and naming only)."""
    labels = {
        "aime.mlc": "mlcuser",
        "aime.mlc.NAME": name,
        "aime.mlc.USER": "mlcuser",
        "aime.mlc.ARCH": "CUDA_ADA",
        "aime.mlc.MLC_VERSION": "4",
        "aime.mlc.WORK_MOUNT": str(ws),
        "aime.mlc.DATA_MOUNT": "-",
        "aime.mlc.MODELS_MOUNT": "-",
        "aime.mlc.FRAMEWORK": "Pytorch-2.5.0",
        "aime.mlc.GPUS": "all",
    }
    return client.containers.create(
        image,
        ["sleep", "3600"],
        name=f"{name}._.4242",
        labels=labels,
        user="4242:4242",
        working_dir="/workspace",
        volumes={str(ws): {"bind": "/workspace", "mode": "rw"}},
    )


def test_aime_made_container_is_listed_started_stopped_removed(
    cli, docker_env, base_image, session_tag, as_caller, owned_dir
):
    name = f"{session_tag}-aime"
    made = _aime_made(docker_env, base_image, name, owned_dir("ws"))
    listed = json.loads(cli("mlc", "list", "--json").stdout)
    mine = [c for c in listed if c["name"] == name]
    assert len(mine) == 1 and mine[0]["ds01_managed"] is False and mine[0]["framework"] == "Pytorch-2.5.0"
    assert mine[0]["docker_name"] == f"{name}._.4242" and mine[0]["size_rw"] is None
    assert cli("mlc", "start", name).exit_code == 0
    made.reload()
    assert made.status == "running"
    res = cli("mlc", "stop", name)
    assert res.exit_code == 0 and "stopped" in res.stderr
    res = cli("mlc", "remove", name)
    assert res.exit_code == 0 and "removed" in res.stderr
    assert not docker_env.containers.list(all=True, filters={"id": made.id})
    res = cli("mlc", "remove", name)
    assert res.exit_code == 2 and "No container named" in res.stderr


def test_ds01_made_container_carries_what_aime_list_reads(
    cli, docker_env, base_image, session_tag, as_caller, owned_dir
):
    name = f"{session_tag}-mine"
    ws = owned_dir("ws")
    res = cli("mlc", "create", name, "--image", base_image, "-w", str(ws), "--arch", "CUDA_AMPERE", "--json")
    assert res.exit_code == 0, res
    out = json.loads(res.stdout)
    assert out["docker_name"] == f"{name}._.4242" and out["state"] == "created"
    found = docker_env.containers.list(all=True, filters={"label": "aime.mlc=mlcuser", "name": f"{name}._.4242"})
    labels = found[0].labels
    assert all(k in labels for k in AIME_LIST_KEYS)
    assert labels["aime.mlc.MLC_VERSION"] == "4" and labels["aime.mlc.ARCH"] == "CUDA_AMPERE"
    assert labels["aime.mlc.CUSTOM_IMAGE"] == base_image and labels["ds01.group"]
    host = found[0].attrs["HostConfig"]
    assert host["CgroupParent"].startswith("ds01-") and host["NanoCpus"] > 0  # the caller's limits apply
    res = cli("mlc", "create", name, "--image", base_image, "-w", str(ws))
    assert res.exit_code == 2 and "already exists" in res.stderr
    res = cli("mlc", "create", f"{name}-x", "--image", f"{session_tag}/absent:1", "-w", str(ws))
    assert res.exit_code == 2 and f"{session_tag}/absent:1" in res.stderr
    assert cli("mlc", "remove", name).exit_code == 0


def test_start_keeps_command_argv_intact(cli, docker_env, base_image, session_tag, as_caller, owned_dir):
    name = f"{session_tag}-argv"
    assert cli("mlc", "create", name, "--image", base_image, "-w", str(owned_dir("ws"))).exit_code == 0
    res = cli("mlc", "start", name, "printf", "%s|", "a b", "--flag", "c;d", "$HOME")
    assert res.exit_code == 0, res
    assert res.stdout == "a b|--flag|c;d|$HOME|"
    res = cli("mlc", "start", name, "sh", "-c", "exit 7")
    assert res.exit_code == 7
    stats = json.loads(cli("mlc", "stats", "--json").stdout)
    assert [s["name"] for s in stats if s["name"] == name] == [name]
    assert cli("mlc", "remove", "-f", name).exit_code == 0


def test_list_asks_for_sizes_only_with_s(cli, docker_env, base_image, session_tag, as_caller, owned_dir, mocker):
    name = f"{session_tag}-size"
    assert cli("mlc", "create", name, "--image", base_image, "-w", str(owned_dir("ws"))).exit_code == 0
    spy = mocker.patch.object(sparse, "get_json", wraps=sparse.get_json)
    plain = json.loads(cli("mlc", "list", "--json").stdout)
    assert spy.call_count == 1 and spy.call_args.args[2]["size"] == "0"
    sized = json.loads(cli("mlc", "list", "-s", "--json").stdout)
    assert spy.call_args.args[2]["size"] == "1"
    assert next(c for c in plain if c["name"] == name)["size_rw"] is None
    assert next(c for c in sized if c["name"] == name)["size_rw"] is not None
    assert "SIZE" in cli("mlc", "list", "-s", "-a").stdout
    res = cli("mlc", "list", "-au")
    assert res.exit_code == 3 and "admins" in res.stderr
    assert cli("mlc", "remove", name).exit_code == 0


def test_export_import_round_trip(cli, docker_env, base_image, session_tag, as_caller, owned_dir, caller_dir):
    name, ws = f"{session_tag}-exp", owned_dir("ws")
    assert cli("mlc", "create", name, "--image", base_image, "-w", str(ws)).exit_code == 0
    res = cli("mlc", "start", name, "sh", "-c", "echo kept-in-container > /tmp/marker")
    assert res.exit_code == 0, res
    archive = caller_dir / "exp.tar"
    res = cli("mlc", "export", name, str(archive))
    assert res.exit_code == 0, res
    assert archive.stat().st_size > 0 and not list(caller_dir.glob(".exp.tar.*"))
    # Written with the caller's rights: the file is theirs (ds01 runs as root under sudo).
    assert (archive.stat().st_uid, archive.stat().st_mode & 0o777) == (4242, 0o600)
    assert not docker_env.api.images(name="ds01-export")  # the temporary commit is gone
    assert cli("mlc", "remove", "-f", name).exit_code == 0
    # The archive's host path is never mounted; the workspace is chosen by the importer (-w).
    res = cli("mlc", "import", str(archive), f"{name}-back", "-w", str(ws), "--json")
    assert res.exit_code == 0, res
    back = json.loads(res.stdout)
    assert back["docker_name"] == f"{name}-back._.4242" and back["workspace"] == str(ws)
    res = cli("mlc", "start", f"{name}-back", "cat", "/tmp/marker")
    assert res.stdout == "kept-in-container\n"
    res = cli("mlc", "import", str(archive), f"{name}-back")
    assert res.exit_code == 2 and "already exists" in res.stderr
    assert cli("mlc", "remove", "-f", f"{name}-back").exit_code == 0
    bogus = caller_dir / "bogus.tar"
    bogus.write_bytes(b"not a tar")
    res = cli("mlc", "import", str(bogus))
    assert res.exit_code == 2 and "not a ds01 mlc export" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1  # one sentence, not tarfile's list of methods


def test_export_and_import_use_the_callers_rights_not_roots(
    cli, docker_env, base_image, session_tag, as_caller, owned_dir, caller_dir, tmp_path
):
    name = f"{session_tag}-rights"
    assert cli("mlc", "create", name, "--image", base_image, "-w", str(owned_dir("ws"))).exit_code == 0
    root_only = tmp_path / "root-only"
    root_only.mkdir(mode=0o755)
    res = cli("mlc", "export", name, str(root_only / "x.tar"))
    assert res.exit_code == 2 and "Permission denied" in res.stderr, res
    assert list(root_only.iterdir()) == []  # not even a temporary file
    assert not docker_env.api.images(name="ds01-export")
    res = cli("mlc", "export", name, str(caller_dir))
    assert res.exit_code == 2, res
    archive = caller_dir / "mine.tar"
    assert cli("mlc", "export", name, str(archive)).exit_code == 0
    os.chown(archive, 0, 0)  # now someone else's private file
    res = cli("mlc", "import", str(archive), f"{name}-stolen")
    assert res.exit_code == 2 and "Cannot read" in res.stderr, res
    assert not docker_env.api.containers(all=True, filters={"name": f"{name}-stolen"})
    assert cli("mlc", "remove", name).exit_code == 0


@pytest.mark.docker  # reaches the engine through ds01 itself
def test_script_mode_turns_prompts_into_errors(cli, as_caller):
    res = cli("mlc", "create", "-s")
    assert res.exit_code == 2 and "NAME" in res.stderr
    res = cli("mlc", "create", "-s", "ok-name", "--arch", "CUDA_ADA")
    assert res.exit_code == 2 and "FRAMEWORK" in res.stderr


@pytest.mark.docker  # reaches the engine through ds01 itself
def test_missing_arch_lists_the_choices(cli, as_caller, owned_dir):
    res = cli("mlc", "create", "x1", "Pytorch", "2.8.0", "-w", str(owned_dir("ws")))
    assert res.exit_code == 2 and all(a in res.stderr for a in ARCHITECTURES)


def test_version_and_update_sys(cli):
    res = cli("mlc", "--version")
    assert res.exit_code == 0 and res.stdout.startswith("ds01 mlc version ") and "format 4" in res.stdout
    info = json.loads(cli("mlc", "update-sys", "--json").stdout)
    assert info["editable"] is True and info["location"].endswith("ds01") and "update" in info


MLC_USER = {"SUDO_USER": "mlcuser", "SUDO_UID": "4242", "SUDO_GID": "4242"}
DS01 = os.path.join(os.path.dirname(sys.executable), "ds01")


def _made_for_mlcuser(base_image, owned_dir, name):
    """A container of the sudo caller ``mlcuser`` (uid 4242), created but not started."""
    owner = Identity(name="mlcuser", uid=4242, gid=4242, home=owned_dir("home") / "mlcuser")
    engine.create_container(
        container_spec.ContainerSpec(
            name=name, owner=owner, image=base_image, workspace=owned_dir("ws"), custom_image=True
        )
    )
    return owner


def test_open_through_a_real_pty_and_last_shell_stops(docker_env, base_image, session_tag, owned_dir):
    import pexpect

    name = f"{session_tag}-open"
    owner = _made_for_mlcuser(base_image, owned_dir, name)
    child = pexpect.spawn(
        DS01, ["mlc", "open", name], env=dict(os.environ, **MLC_USER, TERM="xterm"), encoding="utf-8", timeout=60
    )
    child.expect(r"\$ ")
    child.sendline("echo answer-$((6*7)) $(id -un)")
    child.expect("answer-42 mlcuser")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not engine.find_container(name, owner).running  # the last shell stopped it
    engine.remove_container(engine.find_container(name, owner))


def test_catalog_image_failed_pull_is_exit_1_and_leaves_nothing(
    cli, docker_env, session_tag, as_caller, owned_dir, tmp_path, monkeypatch
):
    repo = tmp_path / "ml_images.repo"
    repo.write_text(f"Testfw, 1.0, [CUDA_ADA;CUDA_AMPERE], localhost:1/{session_tag}-fw:1.0\n")
    config = tmp_path / "limits.yaml"
    config.write_text(f"images:\n  aime_catalog: {repo}\n")
    monkeypatch.setenv("DS01_CONFIG", str(config))
    name = f"{session_tag}-pull"
    # -g 0: this config has no GPU inventory, and mlc create allocates through the ledger.
    res = cli("mlc", "create", name, "testfw", "1.0", "-w", str(owned_dir("ws")), "--arch", "CUDA_ADA", "-g", "0")
    assert res.exit_code == 1 and "Could not pull image" in res.stderr and "nothing was created" in res.stderr
    assert not docker_env.containers.list(all=True, filters={"name": name})
    res = cli("mlc", "create", name, "Testfw", "2.0", "-w", str(owned_dir("ws")), "--arch", "CUDA_ADA")
    assert res.exit_code == 2 and "available: 1.0" in res.stderr


def test_create_asks_for_missing_arguments_on_a_real_terminal(docker_env, base_image, session_tag, owned_dir, tmp_path):
    import pexpect

    repo = tmp_path / "ml_images.repo"
    repo.write_text(f"Busybox, 1.0, [CUDA_ADA], {base_image}\n")
    config = tmp_path / "limits.yaml"
    config.write_text(f"images:\n  aime_catalog: {repo}\n")
    env = dict(os.environ, SUDO_USER="mlcuser", SUDO_UID="4242", SUDO_GID="4242", TERM="xterm", DS01_CONFIG=str(config))
    exe = os.path.join(os.path.dirname(sys.executable), "ds01")
    # -g 0: this config has no GPU inventory, and mlc create allocates through the ledger.
    child = pexpect.spawn(
        exe,
        ["mlc", "create", "--arch", "CUDA_ADA", "-w", str(owned_dir("ws")), "-g", "0"],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(30, 120),
    )
    name = f"{session_tag}-asked"
    child.expect("Container name")
    child.sendline(name)
    child.expect("Framework")
    child.expect("Busybox")  # packaged frameworks first, then the installed catalog's
    child.send("\x1b[B\x1b[B")  # two down: Pytorch, Tensorflow, Busybox
    child.send("\r")
    child.expect("Version")
    child.send("\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    owner = Identity(name="mlcuser", uid=4242, gid=4242, home=tmp_path)
    info = engine.find_container(name, owner)
    assert info.labels["aime.mlc.FRAMEWORK"] == "Busybox-1.0" and info.image == base_image
    engine.remove_container(info)


def test_open_with_piped_commands_prints_their_output_and_exit_code(docker_env, base_image, session_tag, owned_dir):
    import subprocess

    name = f"{session_tag}-pipe"
    owner = _made_for_mlcuser(base_image, owned_dir, name)
    proc = subprocess.run(
        [DS01, "mlc", "open", name],
        input="echo out-$((6*7))\necho err >&2\nexit 3\n",
        capture_output=True,
        text=True,
        env=dict(os.environ, **MLC_USER),
        timeout=60,
    )
    assert proc.returncode == 3
    assert "out-42" in proc.stdout
    assert "err" in proc.stderr
    engine.remove_container(engine.find_container(name, owner), force=True)


def test_a_hung_up_terminal_still_stops_the_container_after_the_last_shell(
    docker_env, base_image, session_tag, owned_dir
):
    import signal
    import time

    import pexpect

    name = f"{session_tag}-hup"
    owner = _made_for_mlcuser(base_image, owned_dir, name)
    child = pexpect.spawn(
        DS01, ["mlc", "open", name], env=dict(os.environ, **MLC_USER, TERM="xterm"), encoding="utf-8", timeout=60
    )
    child.expect(r"\$ ")
    assert engine.find_container(name, owner).running
    child.kill(signal.SIGHUP)  # what a dropped ssh connection does
    child.expect(pexpect.EOF)
    child.close()
    deadline = time.monotonic() + 20
    while engine.find_container(name, owner).running and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not engine.find_container(name, owner).running
    engine.remove_container(engine.find_container(name, owner), force=True)


def test_archive_policy_takes_user_settings_only():
    import stat

    from ds01.policy import archives

    taken = archives.allowed_settings(
        {
            "format": 1,
            "name": "x",
            "network_mode": "host",
            "restart_policy": "always",
            "limits": {"cgroup_parent": "/"},
            "env": {"NVIDIA_VISIBLE_DEVICES": "all", "DS01_STATE_DIR": "/tmp", "FOO": "bar"},
            "mounts": {"workspace": "/root", "workspace_in_home": "../other/ws", "data": "/srv"},
        }
    )
    assert taken.name == "x" and taken.env == {"FOO": "bar"} and taken.workspace is None
    assert {"network_mode", "restart_policy", "limits", "env NVIDIA_VISIBLE_DEVICES", "mount data"} <= set(
        taken.ignored
    )
    assert str(archives.allowed_settings({"mounts": {"workspace_in_home": "workspace/p"}}).workspace) == "workspace/p"
    assert archives.source_refusal(stat.S_IFCHR | 0o666, 0) and archives.source_refusal(stat.S_IFIFO | 0o644, 0)
    assert archives.source_refusal(stat.S_IFREG | 0o644, 10, cap=5) and not archives.source_refusal(
        stat.S_IFREG | 0o644, 5, cap=5
    )
    cfg = archives.image_config(
        {
            "config": {
                "Env": ["NVIDIA_VISIBLE_DEVICES=all", "A=1"],
                "Labels": {"ds01.gpu.slots": "0", "aime.mlc": "u", "k": "v"},
            }
        },
        {"ds01.user": "me"},
    )
    assert cfg["config"]["Env"] == ["A=1"] and cfg["config"]["Labels"] == {"k": "v", "ds01.user": "me"}
    assert (
        archives.manifest_without_tags([{"Config": "c.json", "RepoTags": ["ds01-base:busybox"], "Layers": []}])[0][
            "RepoTags"
        ]
        is None
    )
    assert archives.manifest_refusal([{"Config": "/etc/x", "Layers": []}])
