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

# The listing commands read these paths on every run, so this module imports neither
# ``pathlib`` nor ``typing`` at run time: the work is done on text (``*_text``), and the
# ``Path`` forms wrap it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    Environ = Mapping[str, str]

_DEFAULTS = {
    "DEFAULT_CONFIG": "/opt/ds01-infra/config/resource-limits.yaml",
    "DEFAULT_STATE_DIR": "/var/lib/ds01",
    "DEFAULT_LOG_DIR": "/var/log/ds01",
}


def __getattr__(name: str) -> Path:
    """``DEFAULT_CONFIG``, ``DEFAULT_STATE_DIR``, ``DEFAULT_LOG_DIR`` as ``Path``s, made on first use."""
    if name in _DEFAULTS:
        from pathlib import Path

        value = Path(_DEFAULTS[name])
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _default(name: str) -> str:
    # A value set on the module (``monkeypatch.setattr(paths, "DEFAULT_CONFIG", ...)``) counts.
    return os.fspath(globals().get(name) or _DEFAULTS[name])


def _path(text: str) -> Path:
    from pathlib import Path

    return Path(text)


def packaged_config_dir() -> Path:
    """The ``config/`` folder shipped with ds01 (example config, topologies, catalog)."""
    return _path(packaged_config_dir_text())


def packaged_config_dir_text() -> str:
    here = os.path.dirname(os.path.realpath(__file__))
    installed = os.path.join(here, "_config")
    if os.path.isdir(installed):
        return installed
    # Source checkout / editable install: the repository's top-level config/.
    return os.path.join(os.path.dirname(os.path.dirname(here)), "config")


def installed_config_path() -> Path:
    """The config ds01 reads when no override applies."""
    return _path(installed_config_path_text())


def installed_config_path_text() -> str:
    default = _default("DEFAULT_CONFIG")
    if os.path.exists(default):
        return default
    return os.path.join(packaged_config_dir_text(), "resource-limits.yaml")


def config_path(environ: Environ | None = None) -> Path:
    return _path(config_path_text(environ))


def config_path_text(environ: Environ | None = None) -> str:
    explicit = _override("DS01_CONFIG", environ)
    return explicit if explicit is not None else installed_config_path_text()


def state_dir(environ: Environ | None = None) -> Path:
    return _path(state_dir_text(environ))


def state_dir_text(environ: Environ | None = None) -> str:
    explicit = _override("DS01_STATE_DIR", environ)
    return explicit if explicit is not None else _default("DEFAULT_STATE_DIR")


def log_dir(environ: Environ | None = None) -> Path:
    return _path(log_dir_text(environ))


def log_dir_text(environ: Environ | None = None) -> str:
    explicit = _override("DS01_LOG_DIR", environ)
    return explicit if explicit is not None else _default("DEFAULT_LOG_DIR")


# -- overrides under sudo -------------------------------------------------------------------


# Each override is judged once per process: a command keeps the paths it started with, and the
# folder walk, the caller's groups and the installed config's admins are read once, not on every
# call. The key holds everything the verdict depends on but the files themselves; ``forget``
# drops the verdicts (tests change the files between calls).
_verdicts: dict[tuple[str, str, tuple[int, int, str], str], str | None] = {}


def forget() -> None:
    """Judge every override afresh at its next use."""
    _verdicts.clear()


def _override(name: str, environ: Environ | None) -> str | None:
    """The path ``name`` names, when it may be used; None means: the installed default."""
    env = os.environ if environ is None else environ
    value = env.get(name)
    if not value:
        return None
    path = _normal(os.path.expanduser(value))
    caller = sudo_caller(env)
    if caller is None:
        return path
    key = (name, path, caller, _default("DEFAULT_CONFIG"))
    if key not in _verdicts:
        _verdicts[key] = _judge(name, value, path, caller)
    return _verdicts[key]


def _judge(name: str, value: str, path: str, caller: tuple[int, int, str]) -> str | None:
    uid, gid, user = caller
    groups = _groups(user, gid)
    if root_controlled(path, uid, groups):
        return os.path.realpath(path)
    if _is_admin(user):
        return path
    sys.stderr.write(
        f"ds01: ignoring {name}={value}: under sudo ds01 uses only paths that root owns and you "
        "cannot change; using the installed one.\n"
    )
    return None


def _normal(text: str) -> str:
    """``str(Path(text))``: repeated and trailing slashes and ``.`` parts dropped, ``..`` kept."""
    if not text:
        return "."
    lead = "//" if text.startswith("//") and not text.startswith("///") else "/" if text.startswith("/") else ""
    parts = [p for p in text.split("/") if p and p != "."]
    return (lead + "/".join(parts)) or "."


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

        with open(installed_config_path_text(), encoding="utf-8") as fh:
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


def root_controlled(path: str | Path, uid: int | None = None, groups: frozenset[int] = frozenset()) -> bool:
    """True when only root can change what ``path`` names.

    ``path`` is resolved (symlinks followed; the result is what callers must then use) and
    root must own it and every folder above it; the caller ``uid`` (with ``groups``) — or,
    when ``uid`` is None, every user but root — may write none of them. A sticky folder
    such as ``/tmp`` is allowed above the path: nobody but root can rename or remove the
    root-owned entry inside it. A path that does not exist yet is judged by its nearest
    existing folder, which then must not be writable at all (or the caller could create it).
    """
    real = os.path.realpath(path)
    existing = real
    while True:
        try:
            os.lstat(existing)
            break
        except FileNotFoundError:
            parent = os.path.dirname(existing)
            if parent == existing:
                return False
            existing = parent
        except OSError:
            return False
    chain = [existing]
    while (parent := os.path.dirname(chain[0])) != chain[0]:
        chain.insert(0, parent)
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
