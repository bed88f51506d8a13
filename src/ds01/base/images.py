"""The Docker side of the image units: build, list by label, inspect, remove, and which
containers use an image. The only image code that talks to Docker.

Builds go through the low-level SDK ``api.build(..., decode=True)`` so progress streams
line by line; a build is tagged with a temporary tag and moved to its real tag only on
success, so a failed build never replaces a working image.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ds01.base.docker_client import api, client, engine_errors, is_gone
from ds01.errors import NotFound, OperationFailed

MANAGED_LABEL = "ds01.managed"


@dataclass(frozen=True)
class ImageSummary:
    """One image as a listing returns it."""

    id: str
    tags: tuple[str, ...]
    size: int  # bytes
    created: int  # unix time
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class BuildResult:
    """What a build produced: the image id (None on failure), the log, the failing step."""

    image_id: str | None
    log: list[str]
    error: str | None = None
    failed_step: str | None = None

    @property
    def ok(self) -> bool:
        return self.image_id is not None and self.error is None


def image_exists(ref: str) -> bool:
    """True when ``ref`` (name:tag or id) is present locally. Never pulls."""
    import docker.errors

    try:
        with engine_errors(f"inspect image {ref}"):
            api().inspect_image(ref)
        return True
    except NotFound:
        return False
    except OperationFailed as exc:
        cause = exc.__cause__
        if isinstance(cause, docker.errors.NotFound | docker.errors.ImageNotFound):
            return False
        if isinstance(cause, docker.errors.APIError) and cause.status_code == 400:
            # "invalid reference format": no image can have such a name, so none is here.
            return False
        raise


def inspect_image(ref: str) -> dict[str, Any] | None:
    """The engine's inspect data for ``ref``, or None when it does not exist locally."""
    import docker.errors

    try:
        return api().inspect_image(ref)
    except docker.errors.NotFound:
        return None
    except Exception:  # noqa: BLE001 - anything else is an engine problem, translated below
        with engine_errors(f"inspect image {ref}"):
            return api().inspect_image(ref)


def build(
    *,
    context_dir: Path,
    dockerfile: str,
    repository: str,
    tag: str = "latest",
    labels: dict[str, str],
    on_line: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build ``context_dir/dockerfile`` and tag it ``repository:tag`` only when it succeeds.

    The build runs under a temporary tag; on success the image is tagged for real and the
    temporary tag dropped, so the previous ``repository:tag`` stays intact on failure.
    ``on_line`` receives every progress line as it arrives. Never pulls the base image.
    """
    temp_tag = f"ds01-building-{secrets.token_hex(4)}"
    log: list[str] = []
    image_id: str | None = None
    error: str | None = None
    last_step: str | None = None

    def emit(text: str) -> None:
        for line in text.splitlines():
            if not line.strip():
                continue
            log.append(line)
            if on_line is not None:
                on_line(line)

    with engine_errors(f"build {repository}:{tag}"):
        stream = api().build(
            path=str(context_dir),
            dockerfile=dockerfile,
            tag=f"{repository}:{temp_tag}",
            labels=labels,
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
        )
        for chunk in stream:
            if "stream" in chunk:
                text = str(chunk["stream"])
                for line in text.splitlines():
                    if line.startswith("Step "):
                        last_step = line.strip()
                emit(text)
            elif "error" in chunk:
                error = str(chunk.get("error") or chunk.get("errorDetail", {}).get("message", "build failed"))
                emit("ERROR: " + error)
            elif "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                image_id = str(chunk["aux"]["ID"])
            elif "status" in chunk:
                emit(str(chunk["status"]))
    if error is not None:
        _drop_tag(f"{repository}:{temp_tag}")
        return BuildResult(None, log, error, last_step)
    with engine_errors(f"tag the new image as {repository}:{tag}"):
        if image_id is None:
            image_id = str(api().inspect_image(f"{repository}:{temp_tag}")["Id"])
        api().tag(image_id, repository, tag, force=True)
    _drop_tag(f"{repository}:{temp_tag}")
    return BuildResult(image_id, log)


def _drop_tag(ref: str) -> None:
    import docker.errors

    try:
        api().remove_image(ref, noprune=True)
    except docker.errors.APIError:
        pass  # the temporary tag may not exist (a build that failed early)


def list_images(label_filters: list[str]) -> list[ImageSummary]:
    """Images matching every label filter (``key`` or ``key=value``), one API call."""
    with engine_errors("list images"):
        raw = api().images(filters={"label": list(label_filters)})
    return [
        ImageSummary(
            id=str(item["Id"]),
            tags=tuple(t for t in (item.get("RepoTags") or []) if t != "<none>:<none>"),
            size=int(item.get("Size") or 0),
            created=int(item.get("Created") or 0),
            labels=dict(item.get("Labels") or {}),
        )
        for item in raw
    ]


def containers_by_image(image_ids: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """For each image id, the containers created from it: ``[{"id", "name", "state"}]``.

    One sparse listing of all containers, grouped by the image id each records.
    """
    wanted = set(image_ids)
    result: dict[str, list[dict[str, str]]] = {i: [] for i in wanted}
    if not wanted:
        return result
    with engine_errors("list containers"):
        raw = api().containers(all=True)
    for item in raw:
        image_id = item.get("ImageID")
        if image_id in wanted:
            names = item.get("Names") or [""]
            result[image_id].append(
                {"id": item["Id"], "name": names[0].lstrip("/"), "state": item.get("State", "")}
            )
    return result


def remove_containers(container_ids: Iterable[str]) -> list[str]:
    """Force-remove containers (stopping running ones); already-gone ones count as removed."""
    import docker.errors

    removed = []
    for cid in container_ids:
        try:
            with engine_errors(f"remove container {cid[:12]}"):
                try:
                    api().remove_container(cid, force=True, v=False)
                except docker.errors.APIError as exc:
                    if not is_gone(exc):
                        raise
        except NotFound:
            pass
        removed.append(cid)
    return removed


def remove_image(image_id: str) -> None:
    """Remove an image and all its tags (``force`` untags it from every repository)."""
    import docker.errors

    with engine_errors(f"remove image {image_id[:19]}"):
        try:
            api().remove_image(image_id, force=True, noprune=False)
        except docker.errors.NotFound:
            return


def pip_freeze(image: str, *, timeout: int = 60) -> list[str]:
    """What pip reports as installed in ``image``: a short-lived container, no network.

    Returns ``name==version`` lines; an image without pip yields an empty list.
    """
    import docker.errors

    with engine_errors(f"list the packages of {image}"):
        try:
            out = client().containers.run(
                image,
                ["pip", "list", "--format=freeze"],
                remove=True,
                network_disabled=True,
                stdout=True,
                stderr=False,
            )
        except docker.errors.ImageNotFound as exc:
            raise NotFound(f"Image {image} is not present locally; ds01 never pulls it for a listing.") from exc
        except (docker.errors.ContainerError, docker.errors.APIError):
            # No pip in the image (or it exited non-zero): nothing to report.
            return []
    text = out.decode("utf-8", "replace") if isinstance(out, bytes) else str(out)
    return [line.strip() for line in text.splitlines() if line.strip()]
