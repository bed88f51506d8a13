"""`ds01 user …`: onboarding wizards (Tier 4).

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves.
"""

from __future__ import annotations

from ds01.cli.lazy import LazyGroup, LazySpec
from ds01.cli.tree import NOUNS

VERBS: LazySpec = {
    "setup": ("ds01.cli.user.setup:command", "First-time setup, explained: SSH, a project, its container, VS Code."),
    "new": ("ds01.cli.user.setup:command", "Same as `user setup`."),
    "new-project": ("ds01.cli.user.new_project:command", "A new project in one go (streamlined)."),
}

group = LazyGroup(name="user", help=NOUNS["user"], lazy=VERBS, no_args_is_help=True)
