"""The Dockerfile model: generate, parse back and edit ds01 Dockerfiles (pure; no I/O).

A generated Dockerfile is a header, ``FROM <base>``, and one commented phase block per
non-empty phase, in the order Jupyter, Data Science, Use Case, Custom::

    # ds01:phase=jupyter  Jupyter
    RUN ["pip", "install", "--no-cache-dir", "jupyter", "jupyterlab"]

RUN uses the exec (JSON) form so that no shell ever sees a package specifier
(``pandas>=2.0`` would be a redirection in a shell). System packages (the apt phase, right
after FROM) need ``apt-get update``, ``install`` and a clean-up in one layer: their RUN is a
fixed ``/bin/sh -c`` script that receives the package names as positional arguments
(``"$@"``), so no package name is ever part of a shell string::

    # ds01:phase=system  System packages (apt)
    RUN ["/bin/sh", "-c", "<fixed script>", "sh", "libgl1", "ffmpeg"]
 The parser also reads the shell
form, so hand edits either way survive. Lines the user added that are not phase blocks
are kept as they are, in place. A phase with no packages is not rendered at all: no
marker, no empty ``RUN`` line.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Callable

from ds01.errors import UsageError
from ds01.records import dataclass, field
from ds01.units.images.packages import (
    CUSTOM,
    PHASE_TITLES,
    PHASES,
    SYSTEM,
    SYSTEM_TITLE,
    USE_CASE,
    USE_CASE_TITLES,
    package_name,
    system_package_name,
)

PIP_PREFIX: tuple[str, ...] = ("pip", "install", "--no-cache-dir")
APT_SCRIPT = (
    "export DEBIAN_FRONTEND=noninteractive && apt-get update && "
    'apt-get install -y --no-install-recommends "$@" && rm -rf /var/lib/apt/lists/*'
)
APT_PREFIX: tuple[str, ...] = ("/bin/sh", "-c", APT_SCRIPT, "sh")
_MARKER = re.compile(r"^#\s*ds01:phase=(?P<phase>[a-z-]+)(?::(?P<use>[a-z-]+))?(?:\s.*)?$")
_CHECKSUM = re.compile(r"^#\s*ds01:checksum=(?P<sum>[0-9a-f]{64})\s*$")
_FRAMEWORK = re.compile(r"^#\s*ds01:framework=(?P<fw>.*)$")
_FROM = re.compile(r"^\s*FROM\s+(?P<image>\S+)", re.IGNORECASE)


@dataclass
class Phase:
    """One phase block: its key, the use case (for the use-case phase), its packages."""

    key: str
    packages: list[str] = field(default_factory=list)
    use_case: str | None = None


def _upsert(packages: list[str], items: list[str], name_of: Callable[[str], str]) -> list[str]:
    """Put each item in ``packages``, replacing an entry for the same package name in place;
    returns the items that changed the list."""
    changed = []
    for item in items:
        for i, existing in enumerate(packages):
            if name_of(existing) == name_of(item):
                if existing != item:
                    packages[i] = item
                    changed.append(item)
                break
        else:
            packages.append(item)
            changed.append(item)
    return changed


@dataclass
class Dockerfile:
    """A ds01 Dockerfile as an ordered list of segments: raw lines (``str``) or ``Phase``."""

    segments: list[str | Phase]

    # -- reading ----------------------------------------------------------------------
    @property
    def base_image(self) -> str | None:
        for seg in self.segments:
            if isinstance(seg, str):
                m = _FROM.match(seg)
                if m:
                    return m.group("image")
        return None

    @property
    def framework(self) -> str | None:
        for seg in self.segments:
            if isinstance(seg, str):
                m = _FRAMEWORK.match(seg)
                if m:
                    return m.group("fw").strip() or None
        return None

    def phase(self, key: str) -> Phase | None:
        for seg in self.segments:
            if isinstance(seg, Phase) and seg.key == key:
                return seg
        return None

    @property
    def use_case(self) -> str | None:
        phase = self.phase(USE_CASE)
        return phase.use_case if phase else None

    def packages(self) -> dict[str, list[str]]:
        """Every pip phase key -> its packages (empty list for phases not present)."""
        return {key: list(p.packages) if (p := self.phase(key)) else [] for key in PHASES}

    def system_packages(self) -> list[str]:
        """The apt phase's packages (empty when there is none)."""
        phase = self.phase(SYSTEM)
        return list(phase.packages) if phase else []

    def add_system(self, names: list[str]) -> list[str]:
        """Add (validated) system packages, replacing one of the same name; returns what changed."""
        phase = self.phase(SYSTEM)
        if phase is None:
            phase = Phase(SYSTEM, [])
            self._insert_phase(phase)
        return _upsert(phase.packages, names, system_package_name)

    def remove_system(self, names: list[str]) -> list[str]:
        """Remove system packages by name; the apt RUN disappears with its last package."""
        wanted = {system_package_name(n) for n in names}
        phase = self.phase(SYSTEM)
        if phase is None:
            return []
        removed = [p for p in phase.packages if system_package_name(p) in wanted]
        phase.packages = [p for p in phase.packages if system_package_name(p) not in wanted]
        return removed

    # -- editing ----------------------------------------------------------------------
    def add(self, key: str, specs: list[str], *, use_case: str | None = None) -> list[str]:
        """Add specifiers to a phase (replacing a spec for the same package); returns what changed."""
        _check_phase(key)
        phase = self.phase(key)
        if phase is None:
            phase = Phase(key, [], use_case if key == USE_CASE else None)
            self._insert_phase(phase)
        elif key == USE_CASE and use_case:
            phase.use_case = use_case
        return _upsert(phase.packages, specs, package_name)

    def remove(self, key: str | None, names: list[str]) -> list[str]:
        """Remove packages by name from one phase (or from every phase when ``key`` is None).

        Returns the removed specifiers; a phase left empty disappears with its ``RUN`` line.
        """
        if key is not None:
            _check_phase(key)
        wanted = {package_name(n) for n in names}
        removed: list[str] = []
        for seg in self.segments:
            if isinstance(seg, Phase) and seg.key != SYSTEM and (key is None or seg.key == key):
                keep: list[str] = []
                for spec in seg.packages:
                    (removed if package_name(spec) in wanted else keep).append(spec)
                seg.packages = keep
        return removed

    def _insert_phase(self, phase: Phase) -> None:
        order = _ORDER.index(phase.key)
        # After the last phase that comes earlier; else right after FROM; else at the end.
        position = None
        for i, seg in enumerate(self.segments):
            if isinstance(seg, Phase) and _ORDER.index(seg.key) < order:
                position = i + 1
        if position is None:
            for i, seg in enumerate(self.segments):
                if isinstance(seg, str) and _FROM.match(seg):
                    position = i + 1
                    break
        if position is None:
            position = len(self.segments)
        self.segments.insert(position, phase)

    # -- writing ----------------------------------------------------------------------
    def render(self, *, sign: bool = True) -> str:
        """The Dockerfile text; ``sign`` adds a checksum line so later hand edits can be detected.

        A file the user has edited is rendered unsigned, so it stays "edited" after updates.
        """
        body = _render_body(self.segments)
        return with_checksum(body) if sign else body


