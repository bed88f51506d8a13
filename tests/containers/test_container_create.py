"""`container create` against the real engine: Docker parameters, refusals leave nothing, dry run."""

from __future__ import annotations

import io
import json
from pathlib import Path

from conftest import tagged
from ds01.base.names import split_docker_name
from ds01.records import replace


def _prefixed(client, prefix: str) -> list[str]:
    names = [n.lstrip("/") for c in client.api.containers(all=True) for n in c.get("Names") or []]
    return sorted(n for n in names if n.startswith(prefix))


def test_create_applies_limits_gpu_and_records_everything(cli, cenv, as_user, docker_env, base_image):
    as_user("alice")
    ws = cenv.workspace("alice")
    name = cenv.name("cr-full")
    r = cli("container", "create", name, "--image", base_image, "-w", str(ws), "--json")
    assert r.exit_code == 0, r
    out = json.loads(r.stdout)
    assert out["docker_name"] == cenv.docker_name("cr-full", "alice") and len(out["slots"]) == 1
    attrs = docker_env.api.inspect_container(out["docker_name"])
    host, labels = attrs["HostConfig"], attrs["Config"]["Labels"]
    # The Docker parameters are exactly what `limits show --docker-args` promises.
    shown = cli("limits", "show", "alice", "--docker-args").stdout.split()
    expected = dict(a.removeprefix("--").split("=", 1) for a in shown)
    from ds01.limits.units import parse_size

    assert host["NanoCpus"] == int(float(expected["cpus"]) * 1e9)
    assert host["Memory"] == parse_size(expected["memory"], key="m")
    assert host["MemorySwap"] == parse_size(expected["memory-swap"], key="m")
    assert host["ShmSize"] == parse_size(expected["shm-size"], key="m")
    assert host["PidsLimit"] == int(expected["pids-limit"])
    assert host["CgroupParent"] == expected["cgroup-parent"] == "ds01-student.slice"
    assert host["NetworkMode"] == "none" and host["RestartPolicy"]["Name"] == "no"
    assert host["Privileged"] is False and not host.get("DeviceRequests")  # simulated: no device request
    assert f"NVIDIA_VISIBLE_DEVICES={out['uuids'][0]}" in attrs["Config"]["Env"]
    assert labels["ds01.gpu.slots"] == out["slots"][0] and labels["ds01.gpu.uuids"] == out["uuids"][0]
    assert labels["ds01.group"] == "student" and labels["ds01.project"] == name
    assert labels["aime.mlc.GPUS"] == out["slots"][0]
    # Ledger: one confirmed row under the full Docker name; the definition is saved.
    assert cenv.active_rows() == [(out["slots"][0], out["docker_name"], "alice", 1, None)]
    defn = json.loads(Path(out["definition"]).read_text())
    assert defn["name"] == name and defn["ds01"]["gpu_count"] == 1 and defn["image"] == base_image
    # A second create of the same name is refused before anything is allocated.
    again = cli("container", "create", name, "--image", base_image, "-w", str(ws))
    assert again.exit_code == 2 and "already have a container" in again.stderr
    assert len(cenv.active_rows()) == 1
    assert cli("container", "cleanup", name, "--force").exit_code == 0
    assert cenv.active_rows() == [] and _prefixed(docker_env, name) == []


def test_dry_run_shows_the_plan_and_changes_nothing(cli, cenv, as_user, docker_env, base_image):
    as_user("alice")
    ws = cenv.workspace("alice")
    name = cenv.name("cr-dry")
    r = cli("container", "create", name, "--image", base_image, "-w", str(ws), "--dry-run", "--json")
    assert r.exit_code == 0, r
    plan = json.loads(r.stdout)
    assert plan["slots"] == ["0:0"] and plan["uuids"][0].startswith("MIG-") and plan["refusal"] is None
    assert "--cgroup-parent=ds01-student.slice" in plan["docker_args"] and plan["resources"]["pids_limit"] == 200
    assert plan["limits"]["memory"] == "256m" and plan["containers"] == {"now": 0, "max": 3}
    text = cli("container", "create", name, "--image", base_image, "-w", str(ws), "--dry-run")
    assert "dry run, nothing changed" in text.stdout and "GPU slots    0:0" in text.stdout
    assert _prefixed(docker_env, name) == [] and not cenv.db.exists()


