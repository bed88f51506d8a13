"""Run ds01 command lines in-process (fast) or as a real subprocess (for argv[0], signals)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self) -> str:  # shown by pytest on failure
        return f"Result(exit={self.exit_code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def invoke(*args: str, env: dict[str, str] | None = None, prog: str = "ds01", input: str | None = None) -> Result:
    from ds01.cli import run

    runner = CliRunner()
    with runner.isolation(input=input, env=env) as streams:
        out, err = streams[0], streams[1]
        code = run(list(args), prog=prog)
    return Result(code, out.getvalue().decode(), err.getvalue().decode())


def ds01_executable() -> str:
    candidate = Path(sys.executable).parent / "ds01"
    return str(candidate)


def run_process(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    executable: str | None = None,
    input: str | None = None,
) -> Result:
    """Run the installed ``ds01`` (or ``executable``, e.g. a symlink) as a subprocess."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [executable or ds01_executable(), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
