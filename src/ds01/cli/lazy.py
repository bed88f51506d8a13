"""A click group whose subcommands are imported only when they run.

The group knows each subcommand's import path and one-line help, so ``ds01 --help``
lists the whole tree without importing any command module (SPEC §1: fast start).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> ("package.module:attribute", "one-line help")
LazySpec = dict[str, tuple[str, str]]


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy: LazySpec | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy: LazySpec = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
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
