"""A container as a listing sees it (``ContainerInfo``), and the listing of one user's or
everyone's mlc containers from one sparse request.

Kept apart from ``container_spec`` (which validates what a create asks for and brings the
mount and hardening policies) so that ``mlc list`` and ``container list`` load only this,
``labels`` and ``sparse``.
"""

from __future__ import annotations

from ds01.base import labels as lbl
from ds01.base.names import split_docker_name
from ds01.records import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    docker_name: str
    name: str
    user: str
    uid: int | None
    image: str
    state: str
    status: str
    created: int
    labels: dict[str, str]
    size_rw: int | None = None
    size_root_fs: int | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def alive(self) -> bool:
        """Running, paused (frozen by ``docker pause``: its processes and GPU memory stay) or
        restarting: not stopped, so it holds what it holds, is stopped by a stop and may not be
        removed without force."""
        return self.state in ("running", "paused", "restarting")

    @property
    def ds01_managed(self) -> bool:
        return lbl.is_ds01_managed(self.labels)

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` object of ``mlc list`` (documented in docs/mlc.md)."""
        get = self.labels.get
        return {
            "name": self.name,
            "docker_name": self.docker_name,
            "id": self.id[:12],
            "user": self.user,
            "uid": self.uid,
            "image": self.image,
            "framework": get(f"{lbl.AIME}.FRAMEWORK"),
            "arch": get(f"{lbl.AIME}.ARCH"),
            "gpus": get(f"{lbl.AIME}.GPUS"),
            "state": self.state,
            "status": self.status,
            "running": self.running,
            "ds01_managed": self.ds01_managed,
            "workspace": lbl.mount_value(get(f"{lbl.AIME}.WORK_MOUNT")),
            "data": lbl.mount_value(get(f"{lbl.AIME}.DATA_MOUNT")),
            "models": lbl.mount_value(get(f"{lbl.AIME}.MODELS_MOUNT")),
            "created": self.created,
            "size_rw": self.size_rw,
            "size_root_fs": self.size_root_fs,
        }


def _info(
    cid: str,
    name: str,
    image: str,
    state: str,
    status: str,
    created: int,
    labels: dict[str, str],
    size_rw: int | None,
    size_root_fs: int | None,
) -> ContainerInfo:
    display, uid = split_docker_name(name)
    user = labels.get(lbl.AIME) or labels.get(f"{lbl.AIME}.USER") or labels.get("ds01.user", "")
    return ContainerInfo(
        cid,
        name,
        labels.get(f"{lbl.AIME}.NAME", display),
        user,
        uid,
        image,
        state,
        status,
        created,
        labels,
        size_rw,
        size_root_fs,
    )


def info_from_api(item: dict[str, Any]) -> ContainerInfo:
    """The info of one object of the engine's ``/containers/json``."""
    names = item.get("Names") or [""]
    return _info(
        item["Id"],
        names[0].lstrip("/"),
        item.get("Image", ""),
        item.get("State", ""),
        item.get("Status", ""),
        int(item.get("Created", 0)),
        dict(item.get("Labels") or {}),
        item.get("SizeRw"),
        item.get("SizeRootFs"),
    )


def sort_infos(infos: list[ContainerInfo]) -> list[ContainerInfo]:
    return sorted(infos, key=lambda i: (i.user, i.name))


def list_infos(
    owner: str | None, *, running_only: bool = False, size: bool = False, every: bool = False
) -> list[ContainerInfo]:
    """mlc containers of ``owner`` (a login; None = every user's), ds01's and AIME's, one API call.
    ``every``: every container on the engine, mlc or not (``owned_by`` picks one user's)."""
    from ds01.base import docker_client as dc

    filters = None if every else lbl.owner_filter(owner)
    return sort_infos(dc.list_containers(filters, all=not running_only, size=size))


def owned_by(infos: list[ContainerInfo], owner: str | None) -> list[ContainerInfo]:
    """What ``list_infos(owner)`` would have listed, picked from a listing of every container:
    the engine's label filter ``aime.mlc[=owner]``, applied here."""
    return [i for i in infos if lbl.AIME in i.labels and (owner is None or i.labels[lbl.AIME] == owner)]
