"""``ds01 --help`` and ``ds01 --version`` without importing click.

These two are run far more often than anything else (and by every shell completion and
packaging check); importing click alone costs several times a bare interpreter start.
The text is rendered from the same tables the click tree uses (``cli/tree.py``), with
click's own layout rules; ``tests/cli/test_fasthelp.py`` proves it is byte-identical to
what click prints.
"""

from __future__ import annotations

import os
import sys

ROOT_HELP = (
    "ds01: your GPU containers on a shared server, with fair quotas.\n\n"
    "Start with `ds01 user setup` (first time) or `ds01 container create NAME`."
)
MAX_WIDTH = 100
OPTIONS = [
    ("-V, --version", "Show the version and exit."),
    ("-h, --help, --info", "Show this message and exit."),
]


def _terminal_columns() -> int:
    # shutil.get_terminal_size's rules (what click uses), without importing shutil.
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _width() -> int:
    return max(min(_terminal_columns(), MAX_WIDTH) - 2, 50)


def _paragraphs(text: str, width: int, indent: str) -> list[str]:
    import textwrap  # here, not at the top: every command line passes through this module

    out: list[str] = []
    for para in text.split("\n\n"):
        if out:
            out.append("")
        words = " ".join(para.split())
        out.extend(textwrap.wrap(words, width, initial_indent=indent, subsequent_indent=indent))
    return out


def _dl(rows: list[tuple[str, str]], width: int, indent: int = 2) -> list[str]:
    import textwrap

    first_col = min(max(len(r[0]) for r in rows), 30) + 2
    text_width = max(width - first_col - 2, 10)
    lines: list[str] = []
    for first, second in rows:
        head = " " * indent + first
        wrapped = textwrap.wrap(second, text_width) or [""]
        if len(first) <= first_col - 2:
            lines.append(head + " " * (first_col - len(first)) + wrapped[0])
        else:
            lines.append(head)
            lines.append(" " * (first_col + indent) + wrapped[0])
        lines.extend(" " * (first_col + indent) + w for w in wrapped[1:])
    return lines


def alias_rows() -> list[tuple[str, str]]:
    """The "Also available as" section: top-level aliases, then exactly the commands
    ``ds01 admin symlinks`` installs (the same list it uses, ``tree.symlink_groups``)."""
    from ds01.cli.tree import ALIASES, TOP_LEVEL_ALIASES, symlink_groups

    rows = [(name, "= ds01 " + " ".join(ALIASES[name])) for name in TOP_LEVEL_ALIASES]
    rows.append(("symlinks", "`ds01 admin symlinks` installs these commands (links to ds01):"))
    rows += [(label, ", ".join(names)) for label, names in symlink_groups()]
    return rows


def root_help() -> str:
    from ds01.cli.tree import NOUNS, TOP_LEVEL

    width = _width()
    commands = dict(NOUNS)
    commands.update({name: spec[1] for name, spec in TOP_LEVEL.items()})
    lines = ["Usage: ds01 [OPTIONS] COMMAND [ARGS]...", ""]
    lines += _paragraphs(ROOT_HELP, width, "  ")
    lines += ["", "Options:"] + _dl(OPTIONS, width)
    lines += ["", "Commands:"] + _dl(sorted(commands.items()), width)
    lines += ["", "Also available as:"] + _dl(alias_rows(), width)
    return "\n".join(lines) + "\n"


def try_fast_path(args: list[str]) -> str | None:
    """The text to print for a root-level ``--help``/``--version``, or None."""
    if args in (["--version"], ["-V"]):
        from ds01 import __version__

        return f"ds01 {__version__}\n"
    if args in (["--help"], ["-h"], ["--info"]):
        return root_help()
    return None
