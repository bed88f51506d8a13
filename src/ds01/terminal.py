"""The one object that writes to the terminal.

Data (tables, JSON, ids) goes to stdout; messages, progress and warnings go to stderr.
Colour is on only when stderr/stdout is a terminal and ``NO_COLOR`` is unset. rich and
questionary are imported only when a table, a progress display or a prompt is needed,
so plain commands stay fast.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

from ds01.errors import UsageError
from ds01.records import dataclass

TYPE_CHECKING = False  # typing and json (which brings re) are loaded by what needs them
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import IO, Any, TextIO

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


MAX_CELL = 28  # a cell other than a name is cut to this before a column is dropped


@dataclass(frozen=True)
class Column:
    """A table column. ``priority`` 1 is never dropped; higher numbers drop first when the
    table is wider than the terminal. A ``name`` column (container, user, image names) is cut
    only when no other column can give way."""

    header: str
    priority: int = 1
    name: bool = False


def fit_columns(priorities: Sequence[int], widths: Sequence[int], width: int, gap: int = 2) -> list[int]:
    """Indexes of the columns kept: the least important (highest priority number; the rightmost
    among equals) drop until the widths, ``gap`` spaces apart, fit in ``width``."""
    keep = list(range(len(widths)))
    while sum(widths[i] for i in keep) + gap * (len(keep) - 1) > width:
        droppable = [i for i in keep if priorities[i] > 1]
        if not droppable:
            break
        keep.remove(max(droppable, key=lambda i: (priorities[i], i)))
    return keep


def _shrink(widths: list[int], names: list[bool], floors: list[int], over: int) -> list[int]:
    """Take ``over`` characters from the widest columns, other columns before names."""
    widths = list(widths)
    for allow_names in (False, True):
        while over > 0:
            candidates = [i for i, w in enumerate(widths) if w > floors[i] and (allow_names or not names[i])]
            if not candidates:
                break
            widest = max(candidates, key=lambda i: (widths[i], -i))
            widths[widest] -= 1
            over -= 1
    return widths


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, ``…`` marking a cut."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…" if width > 0 else ""


def columns_of(stream: IO[str] | None = None, environ: dict[str, str] | os._Environ[str] | None = None) -> int | None:
    """The terminal's width: ``COLUMNS`` when set, else the size of ``stream`` when it is a
    terminal; None when neither (a pipe: lines are not fitted)."""
    env = os.environ if environ is None else environ
    try:
        columns = int(env.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        if stream is not None and stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, ValueError, OSError):
        pass
    return None


def relative(value: str | float | None, now: float | None = None, *, none: str = "-") -> str:
    """A moment for people, at most two units: ``in 2d23h``, ``in 59m``, ``5m ago``, ``now``;
    ``--json`` keeps ISO 8601 (or seconds).

    ``value`` is an ISO 8601 UTC time (``2026-12-01T15:50:11Z``) or a Unix time."""
    if value is None or value == "":
        return none
    if isinstance(value, str):
        from datetime import datetime

        try:
            ts = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return value
    else:
        ts = float(value)
    return relative_in(int(round(ts - (time.time() if now is None else now))))


def relative_in(seconds: float | None, *, none: str = "-") -> str:
    """``seconds`` from now (negative: ago) the way ``relative`` says it: ``in 2d23h``, ``now``."""
    if seconds is None:
        return none
    delta = int(seconds)
    if abs(delta) < 30:
        return "now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(-delta)} ago"


def _span(seconds: int) -> str:
    """A positive length of time in its two largest units, the rest cut: 2d23h, 1h59m, 59m, 45s."""
    if seconds < 60:
        return f"{seconds}s"
    parts: list[str] = []
    rest = seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, rest = divmod(rest, size)
        if count or parts:
            parts.append(f"{count}{unit}" if count else "")
            if len(parts) == 2:
                break
    return "".join(parts)


def wrap(text: str, width: int, indent: str = "") -> str:
    """Prose re-flowed at word boundaries to ``width``. Blank lines separate paragraphs; a
    list item (``  * text``, ``- text``) is wrapped under its own text, its deeper-indented
    lines joined to it; other indented lines (commands, tables) and underlines keep their shape."""
    import re
    import textwrap

    width = max(width, 20)
    out: list[str] = []
    words: list[str] = []
    first = rest = indent

    def flush() -> None:
        if words:
            # A `command in backticks` stays on one line: its spaces are not break points.
            joined = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", "\0"), " ".join(words))
            out.extend(
                line.replace("\0", " ")
                for line in textwrap.wrap(
                    joined,
                    width,
                    initial_indent=first,
                    subsequent_indent=rest,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
            words.clear()

    item_indent: int | None = None
    for line in text.split("\n"):
        bullet = re.match(r"^(\s*)([*•-]) (\S.*)$", line)
        lead = len(line) - len(line.lstrip(" "))
        if not line.strip():
            flush()
            item_indent = None
            out.append("")
        elif bullet:
            flush()
            first = indent + bullet.group(1) + bullet.group(2) + " "
            rest = " " * len(first)
            item_indent = len(bullet.group(1)) + 2
            words.append(bullet.group(3).strip())
        elif item_indent is not None and lead >= item_indent:
            words.append(line.strip())
        elif lead or set(line.strip()) <= set("-=_"):
            flush()
            item_indent = None
            column = re.match(r"^(\s*\S.*?\s{2,})(\S.*)$", indent + line.rstrip())
            if column and len(indent + line.rstrip()) > width and len(column.group(1)) <= width - 16:
                # ``  command      what it does``: the description wraps under itself.
                out.extend(
                    textwrap.wrap(
                        column.group(2),
                        width,
                        initial_indent=column.group(1),
                        subsequent_indent=" " * len(column.group(1)),
                        break_long_words=False,
                    )
                )
            else:
                out.append(indent + line.rstrip())
        else:
            if item_indent is not None:
                flush()
                item_indent = None
            if not words:
                first = rest = indent
            words.append(line.strip())
    flush()
    return "\n".join(out)


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

    @property
    def width(self) -> int | None:
        """Columns for data on stdout; None when stdout is not a terminal (nothing is fitted)."""
        return columns_of(self.stdout)

    @property
    def err_width(self) -> int:
        """Columns for messages and prose on stderr (80 when unknown)."""
        return columns_of(self.stderr) or 80

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
        import json

        self.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
        self.stdout.flush()

    def table(
        self,
        columns: Sequence[str | Column],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        empty: str = "(nothing to show)",
        width: int | None = None,
    ) -> None:
        """A table on stdout, fitted to the terminal: the least important columns drop first,
        then the widest cells other than names are cut (``…``), names last. Off a terminal
        (a pipe, no ``COLUMNS``) every column is printed whole."""
        if not rows:
            self.info(empty)
            return
        cols = [c if isinstance(c, Column) else Column(str(c)) for c in columns]
        cells = [["" if c is None else str(c) for c in row] for row in rows]
        widths = [len(c.header) for c in cols]
        for row in cells:
            widths = [max(w, len(v)) for w, v in zip(widths, row, strict=False)]
        limit = width if width is not None else self.width
        keep = list(range(len(cols)))
        if limit and sum(widths) + 2 * (len(widths) - 1) > limit:
            # Too wide: long cells other than names are cut to MAX_CELL first, then the least
            # important columns drop, then what is still too wide is cut, names last.
            widths = [w if c.name else min(w, MAX_CELL) for c, w in zip(cols, widths, strict=True)]
            keep = fit_columns([c.priority for c in cols], widths, limit)
            kept = [widths[i] for i in keep]
            over = sum(kept) + 2 * (len(keep) - 1) - limit
            if over > 0:
                floors = [min(widths[i], max(4, min(len(cols[i].header), 8))) for i in keep]
                kept = _shrink(kept, [cols[i].name for i in keep], floors, over)
            widths = [0] * len(cols)
            for i, w in zip(keep, kept, strict=True):
                widths[i] = w
        if title:
            self.out(cut(title, limit) if limit else title)
        header = "  ".join(cut(cols[i].header, widths[i]).ljust(widths[i]) for i in keep).rstrip()
        self.out(self.style(header, "bold", err=False))
        for row in cells:
            self.out("  ".join(cut(row[i], widths[i]).ljust(widths[i]) for i in keep).rstrip())

    def warnings(self, messages: Sequence[str], *, full: str, first: int = 3, most: int = 5) -> None:
        """Warnings, summarised when there are many: the count, the first few, and the
        command that shows them all (``full``)."""
        if len(messages) <= most:
            for m in messages:
                self.warning(m)
            return
        self.warning(f"{len(messages)} warnings; the first {first}:")
        for m in messages[:first]:
            self.info("  " + cut(m, max(self.err_width - 2, 20)))
        self.info(f"  … {len(messages) - first} more: `{full}` shows them all.")

    def prose(self, text: str, *, indent: str = "", err: bool = True) -> None:
        """A paragraph (or several) wrapped at word boundaries to the terminal's width."""
        width = (self.err_width if err else (self.width or 80)) - 1
        (self._err if err else self.out)(wrap(text, width, indent))

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
            known = columns_of(self.stderr)
            text = wrap(message, known - 1, indent="  ")[2:] if known else message
            self._err(self.style("ℹ ", "blue", "bold") + self.style(text, "blue"))

    @contextmanager
    def progress(self, message: str, *, steps: bool = False) -> Iterator[Any]:
        """A spinner on a terminal; one line otherwise. Yields an object with ``update(text)``.

        The spinner's line is one row, whatever a tool prints into it (its first line, cut to
        the width), and ends with the time since it started (``Building x: … 1m05s``).
        ``steps``: the updates are a few steps worth a line each (allocating, waiting for a
        slot, recreating): without a terminal each new one is printed, so a script's log says
        what the command is waiting for; otherwise (a build's output) they are not."""
        if self.color_err and self.interactive:
            from rich.console import Console

            console = Console(file=self.stderr)
            line = _ProgressLine(message, console)
            with console.status(line):
                yield line
            return
        self._err(message)
        yield _StatusUpdater(None, self._err if steps else None, message)

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

        import prompt_toolkit.input.posix_utils
        import prompt_toolkit.input.vt100
        import prompt_toolkit.key_binding.bindings.search  # noqa: F401
        import questionary  # noqa: F401

    def _require_prompt(self, what: str) -> None:
        if not self.can_prompt():
            raise UsageError(f"{_sentence(what)} is required (no terminal to ask on; pass it as an argument).")
        discard_typeahead()

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


