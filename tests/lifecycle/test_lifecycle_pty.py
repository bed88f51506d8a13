"""A lifecycle warning reaches the terminal of a shell open in the container (a real pty)."""

from __future__ import annotations

import os
import time

from support.cli import ds01_executable, run_process


def test_warning_is_written_to_the_open_shell(lenv, docker_env, base_image):
    import pexpect

    from ds01 import paths
    from ds01.limits.config import load_config
    from ds01.orchestrators.lifecycle import run_pass

    lenv.rewrite(runtime="2h", warning="3h")  # within the warning time from the start
    name = lenv.name("pty-warn")
    r = run_process(
        "container", "create", name, "--image", base_image, "-w", str(lenv.workspace("alice")), env=lenv.caller("alice")
    )
    assert r.exit_code == 0, r
    env = {**os.environ, **lenv.caller("alice"), "TERM": "xterm"}
    child = pexpect.spawn(ds01_executable(), ["container", "run", name], env=env, encoding="utf-8", timeout=60)
    try:
        child.expect(r"\$ ")  # the shell is ready
        report = run_pass(
            load_config(paths.config_path()), now=time.time, stop_timeout=1, only=lambda n: lenv.tag in n
        )  # the engine is shared: this test's containers only
        assert [e["container"] for e in report.warned] == [lenv.docker_name("pty-warn", "alice")], report
        child.expect(rf"\[ds01\] Your container {name} will be stopped in (2h|1h5)")
        child.expect("runtime limit", timeout=5)
        child.expect("max_runtime cannot be extended", timeout=5)
        child.sendline("exit 0")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
