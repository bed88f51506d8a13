"""Undoing what a failed operation already did: every undo step runs, the first error stays.

A create allocates GPU slots, makes a container, records its definition; when a later step
fails, the earlier ones are undone. The user must see why the operation failed (the first
error), and must also learn what could not be undone, instead of it being dropped silently::

    with Rollback() as undo:
        rows = allocate(...)
        undo.add("release the GPU slots", lambda: release(...))
        info = create(...)
        undo.add(f"remove container {name}", lambda: remove(info))
        confirm(...)

On an exception in the block every step runs, last added first, even when one of them fails;
then the block's own exception is raised, with one ``Not undone: ...`` line in its details
(``Ds01Error.details``, or a note on any other exception) for each step that failed.
"""

from __future__ import annotations

from ds01.errors import Ds01Error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType
    from typing import Any

    Step = tuple[str, Callable[[], Any]]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, Ds01Error):
        return exc.message.rstrip(".")
    return (str(exc) or type(exc).__name__).rstrip(".")


def run(error: BaseException, steps: Iterable[Step]) -> list[str]:
    """Run every undo step (``(what, call)``, in the order given) after ``error``.

    A step that fails does not stop the others; each failure becomes one line, added to
    ``error``'s details (or notes), and the lines are returned. ``error`` itself is not raised
    here: the caller re-raises it.
    """
    failed: list[str] = []
    for what, call in steps:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - every step runs; what failed is reported, not dropped
            failed.append(f"Not undone: {what} ({_reason(exc)}).")
    for line in failed:
        if isinstance(error, Ds01Error):
            error.details.append(line)
        else:
            error.add_note(line)
    return failed


class Rollback:
    """Undo steps registered as the work proceeds, run (last first) when the ``with`` block fails."""

    def __init__(self) -> None:
        self._steps: list[Step] = []

    def add(self, what: str, call: Callable[[], Any]) -> None:
        """Register an undo step; ``what`` completes "Not undone: ..." (e.g. "remove container x")."""
        self._steps.append((what, call))

    def __enter__(self) -> Rollback:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            run(exc, reversed(self._steps))
