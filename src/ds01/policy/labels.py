"""The label namespaces ds01 alone writes: ``ds01.*`` and ``aime.mlc.*`` (SPEC §9).

A label is not evidence of anything ds01 decided unless ds01 wrote it: Docker gives a
container every label of its image that the create request does not set, and a user's
Dockerfile can say ``LABEL ds01.gpu.slots="0"``. So:

- an image that carries a reserved label ds01 did not write is refused, for building on and
  for containers (``foreign_labels``): on a project image ds01 built, the labels it gave that
  build (and recorded) are its own; on a catalog or allowed image, none is;
- ds01's own builds pass every label they use to the build, so a Dockerfile cannot override
  them, and the built image is checked against that set before it is tagged;
- on every container it creates or recreates ds01 writes every reserved key itself: its own
  value for the keys it uses, and an empty value for any other reserved key the image carries
  (Docker cannot drop an image's label from a container, only override it). ``container_labels``
  computes that set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ds01.errors import UsageError

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


def foreign_labels(image_labels: Mapping[str, str], written: Mapping[str, str] | None = None) -> list[str]:
    """The reserved label keys of an image that ds01 did not write, sorted (empty: none).

    ``written``: the labels ds01 itself gave the image when it built it (its record of the
    build, ``ds01.base.images.ImageFacts.recorded_labels``), or None for an image ds01 did not
    build (a catalog or allowed image), on which every reserved key is foreign. A key is
    foreign when ``written`` lacks it or holds another value.
    """
    ours = dict(written or {})
    return sorted(k for k, v in image_labels.items() if is_reserved(k) and (k not in ours or ours[k] != v))


def describe(keys: list[str], *, limit: int = 5) -> str:
    """``a, b, c and 2 more``: reserved keys for a one-sentence refusal."""
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def container_labels(written: Mapping[str, str], image_labels: Mapping[str, str] | None) -> dict[str, str]:
    """The labels to send with a create: ds01's ``written`` ones, plus an empty override for every
    reserved key the image carries that ds01 did not write, so that no such key is inherited, and
    for any other image label whose value holds a ``,`` that value with ``;`` in its place (a
    container inherits its image's labels, and AIME's ``mlc list`` cannot read a comma in one)."""
    labels = dict(written)
    for key, value in (image_labels or {}).items():
        if key in labels:
            continue
        if is_reserved(key):
            labels[key] = NEUTRALISED
        elif "," in value:
            labels[key] = value.replace(",", LIST_SEPARATOR)
    return labels


# -- list values (GPU slots, device UUIDs) -------------------------------------------------------
#
# AIME's ``mlc list`` reads ``docker ps --format {{.Labels}}`` (``k=v,k=v``) by splitting on
# ``,`` and then on ``=``: one comma inside a value breaks its listing for every user. So ds01
# joins the items of a list value with ``;`` (the separator AIME's own catalog uses inside
# ``[ARCH1;ARCH2]``), and reads both ``;`` and the ``,`` that earlier versions wrote.

LIST_SEPARATOR = ";"
_READ_SEPARATORS = (";", ",")


def join_list(items: Iterable[str]) -> str:
    """``["0", "1.2"]`` -> ``"0;1.2"``: a list label value without a comma."""
    return LIST_SEPARATOR.join(items)


def split_list(value: str | None) -> tuple[str, ...]:
    """A list label value as its items; reads ``0;1`` and the older ``0,1`` alike."""
    text = value or ""
    for sep in _READ_SEPARATORS[1:]:
        text = text.replace(sep, LIST_SEPARATOR)
    return tuple(p.strip() for p in text.split(LIST_SEPARATOR) if p.strip())


# -- any value ------------------------------------------------------------------------------------


def check_values(labels: Mapping[str, str]) -> None:
    """Refuse (exit 2) a label value ds01 would write with a ``,`` in it: AIME's ``mlc list`` splits
    ``docker ps`` label output on commas and fails for every container it lists. A list value is
    joined with ``;`` (``join_list``); a path with a comma is refused where it is given
    (``policy.mounts.resolve_for_create``), since AIME shows the raw path and cannot decode one."""
    for key, value in labels.items():
        if "," in value:
            raise UsageError(
                f"The label {key}={value!r} would hold a ',', which AIME's `mlc list` cannot read; "
                "nothing was created (use a name or path without ',')."
            )
