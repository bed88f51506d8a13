"""Where ds01 reads its configuration and keeps its state and logs (SPEC §2, §9).

``DS01_CONFIG`` (default ``/opt/ds01-infra/config/resource-limits.yaml``, falling back to
the packaged example), ``DS01_STATE_DIR`` (default ``/var/lib/ds01``) and ``DS01_LOG_DIR``
(default ``/var/log/ds01``). Every consumer asks here; no other module names these paths.

Under sudo (ds01 running as root for another user) an override is honoured only when root
controls the path: root owns it and every folder above it, and the caller can neither write
it nor replace any part of it. Otherwise a student could point root at a config of their own
(granting themselves every GPU) or at a state folder they can edit. Such an override is
ignored, with one warning line, in favour of the installed path; users listed in the
installed config's ``admins`` keep their overrides.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

DEFAULT_CONFIG = Path("/opt/ds01-infra/config/resource-limits.yaml")
DEFAULT_STATE_DIR = Path("/var/lib/ds01")
DEFAULT_LOG_DIR = Path("/var/log/ds01")

Environ = Mapping[str, str]


def packaged_config_dir() -> Path:
    """The ``config/`` folder shipped with ds01 (example config, topologies, catalog)."""
    here = Path(__file__).resolve().parent
    installed = here / "_config"
    if installed.is_dir():
        return installed
    # Source checkout / editable install: the repository's top-level config/.
    return here.parent.parent / "config"


def installed_config_path() -> Path:
    """The config ds01 reads when no override applies."""
    if DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    return packaged_config_dir() / "resource-limits.yaml"


def config_path(environ: Environ | None = None) -> Path:
    explicit = _override("DS01_CONFIG", environ)
    return explicit if explicit is not None else installed_config_path()


def state_dir(environ: Environ | None = None) -> Path:
    explicit = _override("DS01_STATE_DIR", environ)
    return explicit if explicit is not None else DEFAULT_STATE_DIR


def log_dir(environ: Environ | None = None) -> Path:
    explicit = _override("DS01_LOG_DIR", environ)
    return explicit if explicit is not None else DEFAULT_LOG_DIR


# -- overrides under sudo -------------------------------------------------------------------


# Each override is judged once per process: a command keeps the paths it started with, and the
# folder walk, the caller's groups and the installed config's admins are read once, not on every
# call. The key holds everything the verdict depends on but the files themselves; ``forget``
# drops the verdicts (tests change the files between calls).
_verdicts: dict[tuple[str, str, tuple[int, int, str], str], Path | None] = {}


def forget() -> None:
    """Judge every override afresh at its next use."""
    _verdicts.clear()


def _override(name: str, environ: Environ | None) -> Path | None:
    """The path ``name`` names, when it may be used; None means: the installed default."""
    env = os.environ if environ is None else environ
    value = env.get(name)
    if not value:
        return None
    path = Path(value).expanduser()
    caller = sudo_caller(env)
    if caller is None:
        return path
    key = (name, str(path), caller, str(DEFAULT_CONFIG))
    if key not in _verdicts:
        _verdicts[key] = _judge(name, value, path, caller)
    return _verdicts[key]


def _judge(name: str, value: str, path: Path, caller: tuple[int, int, str]) -> Path | None:
    uid, gid, user = caller
    groups = _groups(user, gid)
    if root_controlled(path, uid, groups):
        return Path(os.path.realpath(path))
    if _is_admin(user):
        return path
    sys.stderr.write(
        f"ds01: ignoring {name}={value}: under sudo ds01 uses only paths that root owns and you "
        "cannot change; using the installed one.\n"
    )
    return None


def sudo_caller(environ: Environ | None = None) -> tuple[int, int, str] | None:
    """(uid, gid, name) of the user sudo runs ds01 for, when ds01 is root acting for another user."""
    env = os.environ if environ is None else environ
    if os.geteuid() != 0:
        return None
    user, uid_text = env.get("SUDO_USER"), env.get("SUDO_UID")
    if not user or not uid_text:
        return None
    try:
        uid = int(uid_text)
        gid = int(env.get("SUDO_GID") or uid_text)
    except ValueError:
        # Malformed: treat as a caller with no rights (no override can be proved safe for it).
        return (-1, -1, user)
    if uid == 0:
        return None
    return (uid, gid, user)


def _groups(user: str, gid: int) -> frozenset[int]:
    try:
        return frozenset(os.getgrouplist(user, gid))
    except (KeyError, OSError):
        return frozenset({gid})


def _is_admin(user: str) -> bool:
    """Whether the installed config (never an override) lists ``user`` in ``admins``."""
    try:
        from ds01 import yaml12

        with open(installed_config_path(), encoding="utf-8") as fh:
            data = yaml12.load(fh.read())
    except (OSError, ValueError, ImportError):
        return False
    except Exception:  # noqa: BLE001 - a broken installed config grants nothing
        return False
    admins = data.get("admins") if isinstance(data, dict) else None
    return isinstance(admins, list) and user in [str(a) for a in admins]


def _writable(st: os.stat_result, uid: int | None, groups: frozenset[int]) -> bool:
    """Whether ``uid`` (None: any user but root) may write the object ``st`` describes."""
    if uid is None:
        return bool(st.st_mode & stat.S_IWOTH) or (bool(st.st_mode & stat.S_IWGRP) and st.st_gid != 0)
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IWUSR)
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


def root_controlled(path: Path, uid: int | None = None, groups: frozenset[int] = frozenset()) -> bool:
    """True when only root can change what ``path`` names.

    ``path`` is resolved (symlinks followed; the result is what callers must then use) and
    root must own it and every folder above it; the caller ``uid`` (with ``groups``) — or,
    when ``uid`` is None, every user but root — may write none of them. A sticky folder
    such as ``/tmp`` is allowed above the path: nobody but root can rename or remove the
    root-owned entry inside it. A path that does not exist yet is judged by its nearest
    existing folder, which then must not be writable at all (or the caller could create it).
    """
    real = Path(os.path.realpath(path))
    existing = real
    while True:
        try:
            os.lstat(existing)
            break
        except FileNotFoundError:
            if existing.parent == existing:
                return False
            existing = existing.parent
        except OSError:
            return False
    chain = [*reversed(existing.parents), existing]
    for index, part in enumerate(chain):
        try:
            st = os.lstat(part)
        except OSError:
            return False
        if stat.S_ISLNK(st.st_mode) or st.st_uid != 0:
            return False
        last = index == len(chain) - 1
        if _writable(st, uid, groups):
            if last or not (stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX):
                return False
    return True
