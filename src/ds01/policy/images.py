"""Which images a caller may build on or run (SPEC §9): images never cross users.

An image is usable by a caller when it is one of:

- the caller's own project image: ds01 recorded, when it built the image, that it built it
  for this uid (the record lives in ds01's state folder, keyed by image id; callers pass the
  recorded uid in). A label says nothing here: ``LABEL ds01.user=...`` in a Dockerfile is the
  Dockerfile author's word, not ds01's;
- a catalog image (a row of the framework catalog names one of its tags);
- an image an admin lists in ``security.allowed_base_images`` (by any of its tags, or by id).

Everything else is refused, in both security modes: another user's project image, and a plain
local image nobody listed. The refusal does not say whose an image is.

Dockerfiles reach images too: every ``FROM`` and every ``COPY/ADD --from=`` that names an
image (not an earlier build stage) must name a usable one, and may not be computed from a
variable (``FROM $BASE``), since the check reads the file, not the build.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from ds01.errors import PolicyRefused, UsageError
from ds01.records import dataclass

_DEFAULT_REGISTRY_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/")


def normalize(ref: str) -> str:
    """``ubuntu`` -> ``ubuntu:latest``; ``docker.io/library/x:1`` -> ``x:1`` (digests kept as they are)."""
    ref = ref.strip()
    for prefix in _DEFAULT_REGISTRY_PREFIXES:
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    if "@" in ref:
        return ref
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    why: str  # "own" | "catalog" | "allowed" | "scratch" | "absent" | "another user's" | "not allowed"


def judge(
    caller_uid: int,
    *,
    ref: str,
    image_id: str | None,
    tags: Iterable[str] = (),
    owner_uid: int | None = None,
    catalog_refs: Iterable[str] = (),
    allowed_refs: Iterable[str] = (),
    allowed_ids: Iterable[str] = (),
) -> Verdict:
    """Whether ``caller_uid`` may use the image ``ref`` (facts found by the caller of this function).

    ``owner_uid`` is ds01's own record of whom it built the image for (None: for nobody).
    Root may use any image that exists.
    """
    if image_id is None:
        return Verdict(False, "absent")
    if owner_uid is not None:
        if owner_uid == caller_uid or caller_uid == 0:
            return Verdict(True, "own")
        return Verdict(False, "another user's")
    names = {normalize(ref), *(normalize(t) for t in tags)}
    if names & {normalize(r) for r in catalog_refs}:
        return Verdict(True, "catalog")
    if names & {normalize(r) for r in allowed_refs} or image_id in set(allowed_ids):
        return Verdict(True, "allowed")
    if caller_uid == 0:
        return Verdict(True, "root")
    return Verdict(False, "not allowed")


def refusal(ref: str, verdict: Verdict, *, what: str = "image") -> PolicyRefused:
    """The one sentence a refused image gets (it never names the image's owner)."""
    if verdict.why == "another user's":
        return PolicyRefused(
            f"The {what} {ref} is another user's project image; you may use your own project images, catalog "
            "images and the bases an admin allows (security.allowed_base_images)."
        )
    return PolicyRefused(
        f"The {what} {ref} is not one you may use: not your project image, not a catalog image, and not in "
        "security.allowed_base_images (ask an admin to add it there)."
    )


def require(caller_uid: int, *, what: str = "image", **facts) -> Verdict:
    """``judge`` that raises ``PolicyRefused`` (exit 3) for an image that exists but may not be used."""
    verdict = judge(caller_uid, **facts)
    if not verdict.allowed and verdict.why != "absent":
        raise refusal(facts["ref"], verdict, what=what)
    return verdict


# --- images a Dockerfile reaches -------------------------------------------------------------

_INSTRUCTION = r"^\s*(?P<cmd>[A-Za-z]+)\s+(?P<rest>.*)$"  # compiled at its first use (re's cache)


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") and not buffer:
            continue
        if buffer and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped by Docker too
        buffer = f"{buffer} {stripped}" if buffer else raw
        if buffer.rstrip().endswith("\\"):
            buffer = buffer.rstrip()[:-1]
            continue
        lines.append(buffer)
        buffer = ""
    if buffer:
        lines.append(buffer)
    return lines


def _instructions(text: str) -> Iterator[tuple[str, str, str, bool]]:
    """``(INSTRUCTION, arguments, line, under_onbuild)`` for every instruction of a Dockerfile
    (an ``ONBUILD X ...`` line yields ``X`` with ``under_onbuild`` set)."""
    for line in _logical_lines(text):
        m = re.match(_INSTRUCTION, line)
        if not m:
            continue
        cmd, rest = m.group("cmd").upper(), m.group("rest").strip()
        onbuild = cmd == "ONBUILD"
        if onbuild:
            inner = re.match(_INSTRUCTION, rest)
            if not inner:
                continue
            cmd, rest = inner.group("cmd").upper(), inner.group("rest").strip()
        yield cmd, rest, line, onbuild


def referenced_images(text: str) -> list[str]:
    """The images a Dockerfile builds on or copies from (``FROM``, ``COPY/ADD --from=``).

    Build stage names and stage numbers are not images and are left out. Raises ``UsageError``
    for a reference made of a variable, which no check of the file can follow.
    """
    stages: list[str] = []
    found: list[str] = []
    for cmd, rest, line, onbuild in _instructions(text):
        if cmd == "FROM":
            if onbuild:
                raise UsageError("ONBUILD FROM is not allowed in a Dockerfile ds01 builds.")
            words = [w for w in rest.split() if not w.startswith("--")]
            if not words:
                raise UsageError(f"A FROM line names no image: {line.strip()!r}.")
            image = words[0]
            _no_variable(image, line)
            if image.lower() != "scratch" and image not in stages:
                found.append(image)
            if len(words) >= 3 and words[1].lower() == "as":
                stages.append(words[2])
            else:
                stages.append(f"#{len(stages)}")
        elif cmd in ("COPY", "ADD", "RUN"):
            for source in _from_flags(rest):
                _no_variable(source, line)
                if source in stages or source.isdigit():
                    continue
                found.append(source)
    return found


def label_keys(text: str) -> list[str]:
    """The keys a Dockerfile's ``LABEL`` instructions set (``LABEL k=v "k 2"=v`` and ``LABEL k v``)."""
    import shlex

    keys: list[str] = []
    for cmd, rest, _line, _onbuild in _instructions(text):
        if cmd != "LABEL":
            continue
        try:
            words = shlex.split(rest, posix=True)
        except ValueError:
            words = rest.split()
        if words and "=" not in words[0]:
            keys.append(words[0])  # the old form: LABEL key value
            continue
        keys.extend(word.split("=", 1)[0] for word in words if "=" in word)
    return keys


def _from_flags(rest: str) -> list[str]:
    """``--from=X`` of COPY/ADD and ``--mount=...,from=X`` of RUN."""
    if rest.startswith("["):
        return []
    import shlex

    try:
        words = shlex.split(rest, posix=True)
    except ValueError:
        words = rest.split()
    sources = []
    for word in words:
        if not word.startswith("--"):
            break
        if word.startswith("--from="):
            sources.append(word[len("--from=") :])
        elif word.startswith("--mount="):
            for part in word[len("--mount=") :].split(","):
                if part.startswith("from="):
                    sources.append(part[len("from=") :])
    return sources


def _no_variable(ref: str, line: str) -> None:
    if "$" in ref:
        raise UsageError(
            f"{line.strip()!r} computes its image from a variable; name the image itself so ds01 can check it."
        )


def json_argv(rest: str) -> list[str] | None:
    """An exec-form instruction's argv, or None when it is not one."""
    try:
        argv = json.loads(rest)
    except ValueError:
        return None
    return argv if isinstance(argv, list) and all(isinstance(a, str) for a in argv) else None