_ORDER: tuple[str, ...] = (SYSTEM, *PHASES)


def _check_phase(key: str) -> None:
    if key not in PHASES:
        raise UsageError(f"Unknown package category {key!r}; choose one of: {', '.join(PHASES)}.")


def marker_line(phase: Phase) -> str:
    if phase.key == SYSTEM:
        return f"# ds01:phase={SYSTEM}  {SYSTEM_TITLE}"
    if phase.key == USE_CASE and phase.use_case:
        title = USE_CASE_TITLES.get(phase.use_case, phase.use_case).split(" (")[0]
        return f"# ds01:phase={USE_CASE}:{phase.use_case}  Use Case: {title}"
    extra = "  (your own packages)" if phase.key == CUSTOM else ""
    return f"# ds01:phase={phase.key}  {PHASE_TITLES[phase.key]}{extra}"


def run_line(packages: list[str], key: str | None = None) -> str:
    if key == SYSTEM:
        return "RUN " + json.dumps([*APT_PREFIX, *packages])
    return "RUN " + json.dumps([*PIP_PREFIX, *packages])


def _render_body(segments: list[str | Phase]) -> str:
    lines: list[str] = []
    for seg in segments:
        if isinstance(seg, Phase):
            if not seg.packages:
                continue  # never an empty RUN line, never an orphan marker
            if lines and lines[-1].strip():
                lines.append("")
            lines.append(marker_line(seg))
            lines.append(run_line(seg.packages, seg.key))
        else:
            if _CHECKSUM.match(seg):
                continue
            lines.append(seg)
    # Collapse runs of blank lines left behind by removed phases.
    out: list[str] = []
    for line in lines:
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out) + "\n"


