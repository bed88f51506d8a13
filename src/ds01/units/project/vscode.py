"""vscode-setup: VS Code settings for working on a project in its ds01 container.

The path is laptop -> (Remote-SSH) server -> (Dev Containers: Attach) the running ds01
container ``<project>._.<uid>``. This unit writes, in the project directory:

* ``.vscode/settings.json``: keeps VS Code's file watcher and search out of data/, models/,
  outputs/ (watching a large dataset over SSH makes VS Code crawl);
* ``.vscode/extensions.json``: the extensions this path needs;
* ``.vscode/ds01-attach.json``: the attached-container configuration matching the container
  ds01 creates (workspace folder, remote user, extensions). VS Code keeps such files in the
  laptop's user data, so this is the copy to paste into "Dev Containers: Open Named
  Container Configuration File".

It deliberately writes no ``.devcontainer/devcontainer.json``: "Reopen in Container" would
make VS Code build and start its own container, outside ds01's GPU allocation and limits.
The Remote-SSH host entry for the laptop's ``~/.ssh/config`` is returned as text.
"""

from __future__ import annotations

import json
from pathlib import Path

from ds01.errors import UsageError
from ds01.records import dataclass
from ds01.units.project.files import Ask, SetupResult, place_file, ssh_host_entry, validate_project_name

SEPARATOR = "._."  # AIME's container name separator: <name>._.<uid>
WORKSPACE_FOLDER = "/workspace"
EXTENSIONS: tuple[str, ...] = ("ms-python.python", "ms-toolsai.jupyter")
LAPTOP_EXTENSIONS: tuple[str, ...] = ("ms-vscode-remote.remote-ssh", "ms-vscode-remote.remote-containers")
HEAVY_FOLDERS: tuple[str, ...] = ("data", "models", "outputs", "checkpoints", "wandb", "mlruns")


def container_name(project: str, uid: int) -> str:
    return f"{project}{SEPARATOR}{uid}"


def _dump(obj: object) -> str:
    return json.dumps(obj, indent=4) + "\n"


def settings_json() -> str:
    watcher = {f"**/{name}/**": True for name in HEAVY_FOLDERS}
    search = {f"**/{name}": True for name in HEAVY_FOLDERS}
    search["**/.ipynb_checkpoints"] = True
    return _dump(
        {
            "files.watcherExclude": watcher,
            "search.exclude": search,
            "files.exclude": {"**/__pycache__": True, "**/.ipynb_checkpoints": True},
            "jupyter.notebookFileRoot": "${workspaceFolder}",
            "python.terminal.activateEnvironment": False,
        }
    )


def extensions_json() -> str:
    return _dump({"recommendations": [*EXTENSIONS, *LAPTOP_EXTENSIONS]})


def attach_config(user: str, workspace_folder: str = WORKSPACE_FOLDER) -> dict:
    """The attached-container configuration for a ds01 container (VS Code's schema)."""
    return {
        "workspaceFolder": workspace_folder,
        "remoteUser": user,
        "extensions": list(EXTENSIONS),
        "settings": {"terminal.integrated.defaultProfile.linux": "bash"},
    }


@dataclass
class VscodeResult(SetupResult):
    project: str = ""
    container: str = ""
    remote_user: str = ""
    workspace_folder: str = WORKSPACE_FOLDER
    ssh_entry: str = ""
    attach_config: dict | None = None

    def to_json(self) -> dict:
        data = super().to_json()
        data.update(
            project=self.project,
            container=self.container,
            remote_user=self.remote_user,
            workspace_folder=self.workspace_folder,
            ssh_entry=self.ssh_entry,
            attach_config=self.attach_config,
        )
        return data


def setup_vscode(
    project: str,
    project_dir: Path,
    *,
    user: str,
    uid: int,
    host_alias: str,
    hostname: str,
    workspace_folder: str = WORKSPACE_FOLDER,
    force: bool = False,
    ask: Ask | None = None,
) -> VscodeResult:
    """Write the project's VS Code files and return the laptop-side snippets.

    Idempotent: files that already hold exactly this content are unchanged; files the user
    changed are kept unless ``force`` or ``ask`` allows replacing them.
    """
    validate_project_name(project)
    root = Path(project_dir).expanduser().absolute()
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory; create the project first (ds01 dir-create {project}).")
    if not workspace_folder.startswith("/"):
        raise UsageError(f"The workspace folder {workspace_folder!r} must be an absolute path inside the container.")
    attach = attach_config(user, workspace_folder)
    result = VscodeResult(
        unit="vscode-setup",
        path=root,
        project=project,
        container=container_name(project, uid),
        remote_user=user,
        workspace_folder=workspace_folder,
        ssh_entry=ssh_host_entry(host_alias, hostname, user),
        attach_config=attach,
    )
    vscode = root / ".vscode"
    if vscode.exists() and not vscode.is_dir():
        raise UsageError(f"{vscode} exists and is not a directory; move it away and run vscode-setup again.")
    place_file(result, vscode / "settings.json", settings_json(), force=force, ask=ask)
    place_file(result, vscode / "extensions.json", extensions_json(), force=force, ask=ask)
    place_file(result, vscode / "ds01-attach.json", _dump(attach), force=force, ask=ask)
    return result
