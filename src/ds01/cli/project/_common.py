"""What the project setup verbs share: the ``--force`` flag, the overwrite question, how a
unit runs (as the caller: under sudo in a child process dropped to the caller's rights, see
``ds01.privsep``) and how its result is shown (human lines on stderr, or its JSON on stdout)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ds01 import privsep
from ds01.identity import Identity
from ds01.terminal import Terminal

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def force_option(f: F) -> F:
    return click.option(
        "--force", is_flag=True, help="Replace files that differ from the ds01 version without asking."
    )(f)


def asker(term: Terminal) -> Callable[[str], bool] | None:
    """On a terminal: confirm before replacing a file (default no). In scripts: nobody to ask."""
    if not term.can_prompt():
        return None
    term.load_prompts()  # asked by the unit, which under sudo runs dropped to the caller
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


def as_caller(owner: Identity, unit: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a project unit with the caller's rights and return its result.

    Under sudo the unit runs in a child process that has dropped to the caller for good
    (uid, gid, groups, HOME, a clean environment), so every path it touches is checked by the
    kernel as the caller's and every tool it starts (git, ssh-keygen) runs as the caller:
    what it makes is theirs, and what they could not touch themselves it cannot touch either.
    Paths must be absolute: the child starts in the caller's home.
    """
    return privsep.run_as(owner, unit, *args, **kwargs)


def absolute(path: Path | None) -> Path | None:
    """``path`` made absolute against the current directory, for a unit that runs elsewhere.

    A leading ``~`` is left for the unit, which expands it with the caller's HOME (under sudo,
    ds01's own HOME may be root's).
    """
    if path is None or str(path).startswith("~"):
        return path
    return Path(path).absolute()