def checksum(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def with_checksum(body: str) -> str:
    lines = body.splitlines()
    # The checksum goes right after the header comment block's first line.
    insert_at = 1 if lines and lines[0].startswith("#") else 0
    lines.insert(insert_at, f"# ds01:checksum={checksum(body)}")
    return "\n".join(lines) + "\n"


def is_edited(text: str) -> bool:
    """True when the file was changed by hand since ds01 wrote it (or was not written by ds01)."""
    lines = text.splitlines()
    sums = [m.group("sum") for line in lines if (m := _CHECKSUM.match(line))]
    if len(sums) != 1:
        return True
    body = "\n".join(line for line in lines if not _CHECKSUM.match(line)) + "\n"
    return checksum(body) != sums[0]


def generate(
    *,
    project: str,
    base_image: str,
    framework: str | None,
    packages: dict[str, list[str]],
    use_case: str | None,
    system_packages: list[str] | None = None,
) -> Dockerfile:
    """A new Dockerfile: header, FROM, the apt phase, then one block per non-empty phase in phase order."""
    header = [
        f"# Image {project}-image for project {project}: generated by `ds01 image create`.",
        "# Change packages with `ds01 image update` (it keeps your own lines); phase blocks",
        "# are marked with `# ds01:phase=...` comments.",
    ]
    if framework:
        header.append(f"# ds01:framework={framework}")
    segments: list[str | Phase] = [*header, f"FROM {base_image}", Phase(SYSTEM, list(system_packages or []))]
    for key in PHASES:
        specs = list(packages.get(key) or [])
        segments.append(Phase(key, specs, use_case if key == USE_CASE else None))
    return Dockerfile(segments)


def parse(text: str) -> Dockerfile:
    """Read a Dockerfile back into segments; phase blocks are recognised by their markers."""
    raw = text.splitlines()
    # Join continuation lines so a RUN split over lines is read as one instruction.
    logical: list[str] = []
    buffer = ""
    for line in raw:
        if buffer:
            buffer += " " + line.strip()
        else:
            buffer = line
        if buffer.rstrip().endswith("\\") and not buffer.lstrip().startswith("#"):
            buffer = buffer.rstrip()[:-1].rstrip()
            continue
        logical.append(buffer)
        buffer = ""
    if buffer:
        logical.append(buffer)

    segments: list[str | Phase] = []
    i = 0
    while i < len(logical):
        line = logical[i]
        m = _MARKER.match(line.strip())
        if m and m.group("phase") in _ORDER:
            nxt = logical[i + 1] if i + 1 < len(logical) else ""
            packages = apt_packages(nxt) if m.group("phase") == SYSTEM else pip_packages(nxt)
            if packages is not None:
                segments.append(Phase(m.group("phase"), packages, m.group("use")))
                i += 2
                continue
            # A marker whose RUN line was deleted by hand: an empty phase.
            segments.append(Phase(m.group("phase"), [], m.group("use")))
            i += 1
            continue
        segments.append(line)
        i += 1
    return Dockerfile(segments)


def pip_packages(line: str) -> list[str] | None:
    """The packages of ``RUN pip install …`` (exec or shell form), or None if it is not one."""
    stripped = line.strip()
    if not stripped.upper().startswith("RUN "):
        return None
    rest = stripped[4:].strip()
    if rest.startswith("["):
        try:
            argv = json.loads(rest)
        except json.JSONDecodeError:
            return None
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            return None
    else:
        try:
            argv = shlex.split(rest)
        except ValueError:
            return None
    if len(argv) < 2 or argv[0] not in ("pip", "pip3") or argv[1] != "install":
        return None
    return [a for a in argv[2:] if not a.startswith("-")]


def apt_packages(line: str) -> list[str] | None:
    """The packages of ds01's apt RUN line (exec form, the fixed script), or None if it is not one."""
    stripped = line.strip()
    if not stripped.upper().startswith("RUN "):
        return None
    try:
        argv = json.loads(stripped[4:].strip())
    except json.JSONDecodeError:
        return None
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return None
    if tuple(argv[: len(APT_PREFIX)]) != APT_PREFIX:
        return None
    return argv[len(APT_PREFIX) :]
