"""Names: the one rule for the projects, images and containers ds01 creates, and Docker's
``<name>._.<uid>`` container names.

One rule, because a project name becomes three Docker names: its image ``<name>-image``, its
container ``<name>._.<uid>`` and that container's hostname. A name is lowercase letters and
digits, with single ``.``, ``_`` or ``__``, or runs of ``-`` between them (Docker's image
reference grammar for one path component), at most ``NAME_MAX`` (48) characters. So
``<name>-image`` is always a valid image reference, and ``._.`` (which separates a container's
name from its owner's uid) cannot occur in a name.

The rule is for names ds01 makes. Containers that already exist (made by AIME's mlc, which
allows capitals, or by older ds01 versions) are listed and managed under their own names:
``validate_name`` only checks what Docker itself requires of a container name; every command
that makes a new name checks it with ``validate_new_name``.
"""

from __future__ import annotations

from ds01.errors import UsageError

SEPARATOR = "._."
# The name also appears in hostnames (63 characters), systemd slice units and table columns;
# 48 characters keeps ``<name>._.<uid>`` and ``<name>-image`` well inside every such limit.
NAME_MAX = 48
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"  # patterns, compiled (and re loaded) on first use
RULE_TEXT = (
    f"lowercase letters and digits, with '.', '_' or '-' between them, "
    f"at most {NAME_MAX} characters (for example 'my-thesis')"
)
# Docker's own container-name grammar (what an existing container may be called).
_DOCKER_CONTAINER = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a new project, image or container, or None when it can (pure)."""
    if not name:
        return "is empty"
    if len(name) > NAME_MAX:
        return f"is {len(name)} characters long"
    if SEPARATOR in name:
        return f"contains {SEPARATOR!r}, which ds01 uses to separate a container's name from its owner"
    bad = sorted({c for c in name if not (c.isascii() and (c.islower() or c.isdigit()) or c in "._-")})
    if bad:
        return "contains " + ", ".join(repr(c) for c in bad)
    import re

    if not re.fullmatch(_COMPONENT, name):
        return "must start and end with a letter or digit and have only one '.' or '_' (or '__') in a row"
    return None


def validate_new_name(name: str, what: str = "container") -> str:
    """Return ``name`` when ds01 may create a ``what`` (project, image or container) by that name;
    else UsageError (exit 2) saying why and what is allowed, suggesting the lowercase form."""
    problem = name_problem(name)
    if problem is None:
        return name
    hint = ""
    if name and name != name.lower() and name_problem(name.lower()) is None:
        hint = f" (try {name.lower()!r})"
    shown = f"{what.capitalize()} name {name!r}" if name else f"The {what} name"
    raise UsageError(f"{shown} {problem}{hint}; use {RULE_TEXT}.")


def validate_name(name: str) -> str:
    """Return ``name`` when a container may carry it (Docker's grammar, no ``._.``); else UsageError.

    For containers that are already there (AIME's mlc allows capitals): ds01 manages, saves and
    recreates them under their own names. New names follow ``validate_new_name``."""
    import re

    if not name or SEPARATOR in name or not re.fullmatch(_DOCKER_CONTAINER, name):
        raise UsageError(f"{name!r} cannot be a container name; use {RULE_TEXT}.")
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
