"""What an imported archive (``mlc import``) may set: the image and user-level settings only.

An export file is data the caller hands to root. ds01 takes from it:

- the image (its layers, and its configuration with the reserved labels and environment
  removed: ``ds01.*``/``aime.mlc*`` labels and ``NVIDIA_*``/``DS01_*`` variables);
- the container's name;
- its workspace, as a path *relative to the caller's home* (never a host path from the
  exporting server);
- its environment other than ``NVIDIA_*``/``DS01_*`` (carried in the image configuration).

Everything else in the definition (network mode, cgroup parent, restart policy, limits,
devices, capabilities, privileges, labels, GPU assignments) is ignored: the container is made
with the caller's own limits and a fresh GPU allocation, exactly as ``container create``
makes one. An image's ``RepoTags`` (and the ``repositories`` file) are dropped before the
image reaches Docker, so an archive never moves an existing tag.

Pure functions over plain data; the caller (``ds01.base.transfer``) reads the file and
talks to Docker.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from ds01.policy.labels import is_reserved
from ds01.records import dataclass

# The largest export file ds01 reads (bytes). Reading stops here with a clear error.
MAX_ARCHIVE_BYTES = 64 * 1024**3
# definition.json, and manifest.json / an image configuration inside the image: small JSON.
MAX_DEFINITION_BYTES = 1024**2
MAX_IMAGE_METADATA_BYTES = 16 * 1024**2

RESERVED_ENV_PREFIXES = ("NVIDIA_", "DS01_")
# Definition keys ds01 takes from an archive; every other key is reported as ignored.
TAKEN_KEYS = frozenset({"format", "name", "mounts", "env", "image", "image_id", "docker_name", "user", "uid"})
# Members of a ``docker save`` archive that name or tag images; they never reach Docker.
TAGGING_MEMBERS = frozenset({"repositories", "index.json", "oci-layout"})


@dataclass(frozen=True)
class ArchiveSettings:
    """What ds01 takes from an archive's definition."""

    name: str | None
    workspace: PurePosixPath | None  # relative to the caller's home; None: the default workspace
    env: dict[str, str]
    ignored: tuple[str, ...]  # the definition's settings ds01 did not apply, for the user


def source_refusal(mode: int, size: int, *, cap: int | None = None) -> str | None:
    """Why a file with this ``st_mode``/``st_size`` cannot be imported, or None when it can."""
    limit = MAX_ARCHIVE_BYTES if cap is None else cap
    if stat.S_ISDIR(mode):
        return "it is a directory; give the export file"
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "it is a pipe or socket, not a file; save the export to a file first"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device, not a file"
    if not stat.S_ISREG(mode):
        return "it is not a regular file"
    if size > limit:
        return f"it is larger than the {limit} bytes an import may read"
    return None


def reserved_env(key: str) -> bool:
    return key.startswith(RESERVED_ENV_PREFIXES)


def user_env(env: Mapping[str, Any]) -> dict[str, str]:
    """The variables an archive may carry: text names and values, none in ds01's or NVIDIA's space."""
    return {
        str(k): str(v)
        for k, v in env.items()
        if isinstance(k, str)
        and k
        and "=" not in k
        and "\0" not in k
        and not reserved_env(k)
        and isinstance(v, (str, int, float))
        and "\0" not in str(v)
    }


def home_relative(value: Any) -> PurePosixPath | None:
    """A clean path below the home folder (no ``..``, not absolute), or None."""
    if not isinstance(value, str) or not value or "\0" in value:
        return None
    path = PurePosixPath(value)
    if path.is_absolute() or any(part in ("..", "") for part in path.parts) or path == PurePosixPath("."):
        return None
    return path


def allowed_settings(definition: Mapping[str, Any]) -> ArchiveSettings:
    """The user-level settings of an archive's definition; the rest is listed as ignored."""
    name = definition.get("name")
    mounts = definition.get("mounts") if isinstance(definition.get("mounts"), Mapping) else {}
    assert isinstance(mounts, Mapping)
    raw_env = definition.get("env") if isinstance(definition.get("env"), Mapping) else {}
    assert isinstance(raw_env, Mapping)
    env = user_env(raw_env)
    ignored = [k for k in definition if k not in TAKEN_KEYS and definition.get(k) not in (None, "", [], {}, False)]
    ignored += [f"env {k}" for k in raw_env if k not in env]
    ignored += [f"mount {k}" for k in ("data", "models") if mounts.get(k)]
    return ArchiveSettings(
        name=name if isinstance(name, str) and name else None,
        workspace=home_relative(mounts.get("workspace_in_home")),
        env=env,
        ignored=tuple(sorted(ignored)),
    )


def image_labels(labels: Mapping[str, Any] | None, owner_labels: Mapping[str, str]) -> dict[str, str]:
    """An imported image's labels: the archive's, minus ds01's and AIME's namespaces, plus ds01's own."""
    kept = {str(k): str(v) for k, v in (labels or {}).items() if not is_reserved(str(k))}
    return {**kept, **dict(owner_labels)}


def image_config(config: Mapping[str, Any], owner_labels: Mapping[str, str]) -> dict[str, Any]:
    """An image configuration (``docker save``'s config JSON) as ds01 loads it.

    Labels in ``ds01.*``/``aime.mlc*`` are replaced by ``owner_labels`` (written by ds01), and
    ``NVIDIA_*``/``DS01_*`` variables are removed from the environment; layers are untouched.
    """
    out = dict(config)
    for key in ("config", "container_config"):
        section = out.get(key)
        if not isinstance(section, Mapping):
            continue
        section = dict(section)
        env = [e for e in section.get("Env") or [] if isinstance(e, str)]
        section["Env"] = [e for e in env if "=" in e and not reserved_env(e.split("=", 1)[0])] or None
        section["Labels"] = image_labels(section.get("Labels"), owner_labels if key == "config" else {}) or None
        out[key] = section
    if not isinstance(out.get("config"), Mapping):
        out["config"] = {"Labels": dict(owner_labels)}
    return out


def manifest_refusal(manifest: Any) -> str | None:
    """Why ``manifest.json`` of an image archive is not one image ds01 can load, or None."""
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], Mapping):
        return "it must hold exactly one image"
    entry = manifest[0]
    if not isinstance(entry.get("Config"), str) or not isinstance(entry.get("Layers"), list):
        return "its image manifest has no configuration or layers"
    names = [entry["Config"], *entry["Layers"]]
    if not all(isinstance(n, str) and safe_member(n) for n in names):
        return "its image manifest names files outside the archive"
    return None


def manifest_without_tags(manifest: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``manifest.json`` with no ``RepoTags``: Docker then loads the image untagged."""
    return [{**{k: v for k, v in manifest[0].items() if k != "RepoTags"}, "RepoTags": None}]


def safe_member(name: str) -> bool:
    """A member name that stays inside the archive (relative, no ``..``)."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\0" not in name
