#!/usr/bin/env python3
"""Memory of root while a build context is packed as the caller and its Dockerfile checked.

    sudo .venv/bin/python bench/build_context.py [--mib N]

Makes a throwaway login whose folder holds a Dockerfile and N MiB (default 200) of data,
then does what ``image create``/``image update`` do before the build: pack the context as
that user (``privsep.run_as``) into root's temporary file and read the Dockerfile back from
it. Prints the growth of root's peak RSS and its ratio to the context's size (target: far
below 1; a context held in root's memory costs 1 per copy). Needs root (a real drop).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=200)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root: the context is packed by a process dropped to another user", file=sys.stderr)
        return 2
    import docker.utils.build  # noqa: F401 - loaded before the first reading, as in a build

    from ds01 import privsep
    from ds01.base import images
    from support.users import make_user

    with make_user("ds01b") as user:
        folder = user.home / "ctx"
        folder.mkdir()
        (folder / "Dockerfile").write_text("FROM scratch\n")
        with open(folder / "data.bin", "wb") as fh:
            for _ in range(args.mib):
                fh.write(os.urandom(1024 * 1024))
        for path in (folder, folder / "Dockerfile", folder / "data.bin"):
            os.chown(path, user.uid, user.gid)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with tempfile.TemporaryFile() as context:
            size = privsep.run_as(user, images.write_context, context.fileno(), folder, "Dockerfile")
            images.dockerfile_from_context(context, "Dockerfile")
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    mib = size / 2**20
    print(f"context {mib:.0f} MiB; root's peak RSS grew {grew:.0f} MiB ({grew / mib:.2f}x the context)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
