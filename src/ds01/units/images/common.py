"""What the image units share: names, where a project's Dockerfile lives, labels, the
atomic write, and the build step with its log.

Dockerfile locations (documented in docs/images.md):
- default: ``<images.dockerfiles_dir>/<project>/Dockerfile`` (``~/dockerfiles/<project>/Dockerfile``);
- ``--project-dockerfile [DIR]``: ``DIR/Dockerfile`` (DIR defaults to ``~/workspace/<project>``).
The build log of the last build is ``<dockerfiles_dir>/<project>/build.log`` either way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ds01.errors import OperationFailed, PolicyRefused, UsageError
from ds01.fsutil import locked_dir, make_dirs, write_atomic
from ds01.identity import Identity
from ds01.units.images.packages import ImageSettings

IMAGE_SUFFIX = "-image"
# Docker repository names are lowercase; keep to a portable subset.
_PROJECT = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


def validate_project(name: str) -> str:
    if not _PROJECT.match(name or "") or ".." in name or name.endswith((".", "-", "_")):
        hint = f" (try {name.lower()!r})" if name and name.lower() != name and _PROJECT.match(name.lower()) else ""
        raise UsageError(
            f"{name!r} is not a valid project name{hint}; use lowercase letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (at most 63 characters)."
        )
    return name


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
        return Location(Path(project_dir).expanduser() / "Dockerfile", root / "build.log")
    return Location(root / "Dockerfile", root / "build.log")


def default_project_dir(project: str, identity: Identity) -> Path:
    return home_of(identity) / "workspace" / project


def write_file(path: Path, text: str, identity: Identity) -> None:
    """Write one of the caller's files atomically; folders missing above it are made theirs too
    (under sudo, ``~/dockerfiles/<project>`` must not end up belonging to root)."""
    make_dirs(path.parent, uid=identity.uid, gid=identity.gid)
    write_atomic(path, text, uid=identity.uid, gid=identity.gid)


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
        "ds01.created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if framework:
        labels["ds01.framework"] = framework
    return labels


def check_name_is_ours(project: str, identity: Identity) -> None:
    """``{project}-image`` is one name on the whole server: refuse to build over someone else's.

    An existing tag that another user's ds01 build made, or that ds01 did not make at all (an
    admin's local image), would silently move to the new build and leave its owner's name pointing
    at our image. The owner is not named (images, like containers, are private to their user).
    """
    from ds01.base import images as docker_images

    name = image_name(project)
    info = docker_images.inspect_image(f"{name}:latest")
    if info is None:
        return
    labels = (info.get("Config") or {}).get("Labels") or {}
    if labels.get("ds01.user") == identity.name:
        return
    whose = "another user's image" if labels.get("ds01.user") else "an image ds01 did not build for you"
    raise PolicyRefused(
        f"The name {name} is already taken by {whose}; choose another project name "
        f"(for example {project}-{identity.name.lower()})."
    )


def build(
    *,
    project: str,
    location: Location,
    labels: dict[str, str],
    identity: Identity,
    on_line: Callable[[str], None] | None = None,
) -> str:
    """Build ``{project}-image:latest`` from the Dockerfile; returns the image id.

    The log is written to ``location.build_log``; a failure names the failing step and
    leaves the previous image in place.
    """
    from ds01.base import images as docker_images

    # One build of a project at a time: a second one waits, then builds the Dockerfile as it is
    # by then, so the tag always ends on the newest recipe (and two builds don't share the CPUs).
    with locked_dir(location.dockerfile.parent):
        result = docker_images.build(
            context_dir=location.context_dir,
            dockerfile=location.dockerfile.name,
            repository=image_name(project),
            labels=labels,
            on_line=on_line,
        )
        write_file(location.build_log, "\n".join(result.log) + "\n", identity)
    if not result.ok:
        step = f" at {result.failed_step}" if result.failed_step else ""
        raise OperationFailed(
            f"Building {image_name(project)} failed{step}: {result.error}; the previous image is unchanged "
            f"and the full log is in {location.build_log}.",
        )
    assert result.image_id is not None
    return result.image_id
