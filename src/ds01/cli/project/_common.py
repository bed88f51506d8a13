"""What the project setup verbs share: the ``--force`` flag, the overwrite question, and
how a unit's result is shown (human lines on stderr, or the result's JSON on stdout)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ds01.fsutil import hand_over
from ds01.identity import Identity
from ds01.terminal import Terminal

F = TypeVar("F", bound=Callable[..., Any])


def force_option(f: F) -> F:
    return click.option(
        "--force", is_flag=True, help="Replace files that differ from the ds01 version without asking."
    )(f)


def asker(term: Terminal) -> Callable[[str], bool] | None:
    """On a terminal: confirm before replacing a file (default no). In scripts: nobody to ask."""
    if not term.can_prompt():
        return None
    return lambda question: term.confirm(question, default=False, what="permission to replace a file")


def _short(path: Path, base: Path) -> str:
    try:
        rel = path.relative_to(base)
    except ValueError:
        return str(path)
    return str(rel) if str(rel) != "." else str(path)


def report(term: Terminal, result: Any, *, base: Path | None = None) -> None:
    """Human summary of a SetupResult on stderr: what was made, what was already there."""
    root = base or result.path
    for label, items in (
        ("created", result.created),
        ("updated", result.updated),
        ("replaced", result.replaced),
        ("kept", result.kept),
    ):
        for path in items:
            term.info(f"  {label:<9} {_short(path, root)}")
    if result.unchanged and not (result.created or result.updated or result.replaced):
        term.info(f"  already there: {len(result.unchanged)} item(s), nothing changed")
    for note in result.notes:
        term.info(note)


def give_to_caller(owner: Identity, result: Any, *extra: Path, recursive: tuple[Path, ...] = ()) -> None:
    """Under sudo, what a unit made in the caller's home belongs to the caller, not root."""
    hand_over(owner, recursive, recursive=True)
    hand_over(owner, [*extra, *result.created, *result.updated, *result.replaced])
