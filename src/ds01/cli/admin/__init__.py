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
    "report": ("ds01.cli.admin.report:command", "Usage per user or group: GPU-hours, container-hours, refusals."),
}

group = LazyGroup(name="admin", help=NOUNS["admin"], lazy=VERBS, no_args_is_help=True)
