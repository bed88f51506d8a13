"""Whose container or ledger row something is, and who may act on it (SPEC §5, §9).

A ds01 container is named ``<name>._.<uid>`` with its owner's uid, so a name says whose it
is. A ledger row carries its user, and a row's container must be that user's: ``gpu
allocate`` refuses a row for a container named for someone else (otherwise the row would
be "borrowed" by whoever later creates that name, and its first user could release their
GPU). The ``gpu`` commands act only on rows that are the caller's -- the row's user is the
caller and the container is named for the caller's uid -- unless the caller is an admin.
"""

from __future__ import annotations

SEPARATOR = "._."


def container_uid(docker_name: str) -> int | None:
    """The uid a container name is made for (``pt._.1000`` -> 1000), None without the suffix."""
    _base, sep, suffix = docker_name.lstrip("/").rpartition(SEPARATOR)
    if sep and suffix.isdigit():
        return int(suffix)
    return None


def row_refusal(user: str, uid: int | None, container: str) -> str | None:
    """Why a ledger row for ``container`` may not be recorded for ``user`` (None: it may).

    ``uid``: the user's uid, or None when the host has no such login (an admin recording a
    row for an account that does not exist here); then only the form of the name is trusted.
    """
    if uid is None:
        return None
    named_for = container_uid(container)
    if named_for == uid:
        return None
    if named_for is None:
        return (
            f"{container} is not a container name of {user}: ds01 names containers NAME._.UID with the "
            f"owner's uid (here NAME._.{uid})."
        )
    return (
        f"{container} is named for uid {named_for}, not for {user} (uid {uid}); "
        "a GPU row must name its own user's container."
    )


def may_act_on_row(*, row_user: str, container: str, caller: str, caller_uid: int, admin: bool) -> bool:
    """May the caller release, mark stopped or restart a row of ``row_user`` for ``container``?"""
    if admin:
        return True
    return row_user == caller and container_uid(container) == caller_uid
