"""`container run` through a real pseudo-terminal: a shell as the user, a command, exit, hold notice."""

from __future__ import annotations

import json
import os

from support.cli import ds01_executable, run_process


def test_run_opens_a_shell_and_the_last_exit_stops_and_holds(cenv, docker_env, base_image):
    import pexpect

    name = cenv.name("pty-run")
    env = {**os.environ, **cenv.caller("alice"), "TERM": "xterm"}
    r = run_process(
        "container", "create", name, "--image", base_image, "-w", str(cenv.workspace("alice")), env=cenv.caller("alice")
    )
    assert r.exit_code == 0, r
    child = pexpect.spawn(ds01_executable(), ["container", "run", name], env=env, encoding="utf-8", timeout=60)
    child.expect("Opening a shell")
    child.expect(r"\$ ")  # the shell is ready
    child.sendline("id -un; echo made-$((6*7)) > /workspace/pty.txt; echo done-$((1+1))")
    child.expect("done-2")
    child.sendline("exit 5")
    child.expect("stopped \\(last shell closed\\)")
    child.expect("stays held for you")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5
    assert (cenv.workspace("alice") / "pty.txt").read_text() == "made-42\n"
    entries = json.loads(run_process("container", "list", "--json", env=cenv.caller("alice")).stdout)
    (mine,) = [e for e in entries if e["name"] == name]
    assert mine["status"] == "stopped" and mine["held_until"]
    assert run_process("container", "cleanup", name, env=cenv.caller("alice")).exit_code == 0


def test_missing_name_opens_a_picker_on_a_terminal(cenv, docker_env, base_image):
    import pexpect

    name = cenv.name("pty-pick")
    env = {**os.environ, **cenv.caller("bob")}
    assert (
        run_process(
            "container",
            "create",
            name,
            "--image",
            base_image,
            "-w",
            str(cenv.workspace("bob")),
            "--gpus",
            "0",
            env=cenv.caller("bob"),
        ).exit_code
        == 0
    )
    child = pexpect.spawn(ds01_executable(), ["container", "start"], env=env, encoding="utf-8", timeout=60)
    child.expect("Which container")
    child.send("\r")  # the only choice
    child.expect(f"Started {name} \\(no GPU\\)")  # a CPU-only container: not "GPU slot none"
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert run_process("container", "cleanup", name, "--force", env=cenv.caller("bob")).exit_code == 0


def test_create_asks_for_the_image_before_the_spinner_starts(cenv, docker_env, base_image, tmp_path):
    """On a colour terminal `create` shows a spinner; the image picker must come before it."""
    import pexpect

    repo = tmp_path / "ml_images.repo"
    repo.write_text(f"Busybox, 1.0, [CUDA_AMPERE], {base_image}\n")
    cenv.rewrite(extra=f"images:\n  aime_catalog: {repo}\n")
    name = cenv.name("pty-ask")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(cenv.caller("alice"), TERM="xterm")
    child = pexpect.spawn(
        ds01_executable(),
        ["container", "create", name, "-w", str(cenv.workspace("alice"))],
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    child.expect("Image for the container")
    # The picker lists the images alice may use (here the offline base, allowed and in the catalog)
    # and last a framework from the catalog: up from the first entry wraps to it.
    child.send("\x1b[A")
    child.send("\r")
    child.expect("Framework:")
    child.send("\x1b[A")  # up from the first entry wraps to the last: Busybox
    child.send("\r")
    child.expect("Version:")
    asked = child.before
    child.send("\r")
    child.expect(f"Container {name} created")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    # No spinner frame (braille dots) was drawn while the questions were on the screen.
    assert not any("\u2800" <= ch <= "\u28ff" for ch in asked), asked
    assert run_process("container", "cleanup", name, env=cenv.caller("alice")).exit_code == 0


def test_dry_run_asks_for_the_image_then_shows_the_plan(cenv, docker_env, base_image, tmp_path):
    """`create --dry-run` with no image asks the same picker, and the plan shows the answer;
    nothing is made."""
    import pexpect

    repo = tmp_path / "ml_images.repo"
    repo.write_text(f"Busybox, 1.0, [CUDA_AMPERE], {base_image}\n")
    cenv.rewrite(extra=f"images:\n  aime_catalog: {repo}\n")
    name = cenv.name("pty-dry")
    env = {**os.environ, **cenv.caller("alice"), "TERM": "xterm", "NO_COLOR": "1", "COLUMNS": "200"}
    child = pexpect.spawn(
        ds01_executable(),
        ["container", "create", name, "-w", str(cenv.workspace("alice")), "--dry-run"],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 200),
    )
    child.expect("Image for the container")
    child.send("\x1b[A")  # up from the first entry wraps to the last: a framework from the catalog
    child.send("\r")
    child.expect("Framework:")
    child.send("\x1b[A")  # the last framework: Busybox (this catalog's row)
    child.send("\r")
    child.expect("Version:")
    child.send("\r")
    child.expect("dry run, nothing changed")
    child.expect(f"image +{base_image} \\(catalog\\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert cenv.active_rows() == [] and not docker_env.api.containers(all=True, filters={"name": name})


def test_picker_with_nothing_to_pick_says_what_is_missing(cenv, docker_env):
    import pexpect

    env = {**os.environ, **cenv.caller("carl")}
    child = pexpect.spawn(ds01_executable(), ["container", "stop"], env=env, encoding="utf-8", timeout=60)
    child.expect("You have no running containers to choose from")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


def test_deploy_reports_after_the_spinner_and_points_nowhere_else(cenv, docker_env, base_image):
    import pexpect

    name = cenv.name("pty-dep")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(cenv.caller("alice"), TERM="xterm")
    child = pexpect.spawn(
        ds01_executable(),
        ["container", "deploy", name, "--image", base_image, "--gpus", "0", "-w", str(cenv.workspace("alice"))],
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    child.expect(r"\$ ")  # the shell deploy opened
    shown = child.before
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    (line,) = [x for x in shown.splitlines() if f"Container {name} created" in x]
    assert not any("\u2800" <= ch <= "\u28ff" for ch in line), line  # not drawn behind a spinner frame
    assert f"ds01 container run {name}" not in shown  # deploy opens the shell itself
    assert run_process("container", "cleanup", name, env=cenv.caller("alice")).exit_code == 0
