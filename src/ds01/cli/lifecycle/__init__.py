"""`ds01 lifecycle …`: the scheduled pass that enforces idle and runtime limits.

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves.
"""

from __future__ import annotations

from ds01.cli.lazy import LazyGroup, LazySpec
from ds01.cli.tree import NOUNS

VERBS: LazySpec = {
    "run": ("ds01.cli.lifecycle.run:command", "One pass: sample, warn, stop idle/over-runtime, release, remove."),
}

group = LazyGroup(name="lifecycle", help=NOUNS["lifecycle"], lazy=VERBS, no_args_is_help=True)
