"""The image question of ``container create`` and ``deploy``: asked only when no flag chose one.

The unit (``ds01.units.containers.create``) says what may be chosen (``image_choices``: the
local images the caller may run, with the verdict of ``policy.images``; ``catalog_choices``:
the catalog's frameworks and versions); the answer goes back into the request as ``--image``
or FRAMEWORK VERSION, so the flag-driven path and the asked one create alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ds01.errors import UsageError
from ds01.records import replace

if TYPE_CHECKING:
    from ds01.limits.config import Config
    from ds01.terminal import Terminal
    from ds01.units.containers.create import CreateRequest

CATALOG_CHOICE = "A framework from the catalog…"


def choose_image(term: Terminal, config: Config, req: CreateRequest) -> CreateRequest:
    """``req`` with its image settled: unchanged when ``--image``, FRAMEWORK VERSION or an existing
    ``NAME-image`` settle it; otherwise the picker (own images first, then the others, last a
    framework from the catalog). Without a terminal to ask on: exit 2 with what to pass."""
    from ds01.units.containers import create as unit

    if req.image or (req.framework and req.version):
        return req
    if req.framework:
        return _catalog(term, config, req)  # FRAMEWORK given: only its VERSION is asked
    choices = unit.image_choices(config, req)
    if choices is None:
        return req  # NAME-image
    if not term.can_prompt():
        raise UsageError(choices.missing)
    term.info(f"There is no {choices.default} yet (build one with `{choices.build}`); pick an image instead.")
    offered = [c.ref for c in choices.images]
    picked = term.choose("Image for the container:", [*offered, CATALOG_CHOICE], what="an image (--image)")
    if picked == CATALOG_CHOICE:
        return _catalog(term, config, req)
    return replace(req, image=picked)


def _catalog(term: Terminal, config: Config, req: CreateRequest) -> CreateRequest:
    from ds01.units.containers import create as unit

    cat = unit.catalog_choices(config, req.arch)
    framework = req.framework or term.choose("Framework:", cat.frameworks(), what="a FRAMEWORK")
    framework = cat.canonical_framework(framework)
    version = req.version or term.choose("Version:", cat.versions(framework), what="a VERSION")
    return replace(req, image=None, framework=framework, version=version, arch=cat.arch)
