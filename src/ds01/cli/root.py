"""The root ``ds01`` group: global options and the lazily loaded nouns."""

from __future__ import annotations

import click

from ds01 import __version__
from ds01.cli.app import App
from ds01.cli.fasthelp import ROOT_HELP, alias_rows
from ds01.cli.lazy import LazyGroup
from ds01.cli.tree import ALIASES, NOUNS, TOP_LEVEL, TOP_LEVEL_ALIASES

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help", "--info"], "max_content_width": 100}

_lazy = {noun: (f"ds01.cli.{noun}:group", help_) for noun, help_ in NOUNS.items()}
_lazy.update(TOP_LEVEL)


class RootGroup(LazyGroup):
    """Adds the top-level aliases (``ds01 dir-create`` = ``ds01 project dir-create``)."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        if args and args[0] in TOP_LEVEL_ALIASES:
            expanded = [*ALIASES[args[0]], *args[1:]]
            args[:] = expanded
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_commands(ctx, formatter)
        with formatter.section("Also available as"):
            formatter.write_dl(alias_rows())


@click.group(
    cls=RootGroup,
    lazy=_lazy,
    context_settings=CONTEXT_SETTINGS,
    help=ROOT_HELP,
)
@click.version_option(__version__, "-V", "--version", prog_name="ds01", message="%(prog)s %(version)s")
@click.pass_context
def root(ctx: click.Context) -> None:
    ctx.ensure_object(App)
