"""The server's base images: what a student may build an image on, and what each contains.

One list, made here and nowhere else: the catalog's images that are present on this server,
then the images an admin lists in ``security.allowed_base_images`` (those not present locally
too, marked absent, so an admin sees a name that points nowhere). Whether the caller may use
each one is ``ds01.policy.images.judge``'s word, the same rule that builds and containers obey;
an image the rule refuses (say, one ds01 built for another user under a catalog name) is left out
without a word about whose it is. ``image bases`` prints this list and the ``image create``
wizard offers it as a picker.

What an image contains comes from its catalog row (framework, version, architectures) and from
its labels: ``org.opencontainers.image.description``/``title``/``version`` and ds01's own build
labels (``ds01.framework``, ``ds01.base_image``). Labels are the image author's text: control
characters are dropped and the text is cut short.
"""

from __future__ import annotations

from typing import Any

from ds01.errors import Ds01Error
from ds01.identity import Identity
from ds01.policy import images as image_policy
from ds01.records import dataclass
from ds01.units.images.packages import ImageSettings

CATALOG, ALLOWED = "catalog", "allowed"
DESCRIPTION_LIMIT = 120


@dataclass(frozen=True)
class BaseImage:
    """One base image of this server."""

    ref: str
    source: str  # CATALOG | ALLOWED
    present: bool  # present locally (ds01 never pulls one)
    image_id: str | None = None
    size: int | None = None  # bytes
    framework: str | None = None  # from the catalog row
    version: str | None = None
    archs: tuple[str, ...] = ()
    contains: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "source": self.source,
            "present": self.present,
            "image_id": self.image_id,
            "size": self.size,
            "framework": self.framework,
            "version": self.version,
            "archs": list(self.archs),
            "contains": self.contains,
        }

    def choice(self) -> str:
        """The line the picker shows for it."""
        return f"{self.ref}  ({self.contains})" if self.contains else self.ref


def clean(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """Label text fit to print: printable characters only, one line, at most ``limit`` long."""
    flat = "".join(c if c.isprintable() else " " for c in str(text))
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def describe(
    labels: dict[str, str], *, framework: str | None = None, version: str | None = None, archs: tuple[str, ...] = ()
) -> str:
    """What an image contains, in a few words: its catalog row, then what its labels say."""
    parts: list[str] = []
    if framework:
        parts.append(" ".join(p for p in (framework, version) if p) + (f" for {', '.join(archs)}" if archs else ""))
    description = labels.get("org.opencontainers.image.description", "")
    title = " ".join(
        v
        for v in (labels.get("org.opencontainers.image.title", ""), labels.get("org.opencontainers.image.version", ""))
        if v
    )
    if description:
        parts.append(description)
    elif title:
        parts.append(title)
    built_framework = labels.get("ds01.framework", "")
    if not framework and built_framework:
        parts.append(built_framework.replace("-", " ", 1))
    built_on = labels.get("ds01.base_image", "")
    if built_on:
        parts.append(f"built by ds01 on {built_on}")
    return clean("; ".join(p for p in parts if p))


def _catalog_entries(settings: ImageSettings) -> list[Any]:
    from ds01.base import catalog as _catalog

    try:
        cat = _catalog.load_catalog(aime_catalog=settings.aime_catalog or _catalog.DEFAULT_AIME_CATALOG)
    except Ds01Error:
        return []  # an unreadable catalog offers nothing; the admin's list still does
    return list(cat.entries)


def bases(settings: ImageSettings, identity: Identity) -> list[BaseImage]:
    """The base images of this server that ``identity`` may build on: catalog images present
    here (one line per image; the architectures of its rows merged), then the admin's
    ``security.allowed_base_images`` in their order (absent ones marked ``present=False``)."""
    from ds01.base import images as docker_images

    local = docker_images.list_images([])  # one listing: which catalog images are here, and sizes
    by_tag = {image_policy.normalize(t): s for s in local for t in s.tags}
    sizes = {s.id: s.size for s in local}

    # Catalog rows whose image is here, first row first (AIME's rule); architectures merged.
    rows: dict[str, dict[str, Any]] = {}
    for entry in _catalog_entries(settings):
        key = image_policy.normalize(entry.image)
        if key not in by_tag:
            continue
        row = rows.setdefault(
            key, {"ref": entry.image, "framework": entry.framework, "version": entry.version, "archs": []}
        )
        row["archs"].extend(a for a in entry.archs if a not in row["archs"])
    catalog_refs = [row["ref"] for row in rows.values()]

    allowed = list(dict.fromkeys(settings.allowed_base_images))
    allowed_facts = {ref: docker_images.facts(ref) for ref in allowed}
    allowed_ids = {f.id for f in allowed_facts.values() if f.id}

    def verdict(found: Any) -> image_policy.Verdict:
        return image_policy.judge(
            identity.uid,
            ref=found.ref,
            image_id=found.id,
            tags=found.tags,
            owner_uid=found.owner_uid,
            catalog_refs=catalog_refs,
            allowed_refs=allowed,
            allowed_ids=allowed_ids,
        )

    result: list[BaseImage] = []
    seen: set[str] = set()
    for row in rows.values():
        found = docker_images.facts(row["ref"])
        if found.id is None or not verdict(found).allowed:
            continue
        seen.add(found.id)
        archs = tuple(row["archs"])
        result.append(
            BaseImage(
                ref=row["ref"],
                source=CATALOG,
                present=True,
                image_id=found.id,
                size=sizes.get(found.id),
                framework=row["framework"],
                version=row["version"],
                archs=archs,
                contains=describe(found.labels, framework=row["framework"], version=row["version"], archs=archs),
            )
        )
    for ref in allowed:
        found = allowed_facts[ref]
        if found.id is None:
            result.append(BaseImage(ref=ref, source=ALLOWED, present=False))
            continue
        if found.id in seen or not verdict(found).allowed:
            continue  # listed already (a catalog image the admin also allows), or refused by the rule
        seen.add(found.id)
        result.append(
            BaseImage(
                ref=ref,
                source=ALLOWED,
                present=True,
                image_id=found.id,
                size=sizes.get(found.id),
                contains=describe(found.labels),
            )
        )
    return result
