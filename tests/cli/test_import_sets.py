"""What each command family imports: nothing heavy that it does not use.

Each command runs in a real ``ds01`` process (the entry point, with ``main``'s exit); the set of
modules loaded when it exits is compared with what that family may load. ``import docker``
(requests, urllib3, ssl), ``pynvml``, ``questionary`` (prompt_toolkit) and ``rich.table`` each
cost tens of milliseconds on every run of the commands people type most.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ds01.base.docker_client import _parse_response
from ds01.cli.tree import NOUNS, VERB_NAMES, verbs_of

HEAVY = ("pynvml", "docker", "requests", "urllib3", "ssl", "email", "rich.table", "questionary", "prompt_toolkit")

PROBE = (
    "import atexit, json, os, sys\n"
    "atexit.register(lambda: open(os.environ['PROBE_OUT'], 'w').write(json.dumps(sorted(sys.modules))))\n"
    "sys.argv = ['ds01', *sys.argv[1:]]\n"
    "from ds01.cli import main\n"
    "main()\n"
)


def loaded(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[set[str], subprocess.CompletedProcess]:
    out = tmp_path / "modules.json"
    run_env = dict(os.environ, NO_COLOR="1", PROBE_OUT=str(out), **(env or {}))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=run_env, capture_output=True, text=True, timeout=120
    )
    assert out.exists(), done.stderr
    return set(json.loads(out.read_text())), done


def heavy(modules: set[str]) -> list[str]:
    return [m for m in HEAVY if m in modules]


def test_help_imports_neither_click_nor_anything_heavy(tmp_path):
    modules, done = loaded(tmp_path, "--help")
    assert done.returncode == 0 and "Usage: ds01" in done.stdout
    assert heavy(modules) == [] and "click" not in modules and "ast" not in modules


def test_limits_show_imports_nothing_heavy(tmp_path):
    modules, done = loaded(tmp_path, "limits", "show", "nobody-in-particular")
    assert done.returncode == 0, done.stderr
    assert heavy(modules) == []


@pytest.mark.docker
@pytest.mark.parametrize("argv", [("container", "list", "--json"), ("mlc", "list", "--json"), ("mlc", "list")])
def test_listings_speak_to_the_engine_without_the_sdk(tmp_path, docker_env, argv):
    sudo = {"SUDO_USER": "importprobe", "SUDO_UID": "4997", "SUDO_GID": "4997"}
    modules, done = loaded(tmp_path, *argv, env=sudo)
    assert done.returncode == 0, done.stderr
    assert heavy(modules) == []


# The probe for the tight sets: it reports sys.modules with builtins only (``json`` would bring ``re``).
BARE_PROBE = (
    "import atexit, os, sys\n"
    "atexit.register(lambda: open(os.environ['PROBE_OUT'], 'w').write('\\n'.join(sorted(sys.modules))))\n"
    "sys.argv = ['ds01', *sys.argv[1:]]\n"
    "from ds01.cli import main\n"
    "main()\n"
)
# What the click-free listings may load of ds01 when the caller has no container: the entry
# point, the listing module and the socket request; container list also the paths and the
# config's stamp (it must know the config is valid).
EMPTY_LISTING_DS01 = {
    "ds01",
    "ds01.cli",
    "ds01.caller",
    "ds01.cli.listings",
    "ds01.jsonlite",
    "ds01.base",
    "ds01.base.labels",
    "ds01.base.sparse",
}
STAMP = {"ds01.paths", "ds01.limits", "ds01.limits.stamp"}
# Each of these costs a listing a large part of its budget (a few times a bare interpreter start).
NOT_ON_A_LISTING = ("click", "yaml", "re", "typing", "dataclasses", "pathlib", "socket", "json", "enum", "sqlite3")


def bare_loaded(tmp_path: Path, *args: str, env: dict[str, str]) -> tuple[set[str], subprocess.CompletedProcess]:
    out = tmp_path / "modules.txt"
    run_env = dict(os.environ, NO_COLOR="1", PROBE_OUT=str(out), **env)
    done = subprocess.run(
        [sys.executable, "-c", BARE_PROBE, *args], env=run_env, capture_output=True, text=True, timeout=120
    )
    assert out.exists(), done.stderr
    return set(out.read_text().split("\n")), done


@pytest.mark.docker
@pytest.mark.parametrize(
    ("argv", "stdout", "stderr", "allowed"),
    [
        (("container", "list", "--json"), "[]\n", "", EMPTY_LISTING_DS01 | STAMP),
        (
            ("container", "ls"),
            "",
            "No containers; create one with `ds01 container create NAME`.\n",
            EMPTY_LISTING_DS01 | STAMP,
        ),
        (("mlc", "list"), "", "No containers; create one with `ds01 mlc create NAME`.\n", EMPTY_LISTING_DS01),
        (("mlc", "list", "-a", "-s", "--json"), "[]\n", "", EMPTY_LISTING_DS01),
    ],
)
def test_an_empty_listing_loads_only_the_entry_point_paths_and_the_request(
    tmp_path, docker_env, argv, stdout, stderr, allowed
):
    """No click, no config parser, nothing of the engine module: and the answer is click's own."""
    env = {
        "SUDO_USER": "importprobe",
        "SUDO_UID": "4997",
        "SUDO_GID": "4997",
        "DS01_STATE_DIR": str(tmp_path / "state"),
    }
    (tmp_path / "state").mkdir()
    first, done = bare_loaded(tmp_path, *argv, env=env)  # container list: validates and stamps the config
    assert (done.returncode, done.stdout, done.stderr) == (0, stdout, stderr)
    modules, done = bare_loaded(tmp_path, *argv, env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, stdout, stderr)
    assert sorted(m for m in modules if m.split(".")[0] == "ds01") == sorted(allowed)
    assert [m for m in NOT_ON_A_LISTING if m in modules] == []
    if "container" in argv:
        assert "click" in first and "yaml" in first  # the first run was click's, which stamps the config