def test_refusals_leave_nothing_behind(cli, cenv, as_user, docker_env, base_image):
    as_user("bob")
    ws = cenv.workspace("bob")
    prefix = cenv.name("cr-ref")
    # max_gpus_per_container (2): refused before allocating (exit 3).
    r = cli("container", "create", f"{prefix}-a", "--image", base_image, "-w", str(ws), "--gpus", "3")
    assert r.exit_code == 3 and "at most 2 GPU" in r.stderr
    # max_mig_instances (2): the second container asking for 2 more is refused by the allocator (exit 3).
    assert cli("container", "create", f"{prefix}-b", "--image", base_image, "-w", str(ws), "--gpus", "2").exit_code == 0
    r = cli("container", "create", f"{prefix}-c", "--image", base_image, "-w", str(ws))
    assert r.exit_code == 3, r
    # max_containers_per_user (3): CPU-only containers count too.
    assert cli("container", "create", f"{prefix}-d", "--image", base_image, "-w", str(ws), "--gpus", "0").exit_code == 0
    assert cli("container", "create", f"{prefix}-e", "--image", base_image, "-w", str(ws), "--gpus", "0").exit_code == 0
    r = cli("container", "create", f"{prefix}-f", "--image", base_image, "-w", str(ws), "--gpus", "0")
    assert r.exit_code == 3 and "limit is 3" in r.stderr
    assert _prefixed(docker_env, prefix) == sorted(cenv.docker_name(f"cr-ref-{x}", "bob") for x in "bde")
    assert sorted(row[1] for row in cenv.active_rows()) == [cenv.docker_name("cr-ref-b", "bob")] * 2
    # A CPU-only container holds nothing and sees no GPU.
    env = docker_env.api.inspect_container(cenv.docker_name("cr-ref-d", "bob"))["Config"]["Env"]
    assert "NVIDIA_VISIBLE_DEVICES=void" in env
    assert cli("container", "cleanup", f"{prefix}-b", f"{prefix}-d", f"{prefix}-e").exit_code == 0
    assert _prefixed(docker_env, prefix) == [] and cenv.active_rows() == []


def test_no_capacity_exits_4_and_leaves_nothing(cli, cenv, as_user, docker_env, base_image):
    one_slot = "gpus:\n  - name: NVIDIA A100-PCIE-40GB\n    memory: 40g\n    mig: null\n"
    cenv.rewrite(topology=one_slot)
    prefix = cenv.name("cr-cap")
    as_user("alice")
    assert (
        cli("container", "create", f"{prefix}-a", "--image", base_image, "-w", str(cenv.workspace("alice"))).exit_code
        == 0
    )
    as_user("bob")
    r = cli("container", "create", f"{prefix}-b", "--image", base_image, "-w", str(cenv.workspace("bob")))
    assert r.exit_code == 4, r
    assert "slot 0: alice" in r.stderr
    assert _prefixed(docker_env, prefix) == [cenv.docker_name("cr-cap-a", "alice")]
    assert [row[1] for row in cenv.active_rows()] == [cenv.docker_name("cr-cap-a", "alice")]
    # The dry run says what would happen, with the same exit status as the real thing.
    d = cli(
        "container",
        "create",
        f"{prefix}-b",
        "--image",
        base_image,
        "-w",
        str(cenv.workspace("bob")),
        "--dry-run",
        "--json",
    )
    assert d.exit_code == 0 and json.loads(d.stdout)["refusal"]
    as_user("alice")
    assert cli("container", "cleanup", f"{prefix}-a").exit_code == 0


