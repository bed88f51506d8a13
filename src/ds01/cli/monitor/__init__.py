"""`ds01 monitor …`: idle detection, dashboards and metrics.

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves.
"""

from __future__ import annotations

from ds01.cli.lazy import LazyGroup, LazySpec
from ds01.cli.tree import NOUNS

VERBS: LazySpec = {
    "idle": ("ds01.cli.monitor.idle:command", "Running containers: idle since, evidence, time to warning and stop."),
}

group = LazyGroup(name="monitor", help=NOUNS["monitor"], lazy=VERBS, no_args_is_help=True)
