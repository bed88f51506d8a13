"""``mlc export`` / ``mlc import``: one tar file carrying a container's filesystem and definition.

The archive holds ``definition.json`` (``engine.definition_from_inspect``: image, mounts,
limits, labels, env) and ``image.tar`` (``docker save`` of the container committed at export
time). AIME announced these commands but never implemented them.

- ``export_container(info, dest, *, progress=None) -> dict`` writes ``dest`` atomically
  (temp file + rename) and removes the temporary image it committed.
- ``import_container(source, owner, *, name=None, overrides=None, progress=None) -> ContainerInfo``
  loads the image as ``ds01-mlc/<uid>-<name>:imported`` and recreates the container for
  ``owner``; a failed import leaves neither the image nor a container behind.
"""

from __future__ import annotations

import json
import os
import secrets
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ds01.base import docker_client as dc
from ds01.base import engine
from ds01.base.names import docker_name, validate_name
from ds01.errors import OperationFailed, UsageError
from ds01.identity import Identity

EXPORT_FORMAT = "ds01-mlc-export/1"
DEFINITION_MEMBER = "definition.json"
IMAGE_MEMBER = "image.tar"


def imported_image_ref(name: str, uid: int) -> str:
    # Repository names must be lower case; the uid keeps two users' imports apart.
    return f"ds01-mlc/{uid}-{name.lower()}:imported"


def export_container(
    info: engine.ContainerInfo, dest: Path, *, progress: engine.Progress | None = None
) -> dict[str, Any]:
    """Write ``info``'s filesystem (as an image) and definition to the tar file ``dest``."""
    dest = dest.expanduser()
    if not dest.parent.is_dir():
        raise UsageError(f"Cannot write {dest}: the directory {dest.parent} does not exist.")
    api = dc.api()
    with dc.engine_errors(f"inspect container {info.name}", missing=f"Container {info.name!r} has gone."):
        defn = engine.definition_from_inspect(api.inspect_container(info.id))
    ref_repo, ref_tag = "ds01-export", f"{secrets.token_hex(6)}"
    ref = f"{ref_repo}:{ref_tag}"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    image_tmp = tmp.with_suffix(".image")
    try:
        if progress:
            progress(f"Saving the filesystem of {info.name}…")
        with dc.engine_errors(f"commit container {info.name}"):
            api.commit(
                info.id,
                repository=ref_repo,
                tag=ref_tag,
                message=f"ds01 mlc export of {info.docker_name}",
                pause=info.running,
            )
        with dc.engine_errors(f"save the image of {info.name}"), open(image_tmp, "wb") as handle:
            for chunk in api.get_image(ref):
                handle.write(chunk)
        payload = {"format": EXPORT_FORMAT, "image_ref": ref, "definition": defn}
        data = json.dumps(payload, indent=2).encode()
        with tarfile.open(tmp, "w") as tar:
            member = tarfile.TarInfo(DEFINITION_MEMBER)
            member.size, member.mode = len(data), 0o644
            import io

            tar.addfile(member, io.BytesIO(data))
            tar.add(image_tmp, arcname=IMAGE_MEMBER)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
        image_tmp.unlink(missing_ok=True)
        _remove_image(ref)
    return defn


def _remove_image(ref: str) -> None:
    import docker.errors

    try:
        dc.api().remove_image(ref)
    except docker.errors.DockerException:
        pass  # already gone, or never made: nothing to clean


def read_export(source: Path) -> dict[str, Any]:
    """The ``{"format", "image_ref", "definition"}`` header of an export file."""
    try:
        with tarfile.open(source, "r") as tar:
            handle = tar.extractfile(DEFINITION_MEMBER)
            payload = json.loads(handle.read()) if handle else None
            if IMAGE_MEMBER not in tar.getnames():
                payload = None
    except (OSError, tarfile.TarError, KeyError, json.JSONDecodeError) as exc:
        raise UsageError(f"{source} is not a ds01 mlc export file ({exc}).") from exc
    if not isinstance(payload, dict) or payload.get("format") != EXPORT_FORMAT:
        raise UsageError(f"{source} is not a ds01 mlc export file (format {EXPORT_FORMAT} expected).")
    return payload


def import_container(
    source: Path,
    owner: Identity,
    *,
    name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    start: bool = False,
    progress: engine.Progress | None = None,
) -> engine.ContainerInfo:
    """Recreate an exported container for ``owner`` (as ``name`` when given)."""
    source = source.expanduser()
    payload = read_export(source)
    defn = dict(payload["definition"])
    new_name = validate_name(name or str(defn.get("name") or ""))
    changes: dict[str, Any] = {"name": new_name}
    # Mounts from the exporting user's host paths are kept only when they are the importer's.
    mounts = defn.get("mounts") or {}
    for key, what in (("workspace", "workspace"), ("data", "data"), ("models", "models")):
        path = mounts.get(key)
        if path and key not in (overrides or {}):
            try:
                engine.validate_mount(Path(path), owner, what, writable=key == "workspace")
            except UsageError:
                changes[key] = (owner.home / "workspace") if key == "workspace" else None
    # A GPU allocation belongs to the exporting host and moment; the caller allocates anew.
    defn["device_uuids"], defn["device_requests"] = [], False
    defn["labels"] = {k: v for k, v in (defn.get("labels") or {}).items() if not k.startswith("ds01.gpu.")}
    changes.update(overrides or {})
    ref = imported_image_ref(new_name, owner.uid)
    spec = engine.spec_from_definition(defn, owner, {**changes, "image": ref, "custom_image": True})
    engine.plan_create(spec)  # every check that needs no Docker, before the image is loaded
    full = docker_name(new_name, owner.uid)
    if engine.container_exists(full):
        raise UsageError(
            f"A container named {new_name!r} already exists for you; import under another name "
            f"(ds01 mlc import {source} NEW_NAME)."
        )
    api = dc.api()
    if progress:
        progress(f"Loading the image from {source}…")
    loaded_ref = str(payload.get("image_ref") or "")
    try:
        with tarfile.open(source, "r") as tar:
            member = tar.extractfile(IMAGE_MEMBER)
            if member is None:
                raise UsageError(f"{source} has no image in it.")
            with dc.engine_errors(f"load the image from {source}"):
                for event in api.load_image(member):
                    if isinstance(event, dict) and event.get("error"):
                        raise OperationFailed(f"Could not load the image from {source}: {event['error']}.")
        with dc.engine_errors("tag the imported image"):
            repo, tag = ref.rsplit(":", 1)
            api.tag(loaded_ref, repo, tag=tag, force=True)
    except BaseException:
        _remove_image(loaded_ref)
        _remove_image(ref)
        raise
    _remove_image(loaded_ref)  # only the tag goes; the layers stay under ``ref``
    try:
        return engine.create_container(spec, start=start, progress=progress)
    except BaseException:
        _remove_image(ref)
        raise
