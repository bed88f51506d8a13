"""The labels on an mlc container: AIME's ``aime.mlc.*`` set and ds01's ``ds01.*`` set.

AIME's ``mlc list`` identifies containers by ``aime.mlc=<login>`` and reads the other
``aime.mlc.*`` keys; ds01 adds ``aime.mlc.DS01_MANAGED``/``CUSTOM_IMAGE`` and ``ds01.*``.
Labels are computed here from the spec and the caller's identity only; users never set
them, and callers (Tier 2) may add only ``ds01.*`` keys the engine does not own.
"""

from __future__ import annotations

# Imported by every listing, so it imports nothing at run time (``sparse`` explains why).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path

MLC_VERSION = "4"
AIME = "aime.mlc"
NONE_MOUNT = "-"  # AIME v2 writes "-" for an absent data/models mount (v1: empty string)

# Engine-owned ds01 keys: derived from the caller identity, never taken from a caller.
ENGINE_DS01_KEYS = frozenset({"ds01.user", "ds01.uid", "ds01.created_at"})
# Keys a caller (the container unit) is expected to pass.
CALLER_DS01_KEYS = ("ds01.group", "ds01.gpu.slots", "ds01.gpu.uuids", "ds01.project")
# Keys whose value is a list (``policy.labels.join_list``: items joined with ";", never ",").
LIST_KEYS = ("ds01.gpu.slots", "ds01.gpu.uuids", f"{AIME}.GPUS")


def aime_labels(
    *,
    user: str,
    name: str,
    arch: str,
    workspace: Path,
    data: Path | None,
    models: Path | None,
    framework: str | None,
    version: str | None,
    gpus: str,
    custom_image: str | None,
) -> dict[str, str]:
    """The ``aime.mlc.*`` labels AIME's own create sets, plus ds01's two AIME-namespace keys."""
    if framework and version:
        fw = f"{framework}-{version}"
    elif custom_image:
        fw = "custom"
    else:
        fw = framework or "-"
    labels = {
        AIME: user,
        f"{AIME}.NAME": name,
        f"{AIME}.USER": user,
        f"{AIME}.ARCH": arch,
        f"{AIME}.MLC_VERSION": MLC_VERSION,
        f"{AIME}.WORK_MOUNT": str(workspace),
        f"{AIME}.DATA_MOUNT": str(data) if data else NONE_MOUNT,
        f"{AIME}.MODELS_MOUNT": str(models) if models else NONE_MOUNT,
        f"{AIME}.FRAMEWORK": fw,
        f"{AIME}.GPUS": gpus,
        f"{AIME}.DS01_MANAGED": "true",
    }
    if custom_image:
        labels[f"{AIME}.CUSTOM_IMAGE"] = custom_image
    return labels


def ds01_labels(user: str, uid: int, extra: Mapping[str, str], *, now: datetime | None = None) -> dict[str, str]:
    """``ds01.*`` labels: the caller's ``extra`` (``ds01.*`` keys only) plus the engine-owned ones."""
    from ds01.errors import UsageError
    from ds01.timefmt import iso, now_iso

    for key, value in extra.items():
        if not key.startswith("ds01."):
            raise UsageError(f"Label {key!r} cannot be set: only ds01.* labels may be added.")
        if key in ENGINE_DS01_KEYS:
            raise UsageError(f"Label {key!r} is set by ds01 itself and cannot be overridden.")
        if not isinstance(value, str):
            raise UsageError(f"Label {key!r} must be text, not {type(value).__name__}.")
    stamp = iso(now) if now else now_iso()
    return {**dict(extra), "ds01.user": user, "ds01.uid": str(uid), "ds01.created_at": stamp}


def owner_filter(user: str | None) -> list[str]:
    """Docker label filters for one user's mlc containers (``None``: everyone's)."""
    return [f"{AIME}={user}"] if user else [AIME]


def is_ds01_managed(labels: Mapping[str, str]) -> bool:
    return labels.get(f"{AIME}.DS01_MANAGED") == "true" or "ds01.user" in labels


def mount_value(value: str | None) -> str | None:
    """A ``*_MOUNT`` label as a path, or None for AIME's "no mount" spellings."""
    if value in (None, "", NONE_MOUNT):
        return None
    return value
