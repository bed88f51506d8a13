"""``mlc export`` / ``mlc import``: one tar file carrying a container's filesystem and definition.

The archive holds ``definition.json`` (``engine.definition_from_inspect``: image, mounts,
limits, labels, env) and ``image.tar`` (``docker save`` of the container committed at export
time). AIME announced these commands but never implemented them.

- ``export_container(info, dest, *, owner=None, progress=None) -> dict`` writes ``dest``
  atomically (temp file + rename) and removes the temporary image it committed.
- ``import_container(source, owner, *, name=None, overrides=None, progress=None) -> ContainerInfo``
  loads the image as ``ds01-mlc/<uid>-<name>:imported`` and recreates the container for
  ``owner``; a failed import leaves neither the image nor a container behind.

The export file is written, and the import file read, with the caller's rights: under sudo
ds01 runs as root, and root could otherwise write an export over any file on the host or
import another user's private export.
"""

from __future__ import annotations

import json
import os
import secrets
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

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


@contextmanager
def as_caller(owner: Identity | None) -> Iterator[None]:
    """File access with ``owner``'s rights (uid, gid, groups) while ds01 runs as root for them."""
    from ds01.fsutil import acting_for_other

    if owner is None or not acting_for_other(owner.uid):
        yield
        return
    groups, egid = os.getgroups(), os.getegid()
    try:
        member_of = os.getgrouplist(owner.name, owner.gid)
    except (KeyError, OSError):
        member_of = [owner.gid]
    os.setgroups(member_of)
    os.setegid(owner.gid)
    os.seteuid(owner.uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(egid)
        os.setgroups(groups)


def _cannot_write(dest: Path, exc: OSError) -> UsageError:
    return UsageError(f"Cannot write {dest}: {exc.strerror or exc}; choose a file in a directory you can write to.")


def export_container(
    info: engine.ContainerInfo,
    dest: Path,
    *,
    owner: Identity | None = None,
    progress: engine.Progress | None = None,
) -> dict[str, Any]:
    """Write ``info``'s filesystem (as an image) and definition to the tar file ``dest``.

    ``owner`` is the caller: the file is created with their rights and belongs to them.
    """
    dest = dest.expanduser()
    made: list[Path] = []
    with as_caller(owner):
        try:
            parent_exists, is_dir = dest.parent.is_dir(), dest.is_dir()
        except OSError as exc:  # a directory on the way the caller may not enter
            raise _cannot_write(dest, exc) from exc
        if not parent_exists:
            raise UsageError(f"Cannot write {dest}: the directory {dest.parent} does not exist.")
        if is_dir:
            raise UsageError(f"Cannot write {dest}: it is a directory; give a file name such as {dest / 'export.tar'}.")
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
            made.append(Path(tmp_name))
            image_fd, image_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".image", dir=dest.parent)
            made.append(Path(image_name))
        except OSError as exc:
            if made:
                os.close(fd)
                made[0].unlink(missing_ok=True)
            raise _cannot_write(dest, exc) from exc
    api = dc.api()
    ref_repo, ref_tag = "ds01-export", f"{secrets.token_hex(6)}"
    ref = f"{ref_repo}:{ref_tag}"
    # The files were opened with the caller's rights; root writes through those descriptors.
    tar_handle: IO[bytes] = os.fdopen(fd, "wb")
    image_handle: IO[bytes] = os.fdopen(image_fd, "w+b")
    try:
        with dc.engine_errors(f"inspect container {info.name}", missing=f"Container {info.name!r} has gone."):
            defn = engine.definition_from_inspect(api.inspect_container(info.id))
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
        with dc.engine_errors(f"save the image of {info.name}"):
            for chunk in api.get_image(ref):
                image_handle.write(chunk)
        image_size = image_handle.tell()
        image_handle.seek(0)
        payload = {"format": EXPORT_FORMAT, "image_ref": ref, "definition": defn}
        data = json.dumps(payload, indent=2).encode()
        with tarfile.open(fileobj=tar_handle, mode="w") as tar:
            member = tarfile.TarInfo(DEFINITION_MEMBER)
            member.size, member.mode = len(data), 0o644
            import io

            tar.addfile(member, io.BytesIO(data))
            image_member = tarfile.TarInfo(IMAGE_MEMBER)
            image_member.size, image_member.mode = image_size, 0o644
            tar.addfile(image_member, image_handle)
        tar_handle.flush()
        os.fsync(tar_handle.fileno())
        with as_caller(owner):
            try:
                os.replace(made[0], dest)
            except OSError as exc:
                raise _cannot_write(dest, exc) from exc
    finally:
        tar_handle.close()
        image_handle.close()
        with as_caller(owner):
            for path in made:
                path.unlink(missing_ok=True)
        _remove_image(ref)
    return defn


def _remove_image(ref: str) -> None:
    import docker.errors

    try:
        dc.api().remove_image(ref)
    except docker.errors.DockerException:
        pass  # already gone, or never made: nothing to clean


def _open_export(source: Path, owner: Identity | None) -> IO[bytes]:
    """``source`` opened for reading with the caller's rights."""
    with as_caller(owner):
        try:
            return open(source, "rb")  # noqa: SIM115 - the caller closes it
        except OSError as exc:
            raise UsageError(f"Cannot read {source}: {exc.strerror or exc}.") from exc


def _read_header(handle: IO[bytes], source: Path) -> dict[str, Any]:
    handle.seek(0)
    try:
        with tarfile.open(fileobj=handle, mode="r") as tar:
            member = tar.extractfile(DEFINITION_MEMBER)
            payload = json.loads(member.read()) if member else None
            if IMAGE_MEMBER not in tar.getnames():
                payload = None
    except tarfile.TarError as exc:
        raise UsageError(f"{source} is not a ds01 mlc export file (not a tar archive).") from exc
    except KeyError as exc:
        raise UsageError(f"{source} is not a ds01 mlc export file (it has no {DEFINITION_MEMBER}).") from exc
    except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise UsageError(f"{source} is not a ds01 mlc export file ({exc}).") from exc
    if not isinstance(payload, dict) or payload.get("format") != EXPORT_FORMAT:
        raise UsageError(f"{source} is not a ds01 mlc export file (format {EXPORT_FORMAT} expected).")
    return payload


def read_export(source: Path, owner: Identity | None = None) -> dict[str, Any]:
    """The ``{"format", "image_ref", "definition"}`` header of an export file (read as ``owner``)."""
    with _open_export(source.expanduser(), owner) as handle:
        return _read_header(handle, source)


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
    with _open_export(source, owner) as handle:
        return _import(handle, source, owner, name=name, overrides=overrides, start=start, progress=progress)


def _import(
    handle: IO[bytes],
    source: Path,
    owner: Identity,
    *,
    name: str | None,
    overrides: Mapping[str, Any] | None,
    start: bool,
    progress: engine.Progress | None,
) -> engine.ContainerInfo:
    payload = _read_header(handle, source)
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
        handle.seek(0)
        with tarfile.open(fileobj=handle, mode="r") as tar:
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
