"""The click command tree: thin commands that parse, call one function, render, map errors.

``main`` is the ``ds01`` entry point. It dispatches on the name it was started as, runs the
tree, and turns every ``Ds01Error`` into one plain sentence on stderr and the documented
exit code (SPEC §2). A Python traceback is shown only with ``DS01_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys


def _terminal():
    from ds01.terminal import Terminal

    return Terminal()


def run(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run one command line; return the exit code (never raises for expected failures)."""
    prog_name = os.path.basename(prog if prog is not None else sys.argv[0])
    args = list(sys.argv[1:] if argv is None else argv)
    # Only what a command line needs is imported: the alias table for a symlink's name,
    # the help renderer for a root-level --help/--version (``fasthelp.try_fast_path``).
    if prog_name not in ("ds01", "__main__.py", "__main__", "") and not prog_name.startswith("python"):
        from ds01.cli.tree import translate_argv0

        args = translate_argv0(prog_name, args)
    if len(args) == 1 and args[0] in ("--version", "-V", "--help", "-h", "--info"):
        from ds01.cli.fasthelp import try_fast_path

        fast = try_fast_path(args)
        if fast is not None:
            sys.stdout.write(fast)
            sys.stdout.flush()
            return 0

    # The plain listings, starts and creates, without click (``cli.listings``, ``cli.starts``,
    # ``cli.creates``); None: not one of them.
    verb = args[1] if len(args) > 1 else ""
    if verb == "start":
        from ds01.cli.starts import fast as fast_path
    elif verb == "create":
        from ds01.cli.creates import fast as fast_path
    else:
        from ds01.cli.listings import fast as fast_path

    try:
        code = fast_path(args)
    except KeyboardInterrupt:
        _terminal().error("Interrupted.")
        return 130
    except Exception as exc:  # noqa: BLE001 - reported as every command reports (see _failed)
        return _failed(exc)
    if code is not None:
        return code

    import click

    from ds01.cli.root import root

    try:
        rv = root.main(args=args, prog_name="ds01", standalone_mode=False)
    except click.exceptions.Abort:
        # click turns Ctrl-C (and EOF at a click prompt) into Abort.
        _terminal().error("Interrupted.")
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - Ds01Error, a closed pipe, or the last line of defence
        return _failed(exc)
    except KeyboardInterrupt:
        _terminal().error("Interrupted.")
        return 130
    return rv if isinstance(rv, int) else 0


def _failed(exc: Exception) -> int:
    """Report a failure of a command the way every command reports one; the exit code."""
    from ds01.errors import Ds01Error, ExitCode

    debug = os.environ.get("DS01_DEBUG") == "1"
    if isinstance(exc, Ds01Error):
        if debug:
            raise exc
        term = _terminal()
        term.error(exc.message)
        for line in exc.details:
            term.info("  " + line)
        if exc.hint:
            term.hint(exc.hint)
        return int(exc.exit_code)
    if isinstance(exc, BrokenPipeError):
        # The reader went away (``ds01 gpu status | head``): not an error of ours.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stdout for the rest of the process
        except OSError:
            pass
        return 0
    # The last line of defence: no traceback for users.
    if debug:
        raise exc
    _terminal().error(f"internal error ({type(exc).__name__}: {exc}). Re-run with DS01_DEBUG=1 for the details.")
    return int(ExitCode.FAILED)


def main() -> None:
    # Secure mode: a non-root caller goes through sudo and ds01's root entry point (SPEC §9).
    if os.geteuid() != 0:  # root never re-executes (reexec_if_secure); it need not even be imported
        from ds01.secure_entry import reexec_if_secure

        reexec_if_secure()
    sys.exit(run())