@pytest.mark.docker
@pytest.mark.parametrize("argv", [("container", "list", "--json"), ("container", "list"), ("mlc", "list", "-a")])
def test_a_listing_with_containers_loads_neither_click_nor_the_config(
    tmp_path, docker_env, base_image, session_tag, argv
):
    from dev.engine import TEST_LABEL

    name = f"{session_tag}-probe"
    labels = {"aime.mlc": "importprobe", "aime.mlc.NAME": name, "ds01.user": "importprobe", TEST_LABEL: session_tag}
    made = docker_env.containers.create(base_image, ["true"], name=f"{name}._.4997", labels=labels)
    env = {"SUDO_USER": "importprobe", "SUDO_UID": "4997", "SUDO_GID": "4997", "DS01_STATE_DIR": str(tmp_path)}
    try:
        bare_loaded(tmp_path, *argv, env=env)  # stamps the config
        modules, done = bare_loaded(tmp_path, *argv, env=env)
        assert done.returncode == 0, done.stderr
        assert name in done.stdout
        assert heavy(modules) == []
        assert [m for m in ("click", "yaml", "ds01.limits.config", "ds01.base.engine") if m in modules] == []
    finally:
        made.remove(force=True)


@pytest.mark.docker
def test_mlc_create_from_a_local_image_on_a_simulated_inventory_loads_no_nvml(
    tmp_path, docker_env, base_image, session_tag
):
    ws = tmp_path / "ws"
    ws.mkdir()
    os.chown(ws, 4997, 4997)
    name = f"{session_tag}-imp"
    sudo = {"SUDO_USER": "importprobe", "SUDO_UID": "4997", "SUDO_GID": "4997"}
    try:
        modules, done = loaded(
            tmp_path, "mlc", "create", name, "--image", base_image, "-w", str(ws), "-g", "0", "--script", env=sudo
        )
        assert done.returncode == 0, done.stderr
        assert "pynvml" not in modules and "questionary" not in modules and "rich.table" not in modules
    finally:
        for c in docker_env.containers.list(all=True, filters={"name": f"{name}._.4997"}):
            c.remove(force=True)


# -- the commands that change containers and images, and the views, for a sudo caller ----------

SUDO = {"SUDO_USER": "importprobe", "SUDO_UID": "4997", "SUDO_GID": "4997"}
# What none of these commands may load: the Docker SDK and what it brings, NVML, the prompts,
# and rich's tables (the --json forms print none).
NOT_WITHOUT_THE_SDK = ("docker", "requests", "urllib3", "ssl", "email", "pynvml", "questionary", "rich.table")


