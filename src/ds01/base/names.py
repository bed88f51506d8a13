"""Container names: the user-visible name, its validation, and Docker's ``<name>._.<uid>``.

AIME MLC allows ``a-z A-Z 0-9 _ - #``; Docker rejects ``#`` and a leading ``-`` or ``_``,
which AIME only discovers when ``docker create`` fails. ds01 refuses such names before
Docker sees them, with one sentence saying what is allowed.
"""

from __future__ import annotations

import re

from ds01.errors import UsageError

SEPARATOR = "._."
# Docker allows long names, but the name also appears in hostnames, slice units and
# table columns; 48 characters keeps ``<name>._.<uid>`` well inside every such limit.
NAME_MAX = 48
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_ALLOWED_TEXT = "letters, digits, '_' and '-', starting with a letter or digit"


def validate_name(name: str) -> str:
    """Return ``name`` when it is a valid user-visible container name; else UsageError (exit 2)."""
    if not name:
        raise UsageError(f"A container name is required ({_ALLOWED_TEXT}).")
    if len(name) > NAME_MAX:
        raise UsageError(f"Container name {name!r} is {len(name)} characters long; use at most {NAME_MAX}.")
    if SEPARATOR in name or not _VALID.fullmatch(name):
        bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "_-"))})
        why = f" ({', '.join(repr(c) for c in bad)} not allowed)" if bad else ""
        raise UsageError(f"Container name {name!r} is not valid{why}: use {_ALLOWED_TEXT}.")
    return name


def docker_name(name: str, uid: int) -> str:
    """The Docker container name AIME uses: ``<name>._.<uid>``."""
    return f"{name}{SEPARATOR}{uid}"


def split_docker_name(full: str) -> tuple[str, int | None]:
    """``pt._.1000`` -> ``("pt", 1000)``; a name without the suffix (AIME v1) -> ``(name, None)``."""
    base, sep, suffix = full.lstrip("/").rpartition(SEPARATOR)
    if sep and suffix.isdigit():
        return base, int(suffix)
    return full.lstrip("/"), None


def display_name(full: str) -> str:
    """Everything before ``._.`` (what the user typed at create)."""
    return split_docker_name(full)[0]
