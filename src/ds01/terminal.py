"""The one object that writes to the terminal.

Data (tables, JSON, ids) goes to stdout; messages, progress and warnings go to stderr.
Colour is on only when stderr/stdout is a terminal and ``NO_COLOR`` is unset. rich and
questionary are imported only when a table, a progress display or a prompt is needed,
so plain commands stay fast.
"""

from __future__ import annotations

import json as _json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

from ds01.errors import UsageError

_STYLES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "cyan": "36",
}


def colour_allowed(stream: IO[str], environ: dict[str, str] | os._Environ[str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env or env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Terminal:
    def __init__(
        self,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        *,
        color: bool | None = None,
        interactive: bool | None = None,
    ):
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.color_out = colour_allowed(self.stdout) if color is None else color
        self.color_err = colour_allowed(self.stderr) if color is None else color
        if interactive is None:
            try:
                interactive = sys.stdin.isatty() and self.stderr.isatty()
            except (AttributeError, ValueError):
                interactive = False
        self.interactive = interactive
        self.guided = False
        self.script_mode = False

    # -- styling --------------------------------------------------------------------
    def style(self, text: str, *styles: str, err: bool = True) -> str:
        if not (self.color_err if err else self.color_out) or not styles:
            return text
        codes = ";".join(_STYLES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    # -- data: stdout ---------------------------------------------------------------
    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def json(self, obj: Any) -> None:
        self.stdout.write(_json.dumps(obj, indent=2, default=str) + "\n")
        self.stdout.flush()

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        empty: str = "(nothing to show)",
    ) -> None:
        """A table on stdout: rich when colours are on, aligned plain text otherwise."""
        if not rows:
            self.info(empty)
            return
        cells = [["" if c is None else str(c) for c in row] for row in rows]
        if self.color_out:
            from rich.console import Console
            from rich.table import Table

            table = Table(title=title, header_style="bold")
            for col in columns:
                table.add_column(col)
            for row in cells:
                table.add_row(*row)
            Console(file=self.stdout, force_terminal=True).print(table)
            return
        widths = [len(c) for c in columns]
        for row in cells:
            widths = [max(w, len(v)) for w, v in zip(widths, row, strict=False)]
        if title:
            self.out(title)
        self.out("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False)).rstrip())
        for row in cells:
            self.out("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip())

    # -- messages: stderr -----------------------------------------------------------
    def _err(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def info(self, message: str) -> None:
        self._err(message)

    def success(self, message: str) -> None:
        self._err(self.style("✓ ", "green", "bold") + message)

    def warning(self, message: str) -> None:
        self._err(self.style("warning: ", "yellow", "bold") + message)

    def error(self, message: str) -> None:
        self._err(self.style("error: ", "red", "bold") + message)

    def hint(self, message: str) -> None:
        self._err(self.style(message, "dim"))

    def next_step(self, command: str, why: str = "") -> None:
        """Tell the user what to run next."""
        suffix = f"  ({why})" if why else ""
        self._err("  " + self.style(command, "cyan", "bold") + suffix)

    def guide(self, message: str) -> None:
        """An explanation shown only with ``--guided``."""
        if self.guided:
            self._err(self.style("ℹ ", "blue", "bold") + self.style(message, "blue"))

    @contextmanager
    def progress(self, message: str) -> Iterator[Any]:
        """A spinner on a terminal; one line otherwise. Yields an object with ``update(text)``."""
        if self.color_err and self.interactive:
            from rich.console import Console

            console = Console(file=self.stderr)
            with console.status(message) as status:
                yield _StatusUpdater(status)
            return
        self._err(message)
        yield _StatusUpdater(None)

    # -- prompts --------------------------------------------------------------------
    # Ctrl-C at a prompt raises KeyboardInterrupt (``unsafe_ask``): the command stops the way
    # any interrupted command does (one line, exit 130), with whatever it started undone.
    def can_prompt(self) -> bool:
        return self.interactive and not self.script_mode

    def load_prompts(self) -> None:
        """Load the prompt library now, for questions a step asks after dropping to the caller.

        Under sudo such a step runs in a child process with the caller's rights (``ds01.privsep``),
        which may not be able to read the interpreter's own library (a Python installed under
        root's home); what it imported before the drop it keeps.
        """
        if not self.can_prompt():
            return
        import ctypes  # noqa: F401
        import termios  # noqa: F401
        import tty  # noqa: F401

        import prompt_toolkit.input.posix_utils  # noqa: F401
        import prompt_toolkit.input.vt100  # noqa: F401
        import prompt_toolkit.key_binding.bindings.search  # noqa: F401
        import questionary  # noqa: F401

    def _require_prompt(self, what: str) -> None:
        if not self.can_prompt():
            raise UsageError(f"{_sentence(what)} is required (no terminal to ask on; pass it as an argument).")

    def choose(self, message: str, choices: Sequence[str], *, what: str, default: str | None = None) -> str:
        self._require_prompt(what)
        if not choices:
            raise UsageError(f"{_sentence(what)} is required and there is nothing to choose from.")
        import questionary

        answer = questionary.select(message, choices=list(choices), default=default).unsafe_ask()
        return str(answer)

    def confirm(self, message: str, *, default: bool = True, what: str = "an answer") -> bool:
        self._require_prompt(what)
        import questionary

        answer = questionary.confirm(message, default=default).unsafe_ask()
        return bool(answer)

    def ask(self, message: str, *, default: str = "", what: str = "an answer") -> str:
        self._require_prompt(what)
        import questionary

        answer = questionary.text(message, default=default).unsafe_ask()
        return str(answer)

    def checkbox(self, message: str, choices: Sequence[str], *, checked: Sequence[str] = (), what: str) -> list[str]:
        self._require_prompt(what)
        import questionary

        items = [questionary.Choice(c, checked=c in checked) for c in choices]
        answer = questionary.checkbox(message, choices=items).unsafe_ask()
        return [str(a) for a in answer]


def human_size(n: int | None) -> str:
    """A byte count for people: ``1.5GB`` (decimal units, as Docker shows them); ``-`` when unknown."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1000
    return f"{n}B"


def _sentence(text: str) -> str:
    """Start an error sentence with a capital: ``a VERSION`` -> ``A VERSION``."""
    return text[:1].upper() + text[1:]


class _StatusUpdater:
    def __init__(self, status: Any):
        self._status = status

    def update(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)
