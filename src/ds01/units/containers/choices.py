"""What a create that names no image may choose from: the catalog's frameworks and versions,
and the local images the caller may run (``create.catalog_choices``, ``create.image_choices``).

Apart from ``create`` so that a create whose image is given as flags does not define them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ds01.records import dataclass

if TYPE_CHECKING:
    from ds01.base.catalog import Catalog


@dataclass(frozen=True)
class CatalogChoices:
    """The catalog's frameworks and versions for the architecture a catalog image would get."""

    arch: str
    catalog: Catalog

    def frameworks(self) -> list[str]:
        return self.catalog.frameworks(self.arch)

    def canonical_framework(self, framework: str) -> str:
        """The catalog's spelling of ``framework`` (``pytorch`` -> ``Pytorch``), as ``create`` reads it."""
        return self.catalog.canonical_framework(framework)

    def versions(self, framework: str) -> list[str]:
        return self.catalog.versions(self.canonical_framework(framework), self.arch)


@dataclass(frozen=True)
class ImageCandidate:
    """A local image the caller may run, with the verdict of ``policy.images`` that allows it."""

    ref: str
    why: str  # "own" (their project image) | "catalog" | "allowed" (security.allowed_base_images)


@dataclass(frozen=True)
class ImageChoices:
    """What a request that names no image may choose from: its ``NAME-image`` is missing, so it
    takes one of ``images`` (``--image``) or a catalog FRAMEWORK VERSION."""

    default: str  # NAME-image, not on this server
    build: str  # the command that would build it
    images: list[ImageCandidate]  # the caller's own first, then the others, each sorted

    @property
    def missing(self) -> str:
        """The refusal when nobody can be asked: what to pass instead."""
        return (
            f"No image given and {self.default} does not exist; pass --image IMG or FRAMEWORK VERSION, "
            f"or build it first with `{self.build}`."
        )
