"""`ds01 project …`: project setup units and the ``project init`` orchestrator.

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves.
"""

from __future__ import annotations

from ds01.cli.lazy import LazyGroup, LazySpec
from ds01.cli.tree import NOUNS

VERBS: LazySpec = {
    "init": ("ds01.cli.project.init:command", "Set up a whole project: folders, git, README, image, container."),
    "dir-create": ("ds01.cli.project.dir_create:command", "Create a project's folders (data, notebooks, src, …)."),
    "git-init": ("ds01.cli.project.git_init:command", "Make a project a git repository (.gitignore, Git LFS)."),
    "readme-create": ("ds01.cli.project.readme_create:command", "Write the project's README.md."),
    "ssh-setup": ("ds01.cli.project.ssh_setup:command", "SSH key pair and host entry for this server."),
    "vscode-setup": ("ds01.cli.project.vscode_setup:command", "VS Code Remote-SSH and container settings."),
}

group = LazyGroup(name="project", help=NOUNS["project"], lazy=VERBS, no_args_is_help=True)
