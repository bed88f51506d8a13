"""`ds01 mlc …`: the AIME-compatible container engine (Tier 1).

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves. ``ds01 mlc --version`` prints an
AIME-style version line.
"""

from __future__ import annotations

from ds01.cli.tree import group_on_first_use

TYPE_CHECKING = False
if TYPE_CHECKING:
    import click

    from ds01.cli.lazy import LazyGroup, LazySpec

VERBS: LazySpec = {
    "create": ("ds01.cli.mlc.create:command", "Create a container from a catalog framework or a local image."),
    "open": ("ds01.cli.mlc.open:command", "Open a shell in a container (starts it when needed)."),
    "list": ("ds01.cli.mlc.list:command", "List your containers (ds01's and AIME's)."),
    "stats": ("ds01.cli.mlc.stats:command", "CPU, memory and PIDs of your running containers."),
    "start": ("ds01.cli.mlc.start:command", "Start a container, optionally running a command in it."),
    "stop": ("ds01.cli.mlc.stop:command", "Stop a container."),
    "remove": ("ds01.cli.mlc.remove:command", "Remove a stopped container (-f: also a running one)."),
    "export": ("ds01.cli.mlc.export:command", "Write a container's filesystem and definition to one tar file."),
    "import": ("ds01.cli.mlc.import_:command", "Recreate a container from an export file."),
    "update-sys": ("ds01.cli.mlc.update_sys:command", "Show how ds01 is installed and how to update it."),
}


def version_line() -> str:
    from ds01 import __version__
    from ds01.base.labels import MLC_VERSION

    return f"ds01 mlc version {__version__} (AIME MLC compatible, container format {MLC_VERSION})"


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from ds01.cli.app import App

    ctx.ensure_object(App).terminal.out(version_line())
    ctx.exit(0)


def _add_version_option(group: LazyGroup) -> None:
    import click

    group.params.append(
        click.Option(
            ["-v", "--version"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_show_version,
            help="Print the version and exit.",
        )
    )


# ``group``, the click group, is built on first use: the helpers beside the commands
# (``_common``) are imported by click-free paths too.
__getattr__ = group_on_first_use("mlc", VERBS, _add_version_option)
