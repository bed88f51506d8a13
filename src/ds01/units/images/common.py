"""What the image units share: names, where a project's Dockerfile lives, labels, the
atomic write, and the build step with its log.

Dockerfile locations (documented in docs/images.md):
- default: ``<images.dockerfiles_dir>/<project>/Dockerfile`` (``~/dockerfiles/<project>/Dockerfile``);
- ``--project-dockerfile [DIR]``: ``DIR/Dockerfile`` (DIR defaults to ``~/workspace/<project>``).
The build log of the last build is ``<dockerfiles_dir>/<project>/build.log`` either way.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from ds01 import privsep
from ds01.base.names import validate_new_name
from ds01.errors import OperationFailed, PolicyRefused, UsageError
from ds01.fsutil import locked_dir, make_dirs, write_atomic
from ds01.identity import Identity
from ds01.policy import images as image_policy
from ds01.policy import labels as label_policy
from ds01.records import dataclass
from ds01.timefmt import now_iso
from ds01.units.images.packages import ImageSettings

if TYPE_CHECKING:
    from ds01.base.images import ImageFacts as ImageFacts

IMAGE_SUFFIX = "-image"


def validate_project(name: str) -> str:
    """The project name rule of ``ds01.base.names``: ``<name>-image`` is then a valid reference."""
    return validate_new_name(name, "project")


def image_name(project: str) -> str:
    """Images are always named ``{project}-image`` (tag ``latest``)."""
    return f"{project}{IMAGE_SUFFIX}"


def project_of(name: str) -> str:
    """``my-thesis-image[:latest]`` or ``my-thesis`` -> ``my-thesis``."""
    repo = name.split(":", 1)[0]
    return repo[: -len(IMAGE_SUFFIX)] if repo.endswith(IMAGE_SUFFIX) else repo


@dataclass(frozen=True)
class Location:
    """Where a project's Dockerfile and build log live."""

    dockerfile: Path
    build_log: Path

    @property
    def context_dir(self) -> Path:
        return self.dockerfile.parent


def dockerfiles_root(settings: ImageSettings, identity: Identity) -> Path:
    raw = settings.dockerfiles_dir
    if raw.startswith("~"):
        raw = str(home_of(identity)) + raw[1:]
    return Path(raw)


def home_of(identity: Identity) -> Path:
    """``~`` for the caller: their passwd home under sudo (HOME may be root's), else ``$HOME``."""
    if identity.via_sudo:
        return identity.home
    return Path.home()


def locate(
    project: str,
    settings: ImageSettings,
    identity: Identity,
    project_dir: Path | None = None,
) -> Location:
    root = dockerfiles_root(settings, identity) / project
    if project_dir is not None:
        return Location(caller_path(project_dir, identity) / "Dockerfile", root / "build.log")
    return Location(root / "Dockerfile", root / "build.log")


def default_project_dir(project: str, identity: Identity) -> Path:
    return home_of(identity) / "workspace" / project


def _write_as_caller(path: Path, text: str) -> None:
    make_dirs(path.parent)
    write_atomic(path, text)


def write_file(path: Path, text: str, identity: Identity) -> None:
    """Write one of the caller's files atomically, folders missing above it too, *as the caller*
    (``privsep.run_as``): under sudo the kernel checks every path component with their rights, so
    a ``~/dockerfiles`` symlink to a folder they cannot write fails as it would at their shell."""
    privsep.run_as(identity, _write_as_caller, Path(path), text)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else None
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text.") from exc
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror or exc}.") from exc


def read_file(path: Path, identity: Identity | None) -> str | None:
    """One of the caller's files as the caller can read it (None when it does not exist)."""
    return privsep.run_as(identity, _read_text, Path(path))


def caller_path(raw: str | Path, identity: Identity) -> Path:
    """A path the caller typed, made absolute the way their shell would (``~`` is their home)."""
    text = str(raw)
    if text == "~" or text.startswith("~/"):
        text = str(home_of(identity)) + text[1:]
    return Path(os.path.abspath(text))


def labels_for(
    *, identity: Identity, project: str, framework: str | None, base_image: str, dockerfile: Path
) -> dict[str, str]:
    labels = {
        "ds01.managed": "true",
        "ds01.user": identity.name,
        "ds01.uid": str(identity.uid),
        "ds01.project": project,
        "ds01.base_image": base_image,
        "ds01.dockerfile": str(dockerfile),
        "ds01.created_at": now_iso(),
        # Always set (empty when none), so that a base image's value is never inherited.
        "ds01.framework": framework or "",
    }
    return labels


def check_name_is_ours(project: str, identity: Identity) -> None:
    """``{project}-image`` is one name on the whole server: refuse to build over someone else's.

    An existing tag that ds01 did not record as built for this caller (another user's build, or
    an image ds01 did not build at all, such as an admin's) would silently move to the new build
    and leave its owner's name pointing at our image. The owner is not named (images, like
    containers, are private to their user). Labels are not asked: a Dockerfile can write any.
    """
    from ds01.base import images as docker_images

    name = image_name(project)
    found = docker_images.facts(f"{name}:latest")
    if found.id is None or found.owner_uid == identity.uid:
        return
    whose = "another user's image" if found.owner_uid is not None else "an image ds01 did not build for you"
    raise PolicyRefused(
        f"The name {name} is already taken by {whose}; choose another project name "
        f"(for example {project}-{identity.name.lower()})."
    )


