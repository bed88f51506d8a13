"""``mlc export`` / ``mlc import``: one tar file carrying a container's filesystem and definition.

The archive holds ``definition.json`` (``container_defs.definition_from_inspect`` plus the workspace
relative to its owner's home) and ``image.tar`` (``docker save`` of the container committed at
export time). AIME announced these commands but never implemented them.

- ``export_container(info, dest, *, owner=None, progress=None) -> (definition, bytes)`` writes ``dest`` as
  the caller: a temporary file opened as them (``O_CREAT|O_EXCL``) in the destination folder,
  renamed by them; the temporary image it committed is removed.
- ``open_archive(source, owner) -> Archive``: the file opened as the caller, refused unless it
  is a regular file within ``policy.archives.MAX_ARCHIVE_BYTES``; its header read and checked.
- ``load_image(archive, owner, name) -> ref``: the image loaded untagged (the archive's
  ``RepoTags`` and ``repositories`` never reach Docker, so no existing tag can move), its
  reserved labels and variables replaced (``policy.archives.image_config``), its layers checked
  against the configuration, then tagged under a fresh ``ds01-mlc/<uid>-<name>:<random>``.
  The container itself is made by the caller through ``container create``'s path.

Under sudo ds01 runs as root; every path the caller names is opened with the caller's
rights (``ds01.privsep``), so root never writes or reads a file the caller could not.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import secrets
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ds01 import privsep, rollback
from ds01.base import container_defs, container_spec, engine, images
from ds01.base import docker_client as dc
from ds01.errors import Ds01Error, OperationFailed, UsageError
from ds01.identity import Identity
from ds01.policy import archives
from ds01.records import dataclass, field
from ds01.timefmt import now_iso

EXPORT_FORMAT = "ds01-mlc-export/1"
DEFINITION_MEMBER = "definition.json"
IMAGE_MEMBER = "image.tar"
IMPORT_REPOSITORY = "ds01-mlc"
CHUNK = 1 << 20
BLOCK = tarfile.BLOCKSIZE


def imported_image_repo(name: str, uid: int) -> str:
    # Repository names must be lower case; the uid keeps two users' imports apart.
    return f"{IMPORT_REPOSITORY}/{uid}-{name.lower()}"


def _pad(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def _detail(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}."
    message = exc.message if isinstance(exc, Ds01Error) else str(exc)
    return message.split(": ", 1)[-1] if ": " in message else message


def _open_as(owner: Identity | None, path: Path, flags: int, mode: int, verb: str) -> int:
    """``path`` opened with the caller's rights; a refusal is one sentence (exit 2)."""
    try:
        return privsep.open_fd(owner, path, flags, mode)
    except (OSError, OperationFailed) as exc:
        raise UsageError(f"Cannot {verb} {path}: {_detail(exc)}") from exc


# -- export -------------------------------------------------------------------------------------


def _destination_state(dest: str) -> str:
    """Run as the caller: what stands at ``dest`` ("ok", "dir", "no-parent" or "error:<why>")."""
    import stat

    try:
        if stat.S_ISDIR(os.stat(dest).st_mode):
            return "dir"
    except FileNotFoundError:
        pass
    except OSError as exc:
        return f"error:{exc.strerror or exc}"
    try:
        if not stat.S_ISDIR(os.stat(os.path.dirname(dest) or ".").st_mode):
            return "no-parent"
    except FileNotFoundError:
        return "no-parent"
    except OSError as exc:
        return f"error:{exc.strerror or exc}"
    return "ok"


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _workspace_in_home(info: container_spec.ContainerInfo, defn: dict[str, Any], owner: Identity | None) -> str | None:
    """The container's workspace relative to its owner's home (what an import maps to the importer's)."""
    from ds01.identity import lookup

    ws = (defn.get("mounts") or {}).get("workspace")
    person = lookup(info.user) if info.user else None
    home = person.home if person else (owner.home if owner and info.uid == owner.uid else None)
    if not ws or home is None:
        return None
    path = Path(ws)
    if not path.is_relative_to(home):
        return None
    rel = path.relative_to(home).as_posix()
    return rel if archives.home_relative(rel) else None