def test_a_create_waiting_for_a_slot_says_so_without_a_terminal(cli, cenv, as_user, docker_env, base_image):
    """A script's or cron's log tells what a ``--wait`` create waited for, as the spinner does."""
    one_slot = "gpus:\n  - name: NVIDIA A100-PCIE-40GB\n    memory: 40g\n    mig: null\n"
    cenv.rewrite(topology=one_slot)
    prefix = cenv.name("cr-wait")
    as_user("alice")
    ws = str(cenv.workspace("alice"))
    assert cli("container", "create", f"{prefix}-a", "--image", base_image, "-w", ws).exit_code == 0
    as_user("bob")
    r = cli(
        "container", "create", f"{prefix}-b", "--image", base_image, "-w", str(cenv.workspace("bob")), "--wait", "1s"
    )
    assert r.exit_code == 4, r
    lines = r.stderr.splitlines()
    assert lines[0] == f"Creating container {prefix}-b…"
    assert any(line.startswith("Allocating 1 GPU slot(s) (waiting up to 1s") for line in lines), lines
    assert any("Waiting up to 1s for a GPU slot" in line for line in lines), lines
    assert any(line.startswith("error: ") and "None freed within 1s" in line for line in lines), lines
    assert _prefixed(docker_env, prefix) == [cenv.docker_name("cr-wait-a", "alice")]
    as_user("alice")
    assert cli("container", "cleanup", f"{prefix}-a").exit_code == 0


def test_each_step_of_a_create_without_a_terminal_is_one_line(cli, cenv, as_user, docker_env, base_image):
    """A script's log shows each step once: the heading "Creating container X…" is not printed
    again when the create reaches that step after allocating its GPU slot."""
    as_user("alice")
    ws = str(cenv.workspace("alice"))
    first, second = cenv.name("cr-lines-a"), cenv.name("cr-lines-b")
    r = cli("container", "create", first, "--image", base_image, "-w", ws)
    assert r.exit_code == 0, r
    steps = [line for line in r.stderr.splitlines() if line.endswith("…")]
    assert steps == [f"Creating container {first}…", "Allocating 1 GPU slot(s)…"], r.stderr
    assert cli("container", "cleanup", first, "--force").exit_code == 0
    r = cli("mlc", "create", second, "--image", base_image, "-w", ws)
    assert r.exit_code == 0, r
    steps = [line for line in r.stderr.splitlines() if line.endswith("…")]
    assert steps == [f"Creating container {second}…", "Allocating 1 GPU slot(s)…"], r.stderr
    assert cli("mlc", "remove", second, "-f").exit_code == 0
    assert _prefixed(docker_env, first) == _prefixed(docker_env, second) == []


def test_failure_after_allocation_releases_it(cli, cenv, as_user, docker_env, base_image):
    """A Docker-side failure after the slot was recorded: the slot is released, nothing remains."""
    as_user("alice")
    name = cenv.name("cr-clash")
    # A container with the Docker name ds01 will use, but not an mlc container (so the plan cannot see it).
    squatter = docker_env.containers.create(base_image, ["true"], name=cenv.docker_name("cr-clash", "alice"))
    try:
        r = cli("container", "create", name, "--image", base_image, "-w", str(cenv.workspace("alice")))
        assert r.exit_code == 2 and "already exists" in r.stderr, r
        assert cenv.active_rows() == []
        assert [c.id for c in tagged(docker_env, name)] == [squatter.id]
        log = (cenv.root / "log" / "gpu-allocations.log").read_text()
        assert "|allocate|alice|" in log and "|release|alice|" in log and "create failed" in log
    finally:
        squatter.remove(force=True)


