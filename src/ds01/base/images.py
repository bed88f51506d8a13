"""The Docker side of the image units: build, list by label, inspect, remove, and which
containers use an image. The only image code that talks to Docker.

Listings, inspects and removals (of images and of the containers using them) are spoken by
hand over the engine's socket (``engine_api``), so ``image list`` and ``image delete`` do not
load the Docker SDK. Builds go through the low-level SDK ``api.build(..., decode=True)`` so
progress streams line by line; a build is tagged with a temporary tag and moved to its real tag only on
success, so a failed build never replaces a working image.

The build context is a tar that ``write_context`` makes *as the caller* (it runs in
``privsep.run_as``) into a temporary file root opened: root never walks a folder the caller
controls, holds no copy of the context in memory, and the Dockerfile that ds01 checks is byte
for byte the one Docker builds.

Which user a project image belongs to is ds01's own record, kept in the state folder and keyed
by image id (``DS01_STATE_DIR/images/<id>.json``), never a label: a Dockerfile can write any
label it likes. ``facts`` gathers what ``ds01.policy.images`` needs to decide.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ds01.base import image_etc
from ds01.base.docker_client import BadRequest, EngineNotFound, api, client, engine_errors, gone_ok
from ds01.base.engine_api import request, request_json
from ds01.errors import NotFound, OperationFailed
from ds01.records import dataclass, field
from ds01.timefmt import now_iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO

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
    refused: bool = False  # the build worked but its result broke a rule (``check``); nothing was tagged

    @property
    def ok(self) -> bool:
        return self.image_id is not None and self.error is None


def image_exists(ref: str) -> bool:
    """True when ``ref`` (name:tag or id) is present locally. Never pulls."""
    return _inspect_or_none(ref) is not None


def inspect_local(ref: str) -> dict[str, Any] | None:
    """The inspect data of the local image ``ref``; None when it is not here or no image can
    have that name (``image_exists`` with what it found). Never pulls."""
    return _inspect_or_none(ref)


def inspect_image(ref: str) -> dict[str, Any] | None:
    """The engine's inspect data for ``ref``, or None when it does not exist locally."""
    try:
        return dict(request_json("GET", f"/images/{ref}/json", action=f"inspect image {ref}") or {})
    except EngineNotFound:
        return None


