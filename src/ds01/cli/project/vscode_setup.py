"""``ds01 vscode-setup [PROJECT]``: VS Code Remote-SSH and attach-to-container settings."""

from __future__ import annotations

from pathlib import Path

import click

from ds01.cli.app import App, pass_app
from ds01.cli.options import guided_option, json_option
from ds01.cli.project._common import absolute, as_caller, asker, force_option, report


@click.command("vscode-setup")
@click.argument("project", required=False)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project directory (default: ~/workspace/PROJECT).",
)
@click.option("--host-alias", help="The server's name in your laptop's ~/.ssh/config (default: its host name).")
@click.option("--hostname", help="This server's address as your laptop reaches it (default: its FQDN).")
@click.option(
    "--workspace-folder",
    default="/workspace",
    show_default=True,
    help="The folder VS Code opens inside the container.",
)
@force_option
@json_option
@guided_option
@pass_app
def command(
    app: App,
    project: str | None,
    directory: Path | None,
    host_alias: str | None,
    hostname: str | None,
    workspace_folder: str,
    force: bool,
    as_json: bool,
) -> None:
    """Write PROJECT's .vscode settings and print the laptop-side Remote-SSH entry.

    The attach configuration matches the container ds01 creates for PROJECT
    (PROJECT._.UID, your user, /workspace). Re-running changes nothing.
    """
    from ds01.units.project.files import (
        default_host_alias,
        default_project_dir,
        home_of,
        server_hostname,
        validate_project_name,
    )
    from ds01.units.project.vscode import setup_vscode

    term = app.terminal
    ident = app.identity
    if project is None:
        project = term.ask("Project name:", what="PROJECT").strip()
    validate_project_name(project)
    fqdn = hostname or server_hostname()
    alias = host_alias or default_host_alias(fqdn)
    term.guide(
        "VS Code runs on your laptop. Remote-SSH connects it to this server; the Dev Containers "
        "extension then attaches it to your running ds01 container, so code runs on the GPU."
    )
    project_dir = absolute(directory) or default_project_dir(project, home_of(ident))
    result = as_caller(
        ident,
        setup_vscode,
        project,
        project_dir,
        user=ident.name,
        uid=ident.uid,
        host_alias=alias,
        hostname=fqdn,
        workspace_folder=workspace_folder,
        force=force,
        ask=asker(term),
    )
    if as_json:
        term.json(result.to_json())
        return
    report(term, result)
    term.success(f"VS Code settings for {project} in {result.path / '.vscode'}")
    term.info("1. On your laptop, install the extensions Remote - SSH and Dev Containers.")
    term.info("2. Add this to ~/.ssh/config on your laptop:")
    term.out(result.ssh_entry.rstrip())
    term.info(f"3. In VS Code: Remote-SSH: Connect to Host… → {alias}")
    term.info(
        f"4. Start the container here (ds01 container run {project}), then in VS Code: "
        f"Dev Containers: Attach to Running Container… → {result.container}"
    )
    term.info(
        "5. Once attached, run 'Dev Containers: Open Named Container Configuration File' and paste "
        f"{result.path / '.vscode' / 'ds01-attach.json'}, so VS Code opens {workspace_folder} as {ident.name}."
    )
    term.guide(
        "The folders data/, models/ and outputs/ are excluded from VS Code's search and file watcher, "
        "which keeps it fast with large datasets."
    )