def test_image_choice_default_project_image_and_script_mode(cli, cenv, as_user, docker_env, base_image):
    as_user("alice")
    ws = str(cenv.workspace("alice"))
    name = cenv.name("cr-img")
    r = cli("container", "create", name, "-w", ws)
    assert r.exit_code == 2 and "--image" in r.stderr and f"ds01 image create {name}" in r.stderr
    assert "Creating" not in r.stderr  # refused before anything is announced
    r = cli("container", "create", name, "--image", f"{cenv.tag}-missing:none", "-w", ws)
    assert r.exit_code == 2 and "not on this server" in r.stderr
    assert cenv.active_rows() == []
    docker_env.images.get(base_image).tag(f"{name}-image", "latest")
    try:
        r = cli("container", "create", name, "-w", ws, "--gpus", "0", "--json")
        assert r.exit_code == 0, r
        assert json.loads(r.stdout)["image"] == f"{name}-image" and json.loads(r.stdout)["image_source"] == "project"
        assert cli("container", "cleanup", name).exit_code == 0
    finally:
        docker_env.images.remove(f"{name}-image:latest")


def test_the_unit_offers_images_with_their_verdicts_and_never_asks(
    cli, cenv, as_user, docker_env, base_image, tmp_path
):
    """``image_choices`` lists what a request without an image may take, each with the verdict of
    ``policy.images`` (own project images first); ``create`` itself asks nothing: without a choice it
    refuses (exit 2) before allocating, and with the choice passed back as ``--image`` or FRAMEWORK
    VERSION it creates."""
    from ds01.errors import UsageError
    from ds01.identity import Identity
    from ds01.limits.config import load_config
    from ds01.units.containers import create as unit

    repo = tmp_path / "ml_images.repo"
    repo.write_text(f"Busybox, 1.0, [CUDA_AMPERE], {base_image}\n")
    cenv.rewrite(extra=f"images:\n  aime_catalog: {repo}\n")
    as_user("alice")
    uid = cenv.uid("alice")
    owner = Identity(name="alice", uid=uid, gid=uid, home=cenv.root, via_sudo=True)
    config = load_config(cenv.config)
    req = unit.CreateRequest(name=cenv.name("cr-offer"), owner=owner, gpus=1, workspace=cenv.workspace("alice"))
    choices = unit.image_choices(config, req)
    assert choices is not None and choices.default == f"{req.name}-image"
    offered = {c.ref: c.why for c in choices.images}
    assert offered[base_image] == "catalog"  # the offline base is this catalog's image
    catalog = unit.catalog_choices(config)
    assert "Busybox" in catalog.frameworks() and catalog.versions("busybox") == ["1.0"]
    try:
        unit.create(config, req)
    except UsageError as refused:
        assert str(refused) == choices.missing
    else:
        raise AssertionError("create chose an image by itself")
    assert cenv.active_rows() == [] and _prefixed(docker_env, cenv.docker_name("cr-offer", "alice")) == []
    assert unit.image_choices(config, replace(req, image=base_image)) is None  # a flag settles it
    made = unit.create(config, replace(req, framework="busybox", version="1.0", gpus=0))
    assert made.plan.image_source == "catalog" and made.plan.spec.image == base_image
    assert cli("container", "cleanup", req.name, "--force").exit_code == 0


def test_without_a_terminal_a_missing_answer_is_named(cli, cenv, as_user, docker_env, base_image, tmp_path):
    """--script: FRAMEWORK without VERSION and a dry run that would need the picker both exit 2 with
    what to pass, before anything is allocated; a name already taken is refused before either."""
    repo = tmp_path / "ml_images.repo"
    repo.write_text(f"Busybox, 1.0, [CUDA_AMPERE], {base_image}\n")
    cenv.rewrite(extra=f"images:\n  aime_catalog: {repo}\n")
    as_user("alice")
    ws = str(cenv.workspace("alice"))
    name = cenv.name("cr-ask")
    r = cli("container", "create", name, "busybox", "-w", ws, "--script")
    assert r.exit_code == 2 and "A VERSION is required" in r.stderr and "Creating" not in r.stderr, r
    r = cli("container", "create", name, "-w", ws, "--dry-run", "--script")
    assert r.exit_code == 2 and f"ds01 image create {name}" in r.stderr, r
    assert cenv.active_rows() == [] and _prefixed(docker_env, cenv.docker_name("cr-ask", "alice")) == []
    assert cli("container", "create", name, "--image", base_image, "-w", ws, "--gpus", "0").exit_code == 0
    r = cli("container", "create", name, "-w", ws, "--dry-run", "--script")
    assert r.exit_code == 2 and "already have a container" in r.stderr, r
    assert cli("container", "cleanup", name, "--force").exit_code == 0