def build(
    *,
    context: BinaryIO,
    dockerfile: str,
    repository: str,
    tag: str = "latest",
    labels: dict[str, str],
    on_line: Callable[[str], None] | None = None,
    check: Callable[[dict[str, str]], str | None] | None = None,
) -> BuildResult:
    """Build ``dockerfile`` of the tar file ``context`` (sent from its start, streamed) and tag it
    ``repository:tag`` only when it succeeds.

    The build runs under a temporary tag; on success the image is tagged for real and the
    temporary tag dropped, so the previous ``repository:tag`` stays intact on failure.
    ``on_line`` receives every progress line as it arrives. Never pulls the base image.
    ``check`` sees the built image's labels before it is tagged; a sentence it returns refuses
    the image (it is removed again and ``refused`` is set).
    """
    import secrets  # hmac and OpenSSL's hashes: only a build needs a random tag

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

    context.seek(0)
    with engine_errors(f"build {repository}:{tag}"):
        stream = api().build(
            fileobj=context,
            custom_context=True,
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
        remove_tag(f"{repository}:{temp_tag}", prune=False)
        return BuildResult(None, log, error, last_step)
    with engine_errors(f"tag the new image as {repository}:{tag}"):
        built = api().inspect_image(f"{repository}:{temp_tag}")
        image_id = str(built["Id"])
        refusal = check(dict((built.get("Config") or {}).get("Labels") or {})) if check else None
        if refusal is not None:
            remove_tag(f"{repository}:{temp_tag}", prune=False)
            emit("ERROR: " + refusal)
            return BuildResult(None, log, refusal, None, refused=True)
        api().tag(image_id, repository, tag, force=True)
    remove_tag(f"{repository}:{temp_tag}", prune=False)
    return BuildResult(image_id, log)


def remove_tag(ref: str, *, prune: bool = True) -> None:
    """Remove the tag ``ref`` (and the image when it was its last); quiet when already gone
    (never made, as a build's temporary tag when it failed early). ``prune=False`` keeps the
    untagged parent layers."""
    try:
        image_etc.forget_deleted(delete_image(ref, action=f"remove the image {ref}", prune=prune))
    except EngineNotFound:
        pass


def delete_image(ref: str, *, action: str, force: bool = False, prune: bool = True) -> Any:
    """``DELETE /images/{ref}``: the engine's reply (``[{"Untagged": ...}, {"Deleted": ...}]``).
    ``force`` untags it from every repository; ``prune=False`` keeps the untagged parents. A
    missing image is ``EngineNotFound``, one a container was made from ``Conflict`` (unforced)."""
    return request_json(
        "DELETE",
        f"/images/{ref}",
        query={"force": "1" if force else "0", "noprune": "0" if prune else "1"},
        action=action,
    )


def list_images(label_filters: list[str]) -> list[ImageSummary]:
    """Images matching every label filter (``key`` or ``key=value``), one API call."""
    raw = request_json(
        "GET", "/images/json", query={"filters": json.dumps({"label": list(label_filters)})}, action="list images"
    )
    return [
        ImageSummary(
            id=str(item["Id"]),
            tags=tuple(t for t in (item.get("RepoTags") or []) if t != "<none>:<none>"),
            size=int(item.get("Size") or 0),
            created=int(item.get("Created") or 0),
            labels=dict(item.get("Labels") or {}),
        )
        for item in raw or []
    ]


def containers_by_image(image_ids: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """For each image id, the containers created from it: ``[{"id", "name", "state", "user"}]``
    (``user``: the ``aime.mlc`` owner label, empty when there is none).

    One sparse listing of all containers, grouped by the image id each records.
    """
    wanted = set(image_ids)
    result: dict[str, list[dict[str, str]]] = {i: [] for i in wanted}
    if not wanted:
        return result
    raw = request_json("GET", "/containers/json", query={"all": "1"}, action="list containers")
    for item in raw or []:
        image_id = item.get("ImageID")
        if image_id in wanted:
            names = item.get("Names") or [""]
            result[image_id].append(
                {
                    "id": item["Id"],
                    "name": names[0].lstrip("/"),
                    "state": item.get("State", ""),
                    "user": str((item.get("Labels") or {}).get("aime.mlc") or ""),
                }
            )
    return result


def remove_containers(container_ids: Iterable[str]) -> list[str]:
    """Force-remove containers (stopping running ones); already-gone ones count as removed."""
    removed = []
    for cid in container_ids:
        action = f"remove container {cid[:12]}"
        gone_ok(
            action,
            lambda: request("DELETE", f"/containers/{cid}", query={"force": "1", "v": "0"}, action=action),  # noqa: B023 - called before the loop goes on
            still_there=lambda: _container_left(cid),  # noqa: B023
        )
        removed.append(cid)
    return removed


def _container_left(cid: str) -> bool:
    """After a 409 on a forced removal: whether the container is still there and not being removed."""
    try:
        attrs = request_json("GET", f"/containers/{cid}/json", action=f"look up container {cid[:12]}")
    except EngineNotFound:
        return False
    state = (attrs or {}).get("State") or {}
    return state.get("Status") not in ("removing", "dead")


def remove_image(image_id: str) -> None:
    """Remove an image and all its tags (``force`` untags it from every repository), and what
    ``image_etc`` kept for it and for the parents that went with it."""
    try:
        image_etc.forget_deleted(delete_image(image_id, action=f"remove image {image_id[:19]}", force=True))
    except EngineNotFound:
        image_etc.forget(image_id)


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


# --- the build context, made as the caller -------------------------------------------------

CONTEXT_CAP = 256 * 1024 * 1024  # bytes of file content in one build context


def load_context_writer() -> None:
    """Import what ``write_context`` uses, in the process that forks the caller's child for it:
    once dropped to the caller's rights the child may not be able to read root's Python library
    (nothing else in a build need have loaded these before)."""
    import stat  # noqa: F401
    import tarfile  # noqa: F401

    from docker.utils.build import exclude_paths  # noqa: F401


def write_context(out_fd: int, context_dir: Path, dockerfile: str, cap: int = CONTEXT_CAP) -> int:
    """Write the build context of ``context_dir`` as an uncompressed tar (``.dockerignore``
    honoured) to the descriptor ``out_fd``, from its current offset; returns the bytes written.

    Meant to run as the caller (``privsep.run_as``, which shares root's open file with it):
    every path is opened with their rights, symlinks go in as symlinks (Docker resolves them
    inside the context), FIFOs, sockets and devices are left out, and more than ``cap`` bytes
    of content is refused.
    """
    import stat
    import tarfile

    from docker.utils.build import exclude_paths

    from ds01.errors import UsageError

    root = os.path.abspath(context_dir)
    patterns: list[str] = []
    try:
        with open(os.path.join(root, ".dockerignore"), encoding="utf-8") as fh:
            patterns = [line.strip() for line in fh.read().splitlines() if line.strip() and line.strip()[0] != "#"]
    except FileNotFoundError:
        pass
    total = 0
    with os.fdopen(os.dup(out_fd), "wb") as out:
        start = out.tell()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for rel in sorted(exclude_paths(root, patterns, dockerfile=dockerfile)):
                full = os.path.join(root, rel)
                info = tar.gettarinfo(full, arcname=rel)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if info.isfile():
                    total += info.size
                    if total > cap:
                        raise UsageError(
                            f"The build context {root} holds more than {cap // (1024 * 1024)} MiB; keep large data "
                            "out of it (a .dockerignore there can exclude folders)."
                        )
                    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
                    with os.fdopen(fd, "rb") as fh:
                        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                            continue  # swapped for something else since it was listed
                        tar.addfile(info, fh)
                elif info.isdir() or info.issym() or info.islnk():
                    tar.addfile(info)
        return out.tell() - start


def dockerfile_from_context(context: BinaryIO, dockerfile: str) -> str:
    """The text of ``dockerfile`` inside a context tar file (a regular file, UTF-8), for checks."""
    import tarfile

    from ds01.errors import UsageError

    context.seek(0)
    with tarfile.open(fileobj=context, mode="r:") as tar:
        try:
            member = tar.getmember(dockerfile)
        except KeyError:
            raise UsageError(f"There is no {dockerfile} in the build context.") from None
        if not member.isfile():
            raise UsageError(f"{dockerfile} must be a regular file, not a link or anything else.")
        handle = tar.extractfile(member)
        assert handle is not None
        try:
            return handle.read().decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{dockerfile} is not UTF-8 text.") from None


# --- who a project image belongs to: ds01's own record ---------------------------------------


def _records_dir() -> Path:
    from ds01 import paths

    return paths.state_dir() / "images"


def _record_path(image_id: str) -> Path:
    digest = image_id.split(":", 1)[-1]
    if not digest or any(c not in "0123456789abcdef" for c in digest):
        raise OperationFailed(f"{image_id!r} is not an image id.")
    return _records_dir() / f"{digest}.json"


def record_owner(
    image_id: str, *, uid: int, user: str, project: str, labels: Mapping[str, str], dockerfile: str, shared: bool
) -> None:
    """Record that ds01 built ``image_id`` for ``uid`` (with these labels, from that Dockerfile).

    ``shared``: group mode, where each user runs ds01 as themselves, so the folder is made
    sticky and world-writable (everyone adds records, nobody removes another's); in secure
    mode only root writes it.
    """
    from ds01.fsutil import make_dirs, write_atomic

    folder = _records_dir()
    make_dirs(folder.parent)  # the state folder itself is never made world-writable
    make_dirs(folder, mode=0o1777 if shared else 0o755)
    doc = {
        "uid": int(uid),
        "user": user,
        "project": project,
        "labels": dict(labels),
        "dockerfile": dockerfile,
        "image_id": image_id,
        "recorded_at": now_iso(),
    }
    write_atomic(_record_path(image_id), json.dumps(doc, sort_keys=True) + "\n", mode=0o644)


def owner_record(image_id: str) -> dict[str, Any] | None:
    """ds01's record for ``image_id`` (None: ds01 built it for nobody). Never follows a symlink."""
    try:
        fd = os.open(_record_path(image_id), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, OperationFailed):
        return None
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: a symlink put in place of a record is no record
            return None
        raise OperationFailed(f"Cannot read ds01's record of image {image_id[:19]}: {exc.strerror}.") from exc
    import stat

    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > 1 << 20:
            return None
        try:
            doc = json.loads(fh.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None  # never echo what is there
    if not isinstance(doc, dict) or not isinstance(doc.get("uid"), int) or doc.get("image_id") != image_id:
        return None
    if doc["uid"] != st.st_uid and st.st_uid != 0:
        return None  # only root or the owner themselves (group mode) can have written a true record
    return doc


def forget_owner(image_id: str) -> None:
    try:
        _record_path(image_id).unlink()
    except (FileNotFoundError, OperationFailed, PermissionError):
        pass


@dataclass(frozen=True)
class ImageFacts:
    """What the image policy needs to know about one local image."""

    ref: str
    id: str | None  # None: not present locally
    tags: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    owner_uid: int | None = None  # from ds01's record, never from a label
    recorded_labels: dict[str, str] | None = None  # the labels ds01 wrote when it built it


def facts(ref: str, *, inspected: Mapping[str, Any] | None = None) -> ImageFacts:
    """Look ``ref`` up locally (never pulled) and read ds01's record of it."""
    info = inspected if inspected is not None else _inspect_or_none(ref)
    if info is None:
        return ImageFacts(ref, None)
    image_id = str(info["Id"])
    record = owner_record(image_id)
    labels = dict((info.get("Config") or {}).get("Labels") or {})
    return ImageFacts(
        ref=ref,
        id=image_id,
        tags=tuple(t for t in (info.get("RepoTags") or []) if t != "<none>:<none>"),
        labels=labels,
        owner_uid=record["uid"] if record else None,
        recorded_labels=dict(record.get("labels") or {}) if record else None,
    )


def _inspect_or_none(ref: str) -> dict[str, Any] | None:
    """Inspect data, or None for an image that is not here or a name no image can have."""
    if not ref or any(c.isspace() for c in ref):
        return None
    try:
        return dict(request_json("GET", f"/images/{ref}/json", action=f"inspect image {ref}") or {})
    except (EngineNotFound, BadRequest):  # 400: "invalid reference format", no image has such a name
        return None


def prune_image_etc() -> int:
    """Drop what ``image_etc`` kept for images no longer on this server (one listing); how many
    files went."""
    raw = request_json("GET", "/images/json", query={"all": "1"}, action="list images")
    existing = {str(item["Id"]) for item in raw or []}
    return image_etc.prune(existing)


def ids_of(refs: Iterable[str]) -> set[str]:
    """Image ids of those refs that exist locally (one inspect each; for short lists)."""
    found = set()
    for ref in refs:
        info = _inspect_or_none(ref)
        if info is not None:
            found.add(str(info["Id"]))
    return found
