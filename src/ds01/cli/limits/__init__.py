"""`ds01 limits …`: show, check and migrate the per-user limits of resource-limits.yaml.

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves.
"""

from __future__ import annotations

from ds01.cli.lazy import LazyGroup, LazySpec
from ds01.cli.tree import NOUNS

VERBS: LazySpec = {
    "show": ("ds01.cli.limits.show:command", "Show a user's resolved limits and where each comes from."),
    "check": ("ds01.cli.limits.check:command", "Validate resource-limits.yaml without acting."),
    "migrate": ("ds01.cli.limits.migrate:command", "Rewrite an original DS01 config into ds01's format."),
}

group = LazyGroup(name="limits", help=NOUNS["limits"], lazy=VERBS, no_args_is_help=True)