def run_light(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    """Run one command as root for the sudo caller; it must succeed and load nothing heavy."""
    modules, done = loaded(tmp_path, *argv, env=SUDO)
    assert done.returncode == 0, (argv, done.stdout, done.stderr)
    assert [m for m in NOT_WITHOUT_THE_SDK if m in modules] == [], argv
    return done


def probe_workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    os.chown(ws, 4997, 4997)
    return ws


def remove_probe_containers(client, name: str) -> None:
    for c in client.containers.list(all=True, filters={"name": f"{name}._.4997"}):
        c.remove(force=True)


# What a CPU-only create from a local image does not use: the allocator and its inputs, the
# ledger (sqlite3), the inventory's slots, the exec module, tarfile (the user setup's archive is
# written by hand), a random token (secrets, hmac), decimal, the image picker and its choices,
# the Dockerfile parser's shlex.
NOT_ON_A_CPU_CREATE = (
    "ds01.gpu.inputs",
    "ds01.gpu.allocator",
    "ds01.gpu.ledger",
    "ds01.gpu.model",
    "ds01.gpu.inventory",
    "ds01.gpu.service",
    "sqlite3",
    "ds01.base.execs",
    "tarfile",
    "secrets",
    "hmac",
    "decimal",
    "shlex",
    "ds01.units.containers.choices",
    "ds01.wizards.container_image",
    "ds01.cli.gpu._common",
    # The config validated by the first create is taken from its stamped record, with the
    # topology's compute capabilities: no YAML is parsed.
    "yaml",
    "ds01.yaml12",
    "ds01.limits.topology",
    # The plain create is answered without click (``cli.creates``).
    "click",
    "ds01.cli.root",
    # write_atomic makes its temporary file itself.
    "tempfile",
    "random",
    # Data classes are ds01.records' and the annotations' names are for type checkers only.
    "dataclasses",
    "inspect",
    "typing",
)


@pytest.mark.docker
@pytest.mark.parametrize(
    ("family", "gpus", "remove"),
    [("mlc", ("-g", "0"), ("remove", "-f")), ("container", ("--gpus", "0"), ("cleanup", "--force"))],
)
def test_a_cpu_only_create_from_a_local_image_loads_only_what_it_uses(
    tmp_path, docker_env, base_image, session_tag, family, gpus, remove
):
    """The second create (the first validated the config and read the image's /etc): a simulated
    inventory's compute capabilities come from the validated config, read once from its topology."""
    ws = str(probe_workspace(tmp_path))
    name = f"{session_tag}-cc{family[0]}"
    env = {**SUDO, "DS01_STATE_DIR": str(tmp_path / "state")}
    (tmp_path / "state").mkdir()
    argv = (family, "create", name, "--image", base_image, "-w", ws, *gpus, "--script")
    try:
        for _ in range(2):
            modules, done = loaded(tmp_path, *argv, env=env)
            assert done.returncode == 0, done.stderr
            assert docker_env.containers.get(f"{name}._.4997").status == "created"
            _, gone = loaded(tmp_path, family, remove[0], name, remove[1], "--script", env=env)
            assert gone.returncode == 0, gone.stderr
        assert heavy(modules) == []
        assert [m for m in NOT_ON_A_CPU_CREATE if m in modules] == []
    finally:
        remove_probe_containers(docker_env, name)


@pytest.mark.docker
def test_container_create_start_stop_retire_and_cleanup_load_no_sdk(tmp_path, docker_env, base_image, session_tag):
    ws = str(probe_workspace(tmp_path))
    name = f"{session_tag}-cl"
    create = ("container", "create", name, "--image", base_image, "-w", ws, "--gpus", "0", "--script")
    try:
        run_light(tmp_path, *create)
        run_light(tmp_path, "container", "start", name)
        stopped = run_light(tmp_path, "container", "stop", name)
        assert f"Stopped {name}" in stopped.stdout + stopped.stderr
        assert docker_env.containers.get(f"{name}._.4997").status == "exited"
        run_light(tmp_path, "container", "stop", name)  # not running: nothing asked of the engine but the listing
        run_light(tmp_path, "container", "start", name)
        run_light(tmp_path, "container", "stop", name, "--force")  # the kill
        run_light(tmp_path, "container", "start", name)
        run_light(tmp_path, "container", "retire", name, "--script")
        assert docker_env.containers.list(all=True, filters={"name": f"{name}._.4997"}) == []
        run_light(tmp_path, *create)
        run_light(tmp_path, "container", "start", name)
        run_light(tmp_path, "container", "cleanup", name, "--force", "--script")  # a running one
        assert docker_env.containers.list(all=True, filters={"name": f"{name}._.4997"}) == []
    finally:
        remove_probe_containers(docker_env, name)


@pytest.mark.docker
def test_mlc_create_start_stop_and_remove_load_no_sdk(tmp_path, docker_env, base_image, session_tag):
    ws = str(probe_workspace(tmp_path))
    name = f"{session_tag}-ml"
    try:
        run_light(tmp_path, "mlc", "create", name, "--image", base_image, "-w", ws, "-g", "0", "--script")
        run_light(tmp_path, "mlc", "start", name)
        run_light(tmp_path, "mlc", "stop", name)
        assert docker_env.containers.get(f"{name}._.4997").status == "exited"
        run_light(tmp_path, "mlc", "start", name)
        run_light(tmp_path, "mlc", "remove", name, "-f", "--script")  # a running one
        assert docker_env.containers.list(all=True, filters={"name": f"{name}._.4997"}) == []
    finally:
        remove_probe_containers(docker_env, name)


# A plain start of the caller's own container: the stamped security mode, one listing, the
# mount check and the start. mlc start needs nothing of paths, config or typing; container start
# (a CPU-only container, nothing to remake) needs neither the config nor the GPU service.
NOT_ON_A_START = (*NOT_WITHOUT_THE_SDK, "click", "yaml", "typing", "dataclasses", "inspect", "ds01.limits.config")
NOT_ON_AN_MLC_START = (*NOT_ON_A_START, "json", "re", "pathlib", "urllib.parse", "ds01.identity")
NOT_ON_A_CONTAINER_START = (*NOT_ON_A_START, "ds01.cli.context", "ds01.gpu.service")


@pytest.mark.docker
def test_a_plain_start_loads_only_what_it_uses(tmp_path, docker_env, base_image, session_tag):
    ws = str(probe_workspace(tmp_path))
    env = {**SUDO, "DS01_STATE_DIR": str(tmp_path / "state")}
    (tmp_path / "state").mkdir()
    names = {family: f"{session_tag}-st{family[0]}" for family in ("mlc", "container")}
    try:
        for family, name in names.items():
            gpus = ("-g", "0") if family == "mlc" else ("--gpus", "0")
            argv = (family, "create", name, "--image", base_image, "-w", ws, *gpus, "--script")
            _, created = loaded(tmp_path, *argv, env=env)
            assert created.returncode == 0, created.stderr
        # The bare probe: the other one writes its report with json, which brings re.
        modules, done = bare_loaded(tmp_path, "mlc", "start", names["mlc"], env=env)
        assert done.returncode == 0 and "started" in done.stderr, done.stderr
        assert [m for m in NOT_ON_AN_MLC_START if m in modules] == []
        modules, done = bare_loaded(tmp_path, "container", "start", names["container"], env=env)
        assert done.returncode == 0 and f"Started {names['container']} (no GPU)." in done.stderr, done.stderr
        assert [m for m in NOT_ON_A_CONTAINER_START if m in modules] == []
        for name in names.values():
            assert docker_env.containers.get(f"{name}._.4997").status == "running"
    finally:
        for name in names.values():
            remove_probe_containers(docker_env, name)


@pytest.mark.docker
def test_the_views_of_a_running_container_load_no_sdk(tmp_path, docker_env, base_image, session_tag):
    """status, gpu status and monitor idle inspect the running container (its cgroup facts,
    its shells) over the socket."""
    ws = str(probe_workspace(tmp_path))
    name = f"{session_tag}-vw"
    try:
        run_light(tmp_path, "container", "create", name, "--image", base_image, "-w", ws, "--gpus", "0", "--script")
        run_light(tmp_path, "container", "start", name)
        status = json.loads(run_light(tmp_path, "status", "--json").stdout)
        assert name in json.dumps(status)
        json.loads(run_light(tmp_path, "gpu", "status", "--json").stdout)
        idle = run_light(tmp_path, "monitor", "idle", "--json").stdout
        assert name in idle
    finally:
        remove_probe_containers(docker_env, name)


@pytest.mark.docker
def test_image_list_and_delete_load_no_sdk(tmp_path, docker_env, base_image, session_tag):
    """The caller's image (ds01's record says it is theirs) with their container on it: listed,
    then deleted with the container."""
    from dev.engine import TEST_LABEL

    from ds01.base import images as docker_images

    project = f"{session_tag}-pi"
    seed = docker_env.containers.create(base_image, ["true"], labels={TEST_LABEL: session_tag})
    try:
        image = seed.commit(
            f"{project}-image",
            "latest",
            changes=[f"LABEL ds01.managed=true ds01.project={project} {TEST_LABEL}={session_tag}"],
        )
    finally:
        seed.remove(force=True)
    docker_images.record_owner(
        image.id, uid=4997, user="importprobe", project=project, labels={}, dockerfile="/nowhere", shared=False
    )
    name = f"{session_tag}-pu"
    labels = {"aime.mlc": "importprobe", "aime.mlc.NAME": name, "ds01.user": "importprobe", TEST_LABEL: session_tag}
    docker_env.containers.create(image.id, ["true"], name=f"{name}._.4997", labels=labels)
    try:
        listed = json.loads(run_light(tmp_path, "image", "list", "--json").stdout)
        assert [(i["name"], i["containers"]) for i in listed] == [(f"{project}-image:latest", [f"{name}._.4997"])]
        deleted = json.loads(run_light(tmp_path, "image", "delete", project, "--force", "--yes", "--json").stdout)
        assert deleted == {"deleted": [f"{project}-image:latest"], "containers_removed": [f"{name}._.4997"]}
        assert docker_env.images.list(name=f"{project}-image") == []
        assert json.loads(run_light(tmp_path, "image", "list", "--json").stdout) == []
    finally:
        remove_probe_containers(docker_env, name)
        docker_images.forget_owner(image.id)
        for img in docker_env.images.list(name=f"{project}-image"):
            docker_env.images.remove(img.id, force=True)


def test_the_verb_table_is_the_packages_verbs():
    """``ds01 --help`` lists the symlinks from ``tree.VERB_NAMES`` instead of reading the packages."""
    assert list(VERB_NAMES) == list(NOUNS)
    for noun in NOUNS:
        assert VERB_NAMES[noun] == tuple(sorted(verbs_of(noun))), (
            f"tree.VERB_NAMES[{noun!r}] is stale: paste `python -m ds01.cli.tree --verb-table`"
        )


@pytest.mark.parametrize(
    "raw",
    [
        b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[{"Id": "a"}]',
        b'HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n[{"Id": "a"}]',
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[{"Id\r\n8\r\n": "a"}]\r\n0\r\n\r\n',
    ],
)
def test_the_listing_reply_is_read_plain_sized_or_chunked(raw):
    status, body = _parse_response(raw, "list containers")
    assert status == 200 and json.loads(body) == [{"Id": "a"}]


def test_a_reply_that_is_not_http_is_one_sentence():
    from ds01.errors import OperationFailed

    with pytest.raises(OperationFailed, match="not HTTP"):
        _parse_response(b"garbage", "list containers")


@pytest.mark.docker
def test_plain_starts_load_neither_click_nor_the_config_parser(tmp_path, docker_env, base_image, session_tag):
    """``mlc start NAME`` and ``container start NAME`` on a stamped config (``cli.starts``): no
    click, no YAML; ``mlc start`` not even the config's module (the stamp holds the mode)."""
    ws = str(probe_workspace(tmp_path))
    name = f"{session_tag}-st"
    env = {**SUDO, "DS01_STATE_DIR": str(tmp_path / "state")}
    (tmp_path / "state").mkdir()
    try:
        run_light(tmp_path, "mlc", "create", name, "--image", base_image, "-w", ws, "-g", "0", "--script")
        for argv, done_text in (
            (("mlc", "start", name), f"Container {name} started."),
            (("container", "start", name), f"{name} was already running (no GPU)."),
            (("mlc", "start", "--script", name), f"Container {name} is already running."),
        ):
            modules, done = loaded(tmp_path, *argv, env=env)
            assert done.returncode == 0, (argv, done.stderr)
            assert done_text in done.stdout + done.stderr, argv
            assert [m for m in ("click", "yaml", "ds01.yaml12", "ds01.cli.root") if m in modules] == [], argv
            assert heavy(modules) == [], argv
            assert "ds01.base.engine" not in modules, argv  # only base.running acts on it
            if argv[0] == "mlc":
                assert "ds01.limits.config" not in modules, argv
        assert docker_env.containers.get(f"{name}._.4997").status == "running"
        # Any other form is click's: a COMMAND after NAME runs in the container.
        modules, done = loaded(tmp_path, "mlc", "start", name, "echo", "from-inside", env=env)
        assert done.returncode == 0 and "from-inside" in done.stdout, done.stderr
        assert "click" in modules
    finally:
        remove_probe_containers(docker_env, name)
