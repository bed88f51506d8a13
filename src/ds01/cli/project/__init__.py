"""`ds01 project …`: project setup units and the ``project init`` orchestrator.

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves.
"""

from __future__ import annotations

from ds01.cli.lazy import LazyGroup, LazySpec
from ds01.cli.tree import NOUNS

VERBS: LazySpec = {}

group = LazyGroup(name="project", help=NOUNS["project"], lazy=VERBS, no_args_is_help=True)
