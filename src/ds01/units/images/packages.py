"""Package phases, their default lists, and validation of user package specifiers.

One data table per use case (General ML, Computer Vision, NLP, RL; Custom adds only the
user's own packages). Admins override any list in ``images:`` of resource-limits.yaml.
User specifiers are parsed as PEP 508 requirements with ``packaging`` (the grammar pip
itself uses) before anything is written, and anything that could change pip's behaviour
(options, URLs unless allowed) or that is not a requirement at all is refused by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ds01.errors import UsageError
from ds01.records import dataclass, field

# Phase keys in Dockerfile order; the titles are what users see.
JUPYTER = "jupyter"
DATA_SCIENCE = "data-science"
USE_CASE = "use-case"
CUSTOM = "custom"
PHASES: tuple[str, ...] = (JUPYTER, DATA_SCIENCE, USE_CASE, CUSTOM)
PHASE_TITLES: dict[str, str] = {
    JUPYTER: "Jupyter",
    DATA_SCIENCE: "Data Science",
    USE_CASE: "Use Case",
    CUSTOM: "Custom",
}

# The apt phase (system packages) comes first, right after FROM; it is not a pip category.
SYSTEM = "system"
SYSTEM_TITLE = "System packages (apt)"

DEFAULT_JUPYTER: tuple[str, ...] = ("jupyter", "jupyterlab", "ipykernel", "ipywidgets")
DEFAULT_DATA_SCIENCE: tuple[str, ...] = ("pandas", "scipy", "scikit-learn", "matplotlib", "seaborn")

# Use cases in the order the design fixes (General ML first = the default).
USE_CASES: tuple[str, ...] = ("general-ml", "cv", "nlp", "rl", "custom")
USE_CASE_TITLES: dict[str, str] = {
    "general-ml": "General ML",
    "cv": "Computer Vision",
    "nlp": "NLP",
    "rl": "Reinforcement Learning",
    "custom": "Custom (only your own packages)",
}
DEFAULT_USE_CASE_PACKAGES: dict[str, tuple[str, ...]] = {
    "general-ml": ("xgboost", "lightgbm", "optuna", "tensorboard", "tqdm"),
    "cv": ("opencv-python-headless", "timm", "albumentations", "pillow", "scikit-image"),
    "nlp": ("transformers", "datasets", "tokenizers", "accelerate", "sentencepiece"),
    "rl": ("gymnasium", "stable-baselines3", "tensorboard"),
    "custom": (),
}


@dataclass(frozen=True)
class ImageSettings:
    """The ``images:`` settings this unit uses (mirrors ``ds01.limits.config.ImagesSettings``)."""

    dockerfiles_dir: str = "~/dockerfiles"
    jupyter: tuple[str, ...] | None = None
    data_science: tuple[str, ...] | None = None
    use_cases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    allow_urls: bool = False
    aime_catalog: Path | None = None
    # From ``security:``: secure mode, and the local images every user may build on.
    secure: bool = False
    allowed_base_images: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, images: Any, security: Any = None) -> ImageSettings:
        """Build from the config's ``images`` (and ``security``) section objects."""
        secure = bool(getattr(security, "secure", False))
        allowed = tuple(str(r) for r in (getattr(security, "allowed_base_images", None) or ()))
        if images is None:
            return cls(secure=secure, allowed_base_images=allowed)
        catalog = getattr(images, "aime_catalog", None)
        return cls(
            secure=secure,
            allowed_base_images=allowed,
            dockerfiles_dir=str(getattr(images, "dockerfiles_dir", None) or "~/dockerfiles"),
            jupyter=_opt_tuple(getattr(images, "jupyter", None)),
            data_science=_opt_tuple(getattr(images, "data_science", None)),
            use_cases={k: tuple(v) for k, v in dict(getattr(images, "use_cases", None) or {}).items()},
            allow_urls=bool(getattr(images, "allow_urls", False)),
            aime_catalog=Path(catalog) if catalog else None,
        )

    def phase_defaults(self, phase: str, use_case: str = "general-ml") -> tuple[str, ...]:
        """The package list one phase installs by default (config overrides the code table)."""
        if phase == JUPYTER:
            return self.jupyter if self.jupyter is not None else DEFAULT_JUPYTER
        if phase == DATA_SCIENCE:
            return self.data_science if self.data_science is not None else DEFAULT_DATA_SCIENCE
        if phase == USE_CASE:
            check_use_case(use_case)
            if use_case in self.use_cases:
                return tuple(self.use_cases[use_case])
            return DEFAULT_USE_CASE_PACKAGES[use_case]
        return ()


def _opt_tuple(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)


def check_use_case(use_case: str) -> str:
    if use_case not in USE_CASES:
        raise UsageError(f"Unknown use case {use_case!r}; choose one of: {', '.join(USE_CASES)}.")
    return use_case


