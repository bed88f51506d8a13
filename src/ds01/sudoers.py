"""The sudoers rule and the root entry point of secure mode, as text (pure; SPEC §9).

``ds01 admin sudoers`` writes both: the entry point, a root-owned shell script that runs the
installed Python isolated with ds01's paths fixed inside it, and one sudoers rule that lets
every user (or one group) run exactly that script as root without a password. sudo resets
the environment for it and keeps only presentation variables, never a ``DS01_*`` one, so a
user cannot hand root a config, state or log folder of their own.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from ds01.errors import UsageError

DEFAULT_RULE_FILE = "/etc/sudoers.d/ds01"
# Variables sudo passes on to the entry point: how to show output, nothing that runs code or
# moves a path. Setting the list (not adding to it) drops whatever a site-wide env_keep adds.
KEPT_ENV = ("LANG", "LANGUAGE", "LC_*", "TERM", "COLORTERM", "NO_COLOR", "COLUMNS", "LINES", "TZ")
# Paths the entry point may fix for ds01 (the installed ones when absent).
FIXED_ENV = ("DS01_CONFIG", "DS01_STATE_DIR", "DS01_LOG_DIR")

# Characters that need no escaping in a sudoers command path or a shell word.
_PATH = re.compile(r"/[A-Za-z0-9._+/-]*")
_GROUP = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")


def check_path(path: str, what: str) -> str:
    """``path`` if it is absolute and plain (letters, digits, ``._+-/``), else a usage error."""
    if not _PATH.fullmatch(path) or "/../" in f"{path}/" or "/./" in f"{path}/" or "//" in path:
        raise UsageError(f"The {what} {path!r} must be an absolute path of letters, digits and ._+-/ only.")
    return path


def check_group(group: str) -> str:
    if not _GROUP.fullmatch(group):
        raise UsageError(f"{group!r} is not a group name sudoers accepts.")
    return group


def rule(entry: str, group: str | None = None) -> str:
    """The sudoers text: who may run ``entry`` as root, and with which environment."""
    check_path(entry, "entry point")
    who = f"%{check_group(group)}" if group else "ALL"
    whom = f"members of group {group}" if group else "every user"
    kept = " ".join(KEPT_ENV)
    return (
        "# ds01 secure mode, written by `ds01 admin sudoers` (see ds01's docs/security.md).\n"
        f"# Lets {whom} run ds01's root entry point, and nothing else, as root without a password.\n"
        "# sudo resets the environment and keeps no DS01_* variable: the entry point fixes ds01's paths.\n"
        f"Defaults!{entry} env_reset\n"
        f'Defaults!{entry} env_keep = "{kept}"\n'
        f"{who} ALL=(root) NOPASSWD: {entry}\n"
    )


def entry_script(python: str, fixed_env: Mapping[str, str] | None = None) -> str:
    """The root entry point: ds01's paths fixed, then the installed Python, isolated (``-I``)."""
    check_path(python, "Python interpreter")
    lines = [
        "#!/bin/sh",
        "# ds01 secure-mode entry point, written by `ds01 admin sudoers` (see ds01's docs/security.md).",
        "# sudo runs it as root for every user: it must stay owned and writable by root only.",
        "# Arguments: the name ds01 was started as (container-create, ds01, ...) and its arguments.",
    ]
    for name in FIXED_ENV:
        value = (fixed_env or {}).get(name)
        if value:
            if not value.startswith("/"):
                raise UsageError(f"{name} must be an absolute path to be fixed in the entry point (got {value!r}).")
            lines.append(f"{name}={shlex.quote(value)}; export {name}")
    lines.append(f'exec {shlex.quote(python)} -I -m ds01.secure_entry "$@"')
    return "\n".join(lines) + "\n"