def discard_typeahead(stream: IO[str] | None = None) -> None:
    """Throw away keys typed before a question was shown (``termios.tcflush``, TCIFLUSH): the
    Enter after a ``y`` that already answered one question must not answer the next."""
    stream = stream or sys.stdin
    try:
        import termios

        fd = stream.fileno()
        if not os.isatty(fd):
            return
        termios.tcflush(fd, termios.TCIFLUSH)
    except (ImportError, OSError, ValueError, AttributeError):
        return
    if "prompt_toolkit.input.typeahead" in sys.modules:
        # Keys the previous question read but did not use are kept by the prompt library
        # for the next question: they were typed ahead too.
        from prompt_toolkit.input.defaults import create_input
        from prompt_toolkit.input.typeahead import clear_typeahead

        try:
            tty_stream: TextIO = stream  # type: ignore[assignment]  # a terminal's text stream
            clear_typeahead(create_input(tty_stream))
        except (OSError, ValueError, AttributeError):
            pass


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


class _ProgressLine:
    """The spinner's text: the latest update, cut to one row, and the elapsed time."""

    def __init__(self, text: str, console: Any, clock: Any = time.monotonic):
        self.text = text
        self._console = console
        self._clock = clock
        self._start = clock()

    def update(self, text: str) -> None:
        self.text = text

    def plain(self, width: int) -> str:
        from ds01.limits.units import format_duration

        elapsed = int(self._clock() - self._start)
        suffix = f"  {format_duration(elapsed) if elapsed else '0s'}"
        first = " ".join((self.text.strip().splitlines() or [""])[0].split())
        return cut(first, max(width - len(suffix), 10)) + suffix

    def __rich__(self) -> Any:
        from rich.text import Text

        return Text(self.plain(self._console.width - 3))  # the spinner and its space


class _StatusUpdater:
    def __init__(self, status: Any, echo: Callable[[str], None] | None = None, shown: str = ""):
        self._status = status
        self._echo = echo
        # Every step printed so far, the heading included: a step is printed once, even when it
        # comes again later (a create's "Creating container X…" after its "Allocating…").
        self._shown = {_step(shown)}

    def update(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)
        if self._echo is not None and _step(text) not in self._shown:
            self._echo(text)
            self._shown.add(_step(text))


def _step(text: str) -> str:
    """What names a step: its text up to a counter after ": " ("Pulling x: 3/12 layers" is the
    step "Pulling x", printed at its first count only)."""
    head, sep, rest = text.partition(": ")
    return head if sep and rest[:1].isdigit() else text