def export_container(
    info: container_spec.ContainerInfo,
    dest: Path,
    *,
    owner: Identity | None = None,
    progress: container_spec.Progress | None = None,
) -> tuple[dict[str, Any], int]:
    """Write ``info``'s filesystem (as an image) and definition to the tar file ``dest``; its size.

    ``owner`` is the caller: the file is created and renamed with their rights, so it can only
    land where they may write, and it belongs to them (mode 0600).
    """
    dest = _callers(dest, owner)
    try:
        state = privsep.run_as(owner, _destination_state, str(dest))
    except OperationFailed as exc:
        raise UsageError(f"Cannot write {dest}: {_detail(exc)}") from exc
    if state == "dir":
        raise UsageError(f"Cannot write {dest}: it is a directory; give a file name such as {dest / 'export.tar'}.")
    if state == "no-parent":
        raise UsageError(f"Cannot write {dest}: the directory {dest.parent} does not exist.")
    if state.startswith("error:"):
        raise UsageError(f"Cannot write {dest}: {state.removeprefix('error:')}.")
    tmp = dest.parent / f".{dest.name}.{secrets.token_hex(4)}.part"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    fd = _open_as(owner, tmp, flags, 0o600, "write")
    api = dc.api()
    ref_repo, ref_tag = "ds01-export", secrets.token_hex(6)
    ref = f"{ref_repo}:{ref_tag}"
    renamed = False
    failure: BaseException | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            with dc.engine_errors(f"inspect container {info.name}", missing=f"Container {info.name!r} has gone."):
                defn = container_defs.definition_from_inspect(api.inspect_container(info.id))
            defn.setdefault("mounts", {})["workspace_in_home"] = _workspace_in_home(info, defn, owner)
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
            payload = json.dumps({"format": EXPORT_FORMAT, "image_ref": ref, "definition": defn}, indent=2).encode()
            head = tarfile.TarInfo(DEFINITION_MEMBER)
            head.size, head.mode, head.mtime = len(payload), 0o644, int(time.time())
            out.write(head.tobuf(tarfile.GNU_FORMAT) + payload + _pad(len(payload)))
            # The image's size is known only once Docker has sent it: its header is written again after.
            image = tarfile.TarInfo(IMAGE_MEMBER)
            image.mode, image.mtime = 0o644, int(time.time())
            header_at = out.tell()
            out.write(image.tobuf(tarfile.GNU_FORMAT))
            size = 0
            with dc.engine_errors(f"save the image of {info.name}"):
                for chunk in api.get_image(ref):
                    out.write(chunk)
                    size += len(chunk)
            out.write(_pad(size) + b"\0" * (2 * BLOCK))
            end = out.tell()
            image.size = size
            out.seek(header_at)
            out.write(image.tobuf(tarfile.GNU_FORMAT))
            out.seek(end)
            out.flush()
            os.fsync(out.fileno())
        try:
            privsep.run_as(owner, os.replace, str(tmp), str(dest))
        except (OSError, OperationFailed) as exc:
            raise UsageError(f"Cannot write {dest}: {_detail(exc)}") from exc
        renamed = True
    except BaseException as exc:
        failure = exc
        raise
    finally:
        steps = [(f"remove the temporary image {ref}", lambda: images.remove_tag(ref))]
        if not renamed:
            steps.insert(0, (f"remove the partial file {tmp}", lambda: privsep.run_as(owner, _unlink_quiet, str(tmp))))
        if failure is not None:
            rollback.run(failure, steps)  # the export's error is raised, with what was left behind
        else:
            for _what, call in steps:
                call()
    return defn, end


# -- import: reading ----------------------------------------------------------------------------


