"""`ds01 admin …`: administration commands (symlinks, slices, users, installation).

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves.
"""

from __future__ import annotations

from ds01.cli.lazy import LazyGroup, LazySpec
from ds01.cli.tree import NOUNS

VERBS: LazySpec = {
    "symlinks": ("ds01.cli.admin.symlinks:command", "Install container-create, image-list, … as symlinks."),
    "sudoers": ("ds01.cli.admin.sudoers:command", "Secure mode: install the root entry point and its sudoers rule."),
    "install": ("ds01.cli.admin.install:install", "Install ds01 on this server (idempotent; --root for staging)."),
    "uninstall": ("ds01.cli.admin.install:uninstall", "Remove what `admin install` made (data only with --purge)."),
    "doctor": ("ds01.cli.admin.doctor:command", "Check the installation: one line per check, with its fix."),
    "setup-slices": (
        "ds01.cli.admin.setup_slices:command",
        "Cap each group's containers together (CPU, memory, tasks).",
    ),
    "add-user": (
        "ds01.cli.admin.users:add_user",
        "Add a user to a group (config, and the docker group in group mode).",
    ),
    "users": ("ds01.cli.admin.users:users", "Every known user: group, priority, containers, slots, last activity."),
    "report": ("ds01.cli.admin.report:command", "Usage per user or group: GPU-hours, container-hours, refusals."),
}

group = LazyGroup(name="admin", help=NOUNS["admin"], lazy=VERBS, no_args_is_help=True)
