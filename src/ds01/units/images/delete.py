"""``image delete``: remove the caller's images, refusing while a container uses one.

With ``force`` the containers using the image are removed first (through ``ds01.base``)
and their GPU slots released through the GPU service (reconciliation would free them too,
later, since their containers no longer exist). Only the caller's own containers are ever
removed: while another user's container uses the image, nothing is deleted (an admin may).
"""

from __future__ import annotations

from typing import Any

from ds01.errors import NotFound, PolicyRefused
from ds01.identity import Identity
from ds01.records import dataclass, field
from ds01.units.images.common import image_name, project_of
from ds01.units.images.listing import ImageInfo, list_images


@dataclass
class DeletePlan:
    images: list[ImageInfo]
    blocked: dict[str, list[str]] = field(default_factory=dict)  # image name -> container names
    identity: Identity | None = None
    admin: bool = False


@dataclass
class DeleteResult:
    deleted: list[str]
    containers_removed: list[str]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"deleted": self.deleted, "containers_removed": self.containers_removed}


def plan_delete(names: list[str], identity: Identity, *, admin: bool = False) -> DeletePlan:
    """Resolve NAMEs (``proj``, ``proj-image``, ``proj-image:latest``, or a name as ``image list`` shows
    it, such as ``<untagged>@<id>`` for an image a rebuild replaced) among the caller's images."""
    mine = list_images(identity)
    by_repo = {info.name.split(":", 1)[0]: info for info in mine}
    # Names exactly as `image list` shows them, also an old build's `<untagged>@<id>`.
    by_name = {info.name: info for info in mine}
    chosen: list[ImageInfo] = []
    missing = []
    for name in names:
        info = by_name.get(name) or by_repo.get(image_name(project_of(name)))
        if info is None:
            missing.append(name)
        elif info not in chosen:
            chosen.append(info)
    if missing:
        raise NotFound(
            f"No image named {', '.join(missing)} for you; `ds01 image list` shows your images. Nothing was deleted."
        )
    return DeletePlan(
        chosen, {i.name: list(i.containers) for i in chosen if i.containers}, identity, admin or identity.is_root
    )


def is_callers_container(container: dict[str, str], identity: Identity) -> bool:
    """A container is the caller's when its Docker name ends in ``._.<their uid>`` (the name ds01
    gives it) and its owner label names them; a name or a label alone proves nothing."""
    from ds01.base.names import split_docker_name

    _, uid = split_docker_name(container.get("name", ""))
    return uid == identity.uid and container.get("user") == identity.name


def delete(plan: DeletePlan, *, force: bool = False) -> DeleteResult:
    from ds01.base import images as docker_images

    if plan.blocked and not force:
        uses = "; ".join(f"{img} by {', '.join(c)}" for img, c in plan.blocked.items())
        raise PolicyRefused(
            f"Image in use ({uses}); remove those containers first or pass --force to remove them too. "
            "Nothing was deleted."
        )
    removed_containers: list[str] = []
    warnings: list[str] = []
    if force:
        users = docker_images.containers_by_image(i.id for i in plan.images)
        if not plan.admin and plan.identity is not None:
            others = [c for cs in users.values() for c in cs if not is_callers_container(c, plan.identity)]
            if others:
                raise PolicyRefused(
                    f"Another user's container uses {'this image' if len(plan.images) == 1 else 'these images'}; "
                    "--force removes only your own containers, so nothing was deleted."
                )
        for info in plan.images:
            ids = [c["id"] for c in users.get(info.id, [])]
            docker_images.remove_containers(ids)
            removed_containers += [c["name"] for c in users.get(info.id, [])]
        if removed_containers:
            warnings = _release_gpus(removed_containers)
    deleted = []
    for info in plan.images:
        docker_images.remove_image(info.id)
        docker_images.forget_owner(info.id)
        deleted.append(info.name)
    return DeleteResult(deleted, removed_containers, warnings)


def _release_gpus(containers: list[str]) -> list[str]:
    """Free the GPU slots of removed containers; a failure is reported, not fatal (the
    containers are gone, so the next reconciliation frees the slots anyway)."""
    from ds01.errors import Ds01Error
    from ds01.gpu import service

    warnings = []
    for name in containers:
        try:
            service.release(name, reason="image deleted")
        except Ds01Error as exc:
            warnings.append(f"GPU slot of {name} not released now ({exc.message}); reconciliation will free it.")
    return warnings
