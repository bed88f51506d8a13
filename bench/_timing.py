"""Timing helpers shared by the benchmark scripts (``python bench/<name>.py`` puts this folder on sys.path)."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any


def compile_package() -> None:
    """Write the bytecode of every ds01 module, as an installed package has it: with
    ``PYTHONDONTWRITEBYTECODE`` set (or a tree just edited), each process would otherwise compile
    every changed module again and the figures would measure the compiler."""
    import compileall
    from pathlib import Path

    import ds01

    compileall.compile_dir(str(Path(ds01.__file__).parent), quiet=1)


def run_once(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one whole process (interpreter start included); it must succeed."""
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def median_run(argv: list[str], env: dict[str, str] | None, runs: int) -> float:
    return statistics.median(run_once(argv, env) for _ in range(runs))


def median_call(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