def test_a_catalog_image_by_its_aimehub_ref_is_usable_without_being_listed(
    cli, cenv, as_user, docker_env, base_image, tmp_path
):
    """`--image` of a catalog row's image is allowed (it is not in allowed_base_images), while an
    image of the same registry that no catalog row names is refused: the rule is the catalog's."""
    ref = f"aimehub/{cenv.tag}-pytorch:2.5.1-aime-cuda12.1.1"
    other = f"aimehub/{cenv.tag}-uncatalogued:1"
    for tag in (ref, other):
        docker_env.images.build(
            fileobj=io.BytesIO(f"FROM {base_image}\nRUN echo {tag}\n".encode()),
            tag=tag,
            rm=True,
            labels={"ds01.test.session": cenv.tag},
        )
    repo = tmp_path / "ml_images.repo"
    repo.write_text(f"Pytorch, 2.5.1, [CUDA_AMPERE], {ref}\n")
    cenv.rewrite(extra=f"images:\n  aime_catalog: {repo}\n")
    as_user("alice")
    ws = str(cenv.workspace("alice"))
    try:
        r = cli("container", "create", cenv.name("cr-cat-no"), "--image", other, "-w", ws)
        assert r.exit_code == 3 and "not one you may use" in r.stderr and cenv.active_rows() == []
        r = cli("container", "create", cenv.name("cr-cat"), "--image", ref, "-w", ws, "--json")
        assert r.exit_code == 0, r
        assert json.loads(r.stdout)["image"] == ref
    finally:
        cli("container", "cleanup", cenv.name("cr-cat"), "--force")
        for tag in (other, ref):
            docker_env.images.remove(tag, force=True)


def test_device_requests_always_carries_the_slot_uuids(cli, cenv, as_user, docker_env, base_image):
    cenv.rewrite(device_requests="always")
    as_user("alice")
    name = cenv.name("cr-dev")
    r = cli(
        "container", "create", name, "--image", base_image, "-w", str(cenv.workspace("alice")), "--gpus", "2", "--json"
    )
    assert r.exit_code == 0, r
    out = json.loads(r.stdout)
    host = docker_env.api.inspect_container(out["docker_name"])["HostConfig"]
    (req,) = host["DeviceRequests"]
    assert req["Driver"] == "nvidia" and req["DeviceIDs"] == out["uuids"] and len(out["uuids"]) == 2
    assert all(u.startswith("MIG-") for u in out["uuids"]) and req["Capabilities"] == [["gpu"]]
    assert cli("container", "cleanup", name).exit_code == 0


def test_bad_input_is_refused_before_allocating(cli, cenv, as_user, docker_env, base_image, tmp_path):
    as_user("alice")
    theirs = cenv.workspace("bob")
    cases = [
        (["bad#name"], "contains '#'"),
        ([cenv.name("cr-bad"), "-w", str(theirs)], "not yours"),  # a policy refusal: exit 3
        ([cenv.name("cr-bad"), "-w", str(tmp_path / "nope")], "cannot be used"),
        ([cenv.name("cr-bad"), "-w", str(cenv.workspace("alice")), "--wait", "10"], "--wait"),
        ([cenv.name("cr-bad"), "ubuntu"], "--image"),
    ]
    for args, text in cases:
        r = (
            cli("container", "create", *args, "--image", base_image)
            if args[1:2] != ["ubuntu"]
            else cli("container", "create", args[0], "--image", base_image, "Pytorch")
        )
        assert r.exit_code == (3 if text == "not yours" else 2) and text in r.stderr, (args, r)
    assert cenv.active_rows() == [] and tagged(docker_env, cenv.name("cr-bad")) == []
    assert split_docker_name(cenv.docker_name("x", "alice"))[1] == 4301
