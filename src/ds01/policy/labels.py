"""The label namespaces ds01 alone writes: ``ds01.*`` and ``aime.mlc.*`` (SPEC §9).

A label is not evidence of anything ds01 decided unless ds01 wrote it: Docker gives a
container every label of its image that the create request does not set, and a user's
Dockerfile can say ``LABEL ds01.gpu.slots="0"``. So on every container it creates or
recreates ds01 writes every reserved key itself: its own value for the keys it uses, and an
empty value for any other reserved key the image carries (Docker cannot drop an image's
label from a container, only override it). ``container_labels`` computes that set.
"""

from __future__ import annotations

from collections.abc import Mapping

DS01 = "ds01"
AIME = "aime.mlc"
NAMESPACES = (DS01, AIME)
NEUTRALISED = ""  # the value a reserved image label gets on a container ds01 makes


def is_reserved(key: str) -> bool:
    """Whether ``key`` lies in a namespace only ds01 (and AIME's own mlc) may write."""
    return any(key == ns or key.startswith(ns + ".") for ns in NAMESPACES)


def ds01_label_keys(labels: Mapping[str, str]) -> set[str]:
    """The reserved keys among ``labels``."""
    return {k for k in labels if is_reserved(k)}


def container_labels(written: Mapping[str, str], image_labels: Mapping[str, str] | None) -> dict[str, str]:
    """The labels to send with a create: ds01's ``written`` ones, plus an empty override for every
    reserved key the image carries that ds01 did not write, so that no such key is inherited."""
    labels = dict(written)
    for key in ds01_label_keys(image_labels or {}):
        labels.setdefault(key, NEUTRALISED)
    return labels
