"""`ds01 monitor …`: idle detection, dashboards and metrics.

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves.
"""

from __future__ import annotations

from ds01.cli.lazy import LazyGroup, LazySpec
from ds01.cli.tree import NOUNS

VERBS: LazySpec = {
    "idle": ("ds01.cli.monitor.idle:command", "Running containers: idle since, evidence, time to warning and stop."),
    "dashboard": ("ds01.cli.monitor.dashboard:command", "A live view of slots, containers, users and events."),
    "metrics": ("ds01.cli.monitor.metrics:command", "Prometheus metrics over HTTP or as a node_exporter textfile."),
}

group = LazyGroup(name="monitor", help=NOUNS["monitor"], lazy=VERBS, no_args_is_help=True)
