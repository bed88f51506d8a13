"""``ds01 git-init [PATH] [--lfs]``: a git repository for a project."""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option
from ds01.cli.project._common import absolute, as_caller, asker, force_option, report


@click.command("git-init")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--lfs", is_flag=True, help="Track model and data files (*.pt, *.ckpt, *.parquet, …) with Git LFS.")
@force_option
@json_option
@guided_option
@pass_app
def command(app: App, path: Path | None, lfs: bool, force: bool, as_json: bool) -> None:
    """Make PATH (default: the current directory) a git repository for data science.

    Writes a .gitignore that keeps data, outputs, checkpoints, caches and secrets out of
    git, and makes the first commit when git knows your name and e-mail.
    """
    from ds01.units.project.git import init_repo

    term = app.terminal
    target = absolute(path) or Path.cwd()
    term.guide(
        "git records the history of your code, so you can go back to any earlier version and share "
        "the project. Data, results and model weights stay out of it: they are large and can be rebuilt."
    )
    if lfs:
        term.guide(
            "Git LFS stores large files (model weights, parquet data) outside the normal history, "
            "so the repository stays fast to clone."
        )
    # git runs as the caller (their identity and settings, their hooks with their rights only).
    result = as_caller(app.identity, init_repo, target, lfs=lfs, force=force, ask=asker(term))
    if as_json:
        term.json(result.to_json())
        return
    report(term, result)
    if result.initialized:
        term.success(f"Git repository created in {result.path}")
    else:
        term.success(f"Git repository already in {result.path}")
    if result.committed:
        term.info(f"Initial commit made as {result.identity}.")
    term.guide("Next: a README that explains how to build and run the project.")
    term.next_step(f"ds01 readme-create {result.path}")