# Characters that never belong in a requirement and would matter to a shell. ``;``, ``<``
# and ``>`` are legitimate inside specifiers and markers, so they are judged by the parser.
_FORBIDDEN = re.compile(r"[|&$`\\\n\r\t\x00'{}()]")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def validate_spec(item: str, *, allow_urls: bool = False) -> str:
    """One user package specifier, checked as a PEP 508 requirement; returns it normalised.

    Raises ``UsageError`` (exit 2) naming the offending item.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    text = item.strip()
    shown = item.replace("\n", "\\n").replace("\r", "\\r")
    if not text:
        raise UsageError("An empty package name was given; remove it or name a package.")
    if "\n" in item or "\r" in item:
        raise UsageError(f"Package '{shown}' contains a line break; give one package per item.")
    if text.startswith("-"):
        raise UsageError(
            f"{text!r} is a pip option, not a package; ds01 accepts package specifiers only "
            "(such as pandas or pandas==1.5.3)."
        )
    if _URL.match(text) and not allow_urls:
        raise UsageError(
            f"{text!r} is a URL; URL requirements are disabled here (an admin can allow them with images.allow_urls)."
        )
    bad = _FORBIDDEN.search(text)
    if bad:
        raise UsageError(
            f"Package {text!r} contains {bad.group()!r}, which has no place in a package specifier; "
            "use forms such as pandas, pandas==1.5.3, pandas>=2.0.0 or pandas~=1.5.0."
        )
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise UsageError(
            f"{text!r} is not a valid package specifier ({str(exc).splitlines()[0]}); use forms such as "
            "pandas, pandas==1.5.3, pandas>=2.0.0 or pandas~=1.5.0."
        ) from exc
    if req.url and not allow_urls:
        raise UsageError(
            f"{text!r} names a URL; URL requirements are disabled here (an admin can allow them with "
            "images.allow_urls)."
        )
    return str(req)


def validate_specs(items: Iterable[str], *, allow_urls: bool = False) -> list[str]:
    """Validate many specifiers; duplicates (same text) are kept once, order preserved."""
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(validate_spec(item, allow_urls=allow_urls), None)
    return list(seen)


def split_packages(text: str) -> list[str]:
    """``--packages "pandas==1.5.3 torch-geometric"``: whitespace-separated specifiers."""
    if "\n" in text or "\r" in text:
        # Keep line breaks visible to validation instead of silently splitting on them.
        raise UsageError(f"--packages {text!r} contains a line break; separate packages with spaces.")
    return text.split()


def read_requirements(path: Path) -> list[str]:
    """The specifiers of a requirements file: one per line, ``#`` comments and blank lines ignored.

    Option lines (``-r``, ``-e``, ``--index-url``) are refused, naming the line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot read requirements file {path}: {exc.strerror or exc}.") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"Requirements file {path} is not UTF-8 text.") from exc
    items = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if line.startswith("-"):
            raise UsageError(f"{path}:{number}: {line!r} is a pip option; only package specifiers are accepted.")
        items.append(line)
    return items


def package_name(spec: str) -> str:
    """The canonical project name of a specifier (``Pandas[x]>=2`` -> ``pandas``)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(spec).name)
    except InvalidRequirement:
        return canonicalize_name(re.split(r"[\s\[<>=!~;@]", spec.strip(), maxsplit=1)[0])


# Debian package names (Debian Policy 5.6.1) with an optional =version (5.6.12's characters).
_DEBIAN_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
_DEBIAN_VERSION = re.compile(r"^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*$")


def validate_system_package(item: str) -> str:
    """One ``--system-packages`` item: a Debian package name, optionally ``=version``.

    Raises ``UsageError`` (exit 2) naming the item; nothing else ever reaches apt-get.
    """
    shown = item.replace("\n", "\\n").replace("\r", "\\r")
    name, sep, version = item.partition("=")
    if not _DEBIAN_NAME.match(name) or (sep and not _DEBIAN_VERSION.match(version)):
        raise UsageError(
            f"{shown!r} is not a Debian package name; use names such as libgl1 or ffmpeg, optionally with "
            "=VERSION (lowercase letters, digits, '+', '-' and '.')."
        )
    return item


def validate_system_packages(items: Iterable[str]) -> list[str]:
    """Validate many; duplicates kept once, order preserved."""
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(validate_system_package(item), None)
    return list(seen)


def split_system_packages(text: str) -> list[str]:
    """``--system-packages "libgl1 ffmpeg"``: whitespace-separated names (validated separately)."""
    if "\n" in text or "\r" in text:
        raise UsageError(f"--system-packages {text!r} contains a line break; separate packages with spaces.")
    return text.split()


def system_package_name(item: str) -> str:
    return item.partition("=")[0]