def catalog_refs(settings: ImageSettings) -> list[str]:
    """Every image the framework catalog names (all architectures)."""
    from ds01.base import catalog as _catalog
    from ds01.errors import Ds01Error

    try:
        cat = _catalog.load_catalog(aime_catalog=settings.aime_catalog or _catalog.DEFAULT_AIME_CATALOG)
    except Ds01Error:
        return []
    return [entry.image for entry in cat.entries]


def require_usable_image(
    ref: str, settings: ImageSettings, identity: Identity, *, what: str = "base image"
) -> ImageFacts:
    """Refuse (exit 3) an image the caller may not build on: another user's project image, or a
    local image that is neither in the catalog nor in ``security.allowed_base_images``."""
    from ds01.base import images as docker_images

    found = docker_images.facts(ref)
    image_policy.require(
        identity.uid,
        what=what,
        ref=ref,
        image_id=found.id,
        tags=found.tags,
        owner_uid=found.owner_uid,
        catalog_refs=catalog_refs(settings),
        allowed_refs=settings.allowed_base_images,
        allowed_ids=docker_images.ids_of(settings.allowed_base_images),
    )
    return found


def check_dockerfile(text: str, settings: ImageSettings, identity: Identity) -> list[ImageFacts]:
    """Every image the Dockerfile builds on or copies from must be one the caller may use, and
    it may set no label in ds01's namespaces. Returns what was found about those images."""
    reserved = sorted({k for k in image_policy.label_keys(text) if label_policy.is_reserved(k)})
    if reserved:
        raise PolicyRefused(
            f"The Dockerfile sets the label(s) {label_policy.describe(reserved)}; labels in the ds01. and "
            "aime.mlc. namespaces are set by ds01 only. Remove those LABEL lines."
        )
    return [
        require_usable_image(ref, settings, identity, what="image in the Dockerfile")
        for ref in image_policy.referenced_images(text)
    ]


def build_labels(labels: dict[str, str], bases: list[ImageFacts]) -> dict[str, str]:
    """ds01's labels for a build, plus an empty value for every reserved label a base image carries
    that ds01 does not set, so the new image inherits none it did not write."""
    return label_policy.container_labels(labels, {k: v for base in bases for k, v in base.labels.items()})


def _label_check(given: dict[str, str]) -> Callable[[dict[str, str]], str | None]:
    def check(built: dict[str, str]) -> str | None:
        foreign = label_policy.foreign_labels(built, given)
        if not foreign:
            return None
        return (
            f"the image would carry the label(s) {label_policy.describe(foreign)}, which only ds01 sets; "
            "remove those LABEL lines from the Dockerfile (or build on another base)"
        )

    return check


def build(
    *,
    project: str,
    location: Location,
    identity: Identity,
    base_image: str,
    framework: str | None,
    on_line: Callable[[str], None] | None = None,
    settings: ImageSettings | None = None,
) -> str:
    """Build ``{project}-image:latest`` from the Dockerfile with ds01's labels (``labels_for``: the
    owner, project, framework and base image); returns the image id. ``image create``,
    ``image update`` and ``project init`` all build through here.

    The build context (the Dockerfile's folder) is packed *as the caller* into a temporary file
    and streamed to Docker from it; the Dockerfile in it must build only on images the caller may use, and the
    result may carry no ``ds01.*``/``aime.mlc.*`` label but the ones ds01 gives it. ds01 then
    records the image as the caller's. The log is written to ``location.build_log``; a failure
    names the failing step and leaves the previous image in place.
    """
    from ds01.base import images as docker_images

    settings = settings or ImageSettings()
    # One build of a project at a time: a second one waits, then builds the Dockerfile as it is
    # by then, so the tag always ends on the newest recipe (and two builds don't share the CPUs).
    with _build_lock(location, identity), tempfile.TemporaryFile(prefix="ds01-context-") as context:
        # Packed as the caller straight into root's unlinked temporary file: checked and sent
        # to Docker from there, never held in memory.
        docker_images.load_context_writer()
        privsep.run_as(
            identity, docker_images.write_context, context.fileno(), location.context_dir, location.dockerfile.name
        )
        text = docker_images.dockerfile_from_context(context, location.dockerfile.name)
        labels = labels_for(
            identity=identity,
            project=project,
            framework=framework,
            base_image=base_image,
            dockerfile=location.dockerfile,
        )
        labels = build_labels(labels, check_dockerfile(text, settings, identity))
        result = docker_images.build(
            context=context,
            dockerfile=location.dockerfile.name,
            repository=image_name(project),
            labels=labels,
            on_line=on_line,
            check=_label_check(labels),
        )
        if result.ok:
            assert result.image_id is not None
            docker_images.record_owner(
                result.image_id,
                uid=identity.uid,
                user=identity.name,
                project=project,
                labels=labels,
                dockerfile=str(location.dockerfile),
                shared=not settings.secure,
            )
        write_file(location.build_log, "\n".join(result.log) + "\n", identity)
    if result.refused:
        raise PolicyRefused(f"{image_name(project)} was not built: {result.error}. The previous image is unchanged.")
    if not result.ok:
        step = f" at {result.failed_step}" if result.failed_step else ""
        raise OperationFailed(
            f"Building {image_name(project)} failed{step}: {result.error}; the previous image is unchanged "
            f"and the full log is in {location.build_log}.",
        )
    assert result.image_id is not None
    return result.image_id


def _build_lock(location: Location, identity: Identity) -> AbstractContextManager[None]:
    """The per-project build lock: ``flock`` on the Dockerfile's folder, opened as the caller."""
    folder = location.dockerfile.parent
    if not privsep.needed(identity):
        return locked_dir(folder)
    return locked_dir(folder, opener=lambda path: privsep.open_fd(identity, path, os.O_RDONLY | os.O_DIRECTORY))
