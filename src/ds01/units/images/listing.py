"""``image list``: the caller's ds01 images with size, age, framework and the containers
that use them (two Docker calls in all: one image listing, one sparse container listing)."""

from __future__ import annotations

import time
from typing import Any

from ds01.identity import Identity
from ds01.records import dataclass
from ds01.timefmt import iso


@dataclass(frozen=True)
class ImageInfo:
    name: str  # repository:tag
    project: str
    id: str
    size: int
    created: int
    framework: str | None
    base_image: str | None
    dockerfile: str | None
    containers: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Stable keys of ``image list --json`` (documented in docs/images.md)."""
        return {
            "name": self.name,
            "project": self.project,
            "id": self.id,
            "size": self.size,
            "created": iso(self.created),
            "framework": self.framework,
            "base_image": self.base_image,
            "dockerfile": self.dockerfile,
            "containers": list(self.containers),
        }


def owner_filters(identity: Identity) -> list[str]:
    """A first cut by label (cheap); ownership itself is ds01's record (``base.images.owner_record``)."""
    return ["ds01.managed=true"]


def list_images(identity: Identity) -> list[ImageInfo]:
    """The caller's images (those ds01 recorded as built for them), newest first."""
    from ds01.base import images as docker_images

    images = [
        img
        for img in docker_images.list_images(owner_filters(identity))
        if (record := docker_images.owner_record(img.id)) is not None and record["uid"] == identity.uid
    ]
    users = docker_images.containers_by_image(i.id for i in images)
    result = []
    for img in images:
        tags = img.tags or (f"<untagged>@{img.id[7:19]}",)
        for tag in tags[:1]:
            result.append(
                ImageInfo(
                    name=tag,
                    project=img.labels.get("ds01.project", ""),
                    id=img.id,
                    size=img.size,
                    created=img.created,
                    framework=img.labels.get("ds01.framework") or None,
                    base_image=img.labels.get("ds01.base_image") or None,
                    dockerfile=img.labels.get("ds01.dockerfile") or None,
                    containers=tuple(c["name"] for c in users.get(img.id, [])),
                )
            )
    result.sort(key=lambda i: (-i.created, i.name))
    return result


def age(created: int, now: float | None = None) -> str:
    seconds = max(0, int((now if now is not None else time.time()) - created))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"
