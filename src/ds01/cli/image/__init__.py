"""`ds01 image …`: the caller's own images, built on framework images (Tier 2 units).

Each verb lives in its own module here; ``VERBS`` maps verb -> (import path, one-line help)
so that help listings never import the verbs themselves.
"""

from __future__ import annotations

from ds01.cli.lazy import LazyGroup, LazySpec
from ds01.cli.tree import NOUNS

VERBS: LazySpec = {
    "create": ("ds01.cli.image.create:command", "Write a Dockerfile phase by phase and build PROJECT-image."),
    "update": ("ds01.cli.image.update:command", "Add or remove packages by category and rebuild."),
    "list": ("ds01.cli.image.list:command", "Your images: size, created, framework, containers using them."),
    "delete": ("ds01.cli.image.delete:command", "Delete your images (refused while a container uses one)."),
    "bases": ("ds01.cli.image.bases:command", "The server's base images you can build on, and what each contains."),
}

group = LazyGroup(name="image", help=NOUNS["image"], lazy=VERBS, no_args_is_help=True)