class _Window(io.RawIOBase):
    """The first ``size`` bytes of a descriptor, read with ``pread`` (no shared offset, no growth)."""

    def __init__(self, fd: int, size: int):
        super().__init__()
        self._fd, self._size, self._pos = fd, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        data = os.pread(self._fd, want, self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


@dataclass
class Archive:
    """An export file opened as the caller: its descriptor, size and checked header."""

    source: Path
    fd: int
    size: int
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def definition(self) -> dict[str, Any]:
        return dict(self.payload.get("definition") or {})

    def reader(self) -> io.BufferedReader:
        return io.BufferedReader(_Window(self.fd, self.size), buffer_size=CHUNK)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _callers(path: Path, owner: Identity | None) -> Path:
    """``~`` in a path the caller gave is the caller's home (not root's, when root runs for them)."""
    text = str(path)
    if owner is not None and (text == "~" or text.startswith("~/")):
        return Path(str(owner.home) + text[1:])
    return path.expanduser()


def _not_export(source: Path, why: str) -> UsageError:
    return UsageError(f"{source} is not a ds01 mlc export file ({why}).")


def open_archive(source: Path, owner: Identity | None) -> Archive:
    """``source`` opened with the caller's rights; only a regular file within the size cap."""
    source = _callers(source, owner)
    fd = _open_as(owner, source, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY, 0, "read")
    try:
        st = os.fstat(fd)
        why = archives.source_refusal(st.st_mode, st.st_size)
        if why:
            raise UsageError(f"Cannot import {source}: {why}.")
        archive = Archive(source, fd, st.st_size)
        archive.payload = _read_header(archive)
    except BaseException:
        os.close(fd)
        raise
    return archive


def _read_header(archive: Archive) -> dict[str, Any]:
    source = archive.source
    try:
        with archive.reader() as raw, tarfile.open(fileobj=raw, mode="r:") as tar:
            names = {m.name: m for m in tar.getmembers()}
            head, image = names.get(DEFINITION_MEMBER), names.get(IMAGE_MEMBER)
            if head is None or not head.isreg():
                raise _not_export(source, f"it has no {DEFINITION_MEMBER}")
            if image is None or not image.isreg():
                raise _not_export(source, f"it has no {IMAGE_MEMBER}")
            if head.size > archives.MAX_DEFINITION_BYTES:
                raise _not_export(source, f"its {DEFINITION_MEMBER} is too large")
            member = tar.extractfile(head)
            payload = json.loads(member.read()) if member else None
    except tarfile.TarError as exc:
        raise _not_export(source, "not a tar archive") from exc
    except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise _not_export(source, str(exc)) from exc
    if not isinstance(payload, dict) or payload.get("format") != EXPORT_FORMAT:
        raise _not_export(source, f"format {EXPORT_FORMAT} expected")
    if not isinstance(payload.get("definition"), dict):
        raise _not_export(source, "it has no container definition")
    return payload


def read_export(source: Path, owner: Identity | None = None) -> dict[str, Any]:
    """The ``{"format", "image_ref", "definition"}`` header of an export file (read as ``owner``)."""
    with open_archive(source, owner) as archive:
        return archive.payload


# -- import: loading the image -----------------------------------------------------------------


@dataclass(frozen=True)
class _ImagePlan:
    manifest: bytes  # manifest.json without RepoTags
    config_name: str
    config: bytes  # the configuration ds01 loads (reserved labels and variables replaced)
    layers: tuple[str, ...]
    diff_ids: tuple[str, ...]


def _read_small(tar: tarfile.TarFile, member: tarfile.TarInfo, source: Path) -> bytes:
    if not member.isreg() or member.size > archives.MAX_IMAGE_METADATA_BYTES:
        raise _not_export(source, f"its image's {member.name} is not a small file")
    handle = tar.extractfile(member)
    return handle.read() if handle else b""


def _plan_image(archive: Archive, owner_labels: dict[str, str]) -> _ImagePlan:
    source = archive.source
    try:
        with archive.reader() as raw, tarfile.open(fileobj=raw, mode="r:") as outer:
            image = outer.extractfile(IMAGE_MEMBER)
            if image is None:
                raise _not_export(source, f"it has no {IMAGE_MEMBER}")
            with tarfile.open(fileobj=image, mode="r:") as inner:
                members = {m.name: m for m in inner.getmembers()}
                if "manifest.json" not in members:
                    raise _not_export(source, "its image has no manifest.json")
                manifest = json.loads(_read_small(inner, members["manifest.json"], source))
                why = archives.manifest_refusal(manifest)
                if why:
                    raise _not_export(source, f"its image manifest: {why}")
                config_name = manifest[0]["Config"]
                if config_name not in members:
                    raise _not_export(source, "its image has no configuration file")
                config = json.loads(_read_small(inner, members[config_name], source))
    except tarfile.TarError as exc:
        raise _not_export(source, f"its {IMAGE_MEMBER} is not a tar archive") from exc
    except ValueError as exc:
        raise _not_export(source, f"its image metadata is not JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise _not_export(source, "its image configuration is not an object")
    diff_ids = tuple((config.get("rootfs") or {}).get("diff_ids") or ())
    layers = tuple(manifest[0]["Layers"])
    if len(diff_ids) != len(layers):
        raise _not_export(source, "its image layers do not match its configuration")
    new_config = json.dumps(archives.image_config(config, owner_labels), separators=(",", ":")).encode()
    new_manifest = json.dumps(archives.manifest_without_tags(manifest)).encode()
    return _ImagePlan(new_manifest, config_name, new_config, layers, diff_ids)


def _member_bytes(name: str, data: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
    return info.tobuf(tarfile.PAX_FORMAT) + data + _pad(len(data))


def _image_stream(archive: Archive, plan: _ImagePlan) -> Iterator[bytes]:
    """The image tar as Docker receives it: no tags, ds01's configuration, layers verified.

    ``manifest.json`` is sent last, once every layer's digest has matched the configuration's
    ``diff_ids``: Docker reads the manifest only after the whole stream, so a mismatch (an
    archive naming layers of an image it does not carry) loads nothing.
    """
    source = archive.source
    wanted = set(plan.layers)
    digests: dict[str, str] = {}
    links: dict[str, str] = {}
    with archive.reader() as raw, tarfile.open(fileobj=raw, mode="r:") as outer:
        image = outer.extractfile(IMAGE_MEMBER)
        assert image is not None
        with tarfile.open(fileobj=image, mode="r:") as inner:
            for member in inner:
                name = member.name
                if name == "manifest.json" or name in archives.TAGGING_MEMBERS:
                    continue
                if name == plan.config_name:
                    yield _member_bytes(name, plan.config)
                    continue
                if not archives.safe_member(name) or not (member.isreg() or member.isdir() or member.issym()):
                    raise _not_export(source, f"its image holds an unexpected entry {name!r}")
                yield member.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
                if member.issym():
                    links[name] = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
                if not member.isreg():
                    continue
                digest = hashlib.sha256() if name in wanted else None
                handle = inner.extractfile(member)
                assert handle is not None
                while chunk := handle.read(CHUNK):
                    if digest:
                        digest.update(chunk)
                    yield chunk
                yield _pad(member.size)
                if digest:
                    digests[name] = f"sha256:{digest.hexdigest()}"
    for layer, diff_id in zip(plan.layers, plan.diff_ids, strict=True):
        target = layer
        for _ in range(8):
            if target not in links:
                break
            target = links[target]
        if digests.get(target) != diff_id:
            raise _not_export(source, f"its image layer {layer} does not match the image configuration")
    yield _member_bytes("manifest.json", plan.manifest)
    yield b"\0" * (2 * BLOCK)


def _image_exists(ref: str) -> bool:
    return engine.image_present(ref)


def load_image(
    archive: Archive,
    owner: Identity,
    name: str,
    *,
    shared: bool = True,
    progress: container_spec.Progress | None = None,
) -> str:
    """Load the archive's image for ``owner`` and return the fresh tag it got.

    Nothing in the archive can name or tag an image; ds01 writes the image's ``ds01.*``
    labels itself and records ``owner`` as the image's owner (``images.record_owner``; ``shared``
    as there: group mode), so no other user may run it. On failure no image is left behind
    (unless the same image was there before).
    """
    owner_labels = {
        "ds01.managed": "true",
        "ds01.user": owner.name,
        "ds01.uid": str(owner.uid),
        "ds01.imported": "true",
        "ds01.created_at": now_iso(),
    }
    plan = _plan_image(archive, owner_labels)
    expected = f"sha256:{hashlib.sha256(plan.config).hexdigest()}"
    existed = _image_exists(expected)
    repo = imported_image_repo(name, owner.uid)
    tag = secrets.token_hex(6)
    while _image_exists(f"{repo}:{tag}"):  # pragma: no cover - 48 random bits
        tag = secrets.token_hex(6)
    ref = f"{repo}:{tag}"
    if progress:
        progress(f"Loading the image from {archive.source}…")
    api = dc.api()
    loaded: list[str] = []
    image_id = expected
    tagged = False
    try:
        with dc.engine_errors(f"load the image from {archive.source}"):
            for event in api.load_image(_image_stream(archive, plan)):
                if not isinstance(event, dict):
                    continue
                if event.get("error"):
                    raise OperationFailed(f"Could not load the image from {archive.source}: {event['error']}.")
                text = str(event.get("stream") or "").strip()
                if text.startswith("Loaded image ID:"):
                    loaded.append(text.split(":", 1)[1].strip())
                elif text.startswith("Loaded image:"):  # pragma: no cover - tags never reach Docker
                    raise OperationFailed(f"Docker tagged an image while loading {archive.source}; refusing it.")
        image_id = loaded[0] if len(loaded) == 1 else expected
        if not _image_exists(image_id):
            raise OperationFailed(f"Docker did not load the image from {archive.source}.")
        with dc.engine_errors("tag the imported image"):
            api.tag(image_id, repo, tag=tag)
        tagged = True
        images.record_owner(
            image_id, uid=owner.uid, user=owner.name, project=name, labels=owner_labels, dockerfile="", shared=shared
        )
    except BaseException as exc:
        steps = []
        if tagged:
            steps.append((f"remove the tag {ref}", lambda: images.remove_tag(ref)))
        if not existed:
            steps.append((f"remove the loaded image {image_id[:19]}", lambda: images.remove_tag(image_id)))
        rollback.run(exc, steps)
        raise
    return ref
