"""Real, unprivileged host users for attack tests (root only).

``make_user()`` runs ``useradd`` for a fresh login with a home under a world-traversable
folder (pytest's own tmp folders are root-only, so a dropped process could not reach them)
and ``userdel -r`` removes it again. Tests that need it skip, saying why, when not root.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ds01.identity import Identity, lookup

_BASE = Path(tempfile.gettempdir()) / "ds01-test-homes"


def sudo_env(user: Identity) -> dict[str, str]:
    """The environment sudo gives a root process run for ``user``."""
    return {"SUDO_USER": user.name, "SUDO_UID": str(user.uid), "SUDO_GID": str(user.gid)}


@contextmanager
def make_user(prefix: str = "ds01t", groups: tuple[str, ...] = ()) -> Iterator[Identity]:
    """A real login (passwd entry, own group, home owned by it, 0755) for the block."""
    _BASE.mkdir(mode=0o755, exist_ok=True)
    os.chmod(_BASE, 0o755)
    name = f"{prefix}{secrets.token_hex(3)}"
    home = _BASE / name
    argv = ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh", "--user-group"]
    if groups:
        argv += ["--groups", ",".join(groups)]
    subprocess.run([*argv, name], check=True, capture_output=True)
    try:
        os.chmod(home, 0o755)
        ident = lookup(name)
        assert ident is not None
        yield ident
    finally:
        subprocess.run(["userdel", "--remove", "--force", name], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def world_dir(prefix: str = "ds01-world-") -> Path:
    """A root-owned folder every user can traverse (0755), for files a test hands to a user.

    Its name is the prefix and lowercase hex digits, so it is also a valid project name (a
    ``mkdtemp`` suffix may end in ``_``, which a test deriving a project from the folder trips
    on). Removed when the test process ends."""
    _BASE.mkdir(mode=0o755, exist_ok=True)
    while True:
        path = _BASE / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir(mode=0o700)
            break
        except FileExistsError:
            continue
    os.chmod(path, 0o755)
    atexit.register(shutil.rmtree, path, True)
    return path


def run_as_sudo(user: Identity | None, *args: str, timeout: float = 120, input: str | None = None):
    """Run the installed ``ds01`` as ``sudo`` would for ``user`` (root's own HOME, a fresh world
    folder); ``None``: plain root."""
    from support.cli import run_process

    env = {**sudo_env(user), "HOME": str(world_dir("ds01-roothome-"))} if user is not None else {}
    return run_process(*args, env=env, timeout=timeout, input=input)
