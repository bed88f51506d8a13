"""The framework image catalog (AIME's ``ml_images.repo``) and the GPU architecture choice.

Format v2, one image per line: ``framework, version, [ARCH1;ARCH2], docker_image``; v1 rows
carry a single architecture without brackets. For one architecture the first row with an
exact framework and version wins (AIME's rule; the published catalog has duplicates).
ds01 reads its packaged catalog first, then an installed AIME catalog when present.

The architecture comes from ``--arch``, else ``MLC_ARCH``, else the GPUs' compute capability
(NVML, through ``ds01.gpu.inventory``); with none of them the error lists the choices.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ds01.errors import ConfigError, NotFound, UsageError
from ds01.records import dataclass

ARCHITECTURES: tuple[str, ...] = ("CUDA", "CUDA_AMPERE", "CUDA_ADA", "CUDA_BLACKWELL", "ROCM5", "ROCM6")
DEFAULT_AIME_CATALOG = Path("/opt/aime-ml-containers/ml_images.repo")
CATALOG_FILE = "ml_images.repo"


@dataclass(frozen=True)
class CatalogEntry:
    framework: str
    version: str
    archs: tuple[str, ...]
    image: str
    source: str = ""
    line: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "framework": self.framework,
            "version": self.version,
            "archs": list(self.archs),
            "image": self.image,
            "source": self.source,
        }


def parse_catalog(text: str, source: str = "") -> list[CatalogEntry]:
    """Parse catalog text; a malformed line is a ConfigError naming the file and line."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 4 or not all(parts):
            raise ConfigError(
                f"{source or 'catalog'} line {number} is not 'framework, version, [ARCH;...], image': {raw!r}."
            )
        framework, version, arch_text, image = parts
        if arch_text.startswith("[") and arch_text.endswith("]"):
            archs = tuple(a.strip() for a in arch_text[1:-1].split(";") if a.strip())
        else:  # v1: one architecture token, no brackets
            archs = (arch_text,)
        unknown = [a for a in archs if a not in ARCHITECTURES]
        if not archs or unknown:
            raise ConfigError(
                f"{source or 'catalog'} line {number} names unknown architecture(s) "
                f"{', '.join(unknown) or '(none)'}; known: {', '.join(ARCHITECTURES)}."
            )
        entries.append(CatalogEntry(framework, version, archs, image, source, number))
    return entries


@dataclass(frozen=True)
class Catalog:
    entries: tuple[CatalogEntry, ...]
    sources: tuple[str, ...] = ()

    def for_arch(self, arch: str) -> list[CatalogEntry]:
        return [e for e in self.entries if arch in e.archs]

    def frameworks(self, arch: str) -> list[str]:
        return list(dict.fromkeys(e.framework for e in self.for_arch(arch)))

    def versions(self, framework: str, arch: str) -> list[str]:
        return list(dict.fromkeys(e.version for e in self.for_arch(arch) if e.framework == framework))

    def canonical_framework(self, framework: str) -> str:
        """``pytorch`` -> ``Pytorch``: exact spelling first, then a unique case-insensitive match."""
        names = list(dict.fromkeys(e.framework for e in self.entries))
        if framework in names:
            return framework
        folded = [n for n in names if n.lower() == framework.lower()]
        return folded[0] if len(folded) == 1 else framework

    def lookup(self, framework: str, version: str, arch: str) -> CatalogEntry:
        """The first row for ``arch`` with exactly this framework and version (AIME's rule)."""
        fw = self.canonical_framework(framework)
        for entry in self.entries:
            if arch in entry.archs and entry.framework == fw and entry.version == version:
                return entry
        known = self.versions(fw, arch)
        if known:
            raise NotFound(f"{fw} {version} is not in the catalog for {arch}; available: {', '.join(known)}.")
        frameworks = self.frameworks(arch)
        raise NotFound(
            f"No {framework} images in the catalog for {arch}; frameworks there: {', '.join(frameworks) or '(none)'}."
        )


def packaged_catalog_path() -> Path:
    from ds01.paths import packaged_config_dir

    return packaged_config_dir() / CATALOG_FILE


def load_catalog(paths: Sequence[Path] | None = None, *, aime_catalog: Path | None = DEFAULT_AIME_CATALOG) -> Catalog:
    """Entries of ``paths`` (default: the packaged catalog) followed by ``aime_catalog`` when present."""
    files = list(paths) if paths is not None else [packaged_catalog_path()]
    if aime_catalog is not None and aime_catalog.is_file() and aime_catalog not in files:
        files.append(aime_catalog)
    entries: list[CatalogEntry] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Cannot read the image catalog {path}: {exc.strerror}.") from exc
        entries.extend(parse_catalog(text, str(path)))
    return Catalog(tuple(entries), tuple(str(p) for p in files))


def arch_from_compute_capability(major: int, minor: int) -> str:
    """NVIDIA compute capability -> catalog architecture (AIME guesses this from apt packages)."""
    if major >= 10:
        return "CUDA_BLACKWELL"  # 10.x data centre, 12.x RTX 50x0 / RTX PRO Blackwell
    if (major, minor) >= (8, 9):
        return "CUDA_ADA"  # 8.9 Ada (RTX 40x0, L40); 9.0 Hopper (H100/H200) uses the same images
    if major == 8:
        return "CUDA_AMPERE"  # 8.0 A100, 8.6 RTX 30x0/A6000, 8.7 Orin
    return "CUDA"


def _detected_capability() -> tuple[int, int] | None:
    """The lowest compute capability NVML reports (images must run on every GPU), or None
    where NVML is not usable here."""
    from ds01.errors import GpuLibraryError
    from ds01.gpu import inventory

    try:
        gpus = inventory.nvml_gpus()
    except GpuLibraryError:
        return None
    caps = [g.compute_capability for g in gpus if g.compute_capability and not g.lost]
    return min(caps) if caps else None


def resolve_arch(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    compute_capability: tuple[int, int] | None = None,
    detect: bool = True,
) -> str:
    """``--arch`` > ``MLC_ARCH`` > compute capability (given or detected) > UsageError listing the choices."""
    env = os.environ if environ is None else environ
    for value, where in ((explicit, "--arch"), (env.get("MLC_ARCH"), "MLC_ARCH")):
        if value:
            if value not in ARCHITECTURES:
                raise UsageError(f"{where} {value!r} is not an architecture; choose one of {', '.join(ARCHITECTURES)}.")
            return value
    cap = compute_capability or (_detected_capability() if detect else None)
    if cap:
        return arch_from_compute_capability(int(cap[0]), int(cap[1]))
    raise UsageError(
        "Cannot tell the GPU architecture (no NVIDIA GPU answers here); pass --arch or set MLC_ARCH "
        f"to one of {', '.join(ARCHITECTURES)}."
    )
