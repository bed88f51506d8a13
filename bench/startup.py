#!/usr/bin/env python3
"""How fast ds01 starts: ``ds01 --version`` and ``ds01 --help`` against a bare interpreter.

    .venv/bin/python bench/startup.py [--runs N]

Runs are interleaved (bare, version, help, bare, ...) so background load affects all
three alike; the median of each is printed with its ratio to the bare interpreter.
Target: at most 2.5x. Also reports which heavy modules ``limits show`` would import.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _timing import run_once

ROOT = Path(__file__).resolve().parent.parent


def ds01_executable() -> str:
    return str(Path(sys.executable).parent / "ds01")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "ds01 --version": [ds01_executable(), "--version"],
        "ds01 --help": [ds01_executable(), "--help"],
    }
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for cmd in cases.values():  # warm the page cache
        run_once(cmd)
    for _ in range(args.runs):
        for name, cmd in cases.items():
            samples[name].append(run_once(cmd))
    bare = statistics.median(samples["python -c pass"])
    print(f"{'command':<18} {'median ms':>10} {'ratio':>7}")
    for name, values in samples.items():
        med = statistics.median(values)
        print(f"{name:<18} {med * 1000:>10.1f} {med / bare:>6.2f}x")
    probe = (
        "import sys; from ds01.cli import run; run(['limits','show','nobody-in-particular']);"
        "heavy=[m for m in ('docker','questionary','pynvml','rich.table','rich.console') if m in sys.modules];"
        "sys.stderr.write('heavy modules imported by limits show: %s\\n' % (heavy or 'none'))"
    )
    env = dict(os.environ, NO_COLOR="1")
    subprocess.run([sys.executable, "-c", probe], stdout=subprocess.DEVNULL, env=env, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
