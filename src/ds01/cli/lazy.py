"""A click group whose subcommands are imported only when they run.

The group knows each subcommand's import path and one-line help, so ``ds01 --help``
lists the whole tree without importing any command module (SPEC §1: fast start).

It also forgives: the spellings Docker users type (``container ls``, ``image rm``; listed in
``tree.VERB_ALIASES``) reach the verb they mean, and an unknown word is answered with the
command line that was probably meant (``ds01 contianer list`` -> ``ds01 container list``).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> ("package.module:attribute", "one-line help")
LazySpec = dict[str, tuple[str, str]]


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy: LazySpec | None = None, aliases: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy: LazySpec = dict(lazy or {})
        if aliases is None:
            from ds01.cli.tree import VERB_ALIASES

            aliases = VERB_ALIASES.get(self.name or "", {})
        self.aliases: dict[str, str] = dict(aliases)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd_name = self.aliases.get(cmd_name, cmd_name)
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        spec = self.lazy.get(cmd_name)
        if spec is None:
            return None
        module_name, _, attr = spec[0].partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{spec[0]} is not a click command")
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        name = click.utils.make_str(args[0]) if args else ""
        if (
            name
            and not name.startswith("-")
            and not ctx.resilient_parsing
            and self.aliases.get(name, name) not in self.commands
            and self.aliases.get(name, name) not in self.lazy
        ):
            raise click.UsageError(unknown_command_message(self, ctx, name, args[1:]), ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                cmd = self.commands[name]
                if cmd.hidden:
                    continue
                rows.append((name, cmd.get_short_help_str(limit=formatter.width - 6 - len(name))))
            else:
                rows.append((name, self.lazy[name][1]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
        if self.aliases:
            by_verb: dict[str, list[str]] = {}
            for alias, verb in sorted(self.aliases.items()):
                by_verb.setdefault(verb, []).append(alias)
            with formatter.section("Also accepted"):
                formatter.write_dl([(", ".join(names), f"= {verb}") for verb, names in sorted(by_verb.items())])


def _edits(a: str, b: str) -> int:
    """Edits from ``a`` to ``b``: insert, delete, replace, or swap two neighbours (``craete``)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def _close(word: str, names: list[str]) -> list[str]:
    """The names ``word`` was probably meant to be, best first; one when one stands out."""
    import difflib

    word_l = word.lower()
    exact = [n for n in names if n.lower() == word_l]
    if exact:
        return exact
    # One or two slips of the finger (``contianer``, ``craete``, ``lsit``) name one command.
    distances = sorted((_edits(word_l, n), n) for n in names)
    if distances and distances[0][0] <= (1 if len(word_l) <= 4 else 2):
        best = [n for d, n in distances if d == distances[0][0]]
        if len(best) == 1:
            return best
    # A prefix is a good guess too (``ds01 cont`` -> container), when it is unambiguous.
    prefixed = [n for n in names if n.startswith(word_l) and len(word_l) >= 3]
    if len(prefixed) == 1:
        return prefixed
    return difflib.get_close_matches(word_l, names, n=3, cutoff=0.6)


def unknown_command_message(group: LazyGroup, ctx: click.Context, name: str, rest: list[str]) -> str:
    """``No such command 'contianer'. Did you mean: ds01 container list`` -- the corrected line
    when one guess stands out, the candidates otherwise, and ``--help`` when nothing is close."""
    known = set(group.list_commands(ctx)) | set(group.aliases)
    if ctx.parent is None:
        from ds01.cli.tree import TOP_LEVEL_ALIASES

        known |= set(TOP_LEVEL_ALIASES)
    names = sorted(known)
    path = ctx.command_path
    guesses: list[str] = []
    for g in _close(name, names):
        verb = group.aliases.get(g, g)
        if verb not in guesses:
            guesses.append(verb)
    homes = _nouns_with_verb(name) if ctx.parent is None else []
    tail = " ".join(rest[:2])
    lines = [f"No such command {name!r}."]
    if homes:
        # A verb given without its noun (``ds01 list``): name the nouns that have it.
        lines.append("Did you mean one of: " + ", ".join(f"{path} {noun} {name}" for noun in homes))
    elif len(guesses) == 1:
        lines.append(f"Did you mean: {' '.join(filter(None, [path, guesses[0], tail]))}")
    elif guesses:
        lines.append("Did you mean one of: " + ", ".join(f"{path} {g}" for g in guesses))
    if len(lines) == 1:
        lines.append(f"See `{path} --help` for the commands.")
    return " ".join(lines)


def _nouns_with_verb(verb: str) -> list[str]:
    from ds01.cli.tree import NOUNS, VERB_ALIASES, verb_names

    homes = []
    for noun in NOUNS:
        try:
            verbs = verb_names(noun)
        except (OSError, SyntaxError, ImportError):
            continue
        if verb in verbs or verb in VERB_ALIASES.get(noun, {}):
            homes.append(noun)
    return homes
