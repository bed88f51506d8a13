"""Reading and strictly validating ``resource-limits.yaml`` into typed, frozen data (SPEC §3).

``check_file`` validates the whole file and returns every problem it finds (for
``ds01 limits check``); ``load_config`` is what the rest of ds01 calls: it returns a
``Config`` or raises ``ConfigError`` (exit 2) listing every problem. Nothing is cached:
each process reads the file afresh, so an edit takes effect on the next command.
"""

from __future__ import annotations

import os
from pathlib import Path

from ds01 import paths
from ds01.errors import ConfigError
from ds01.limits import schema
from ds01.limits.reservation import Reservation
from ds01.limits.schema import FieldSpec, did_you_mean
from ds01.limits.units import LimitsValueError
from ds01.records import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ds01.limits.topology import Topology


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file: where, what value, and what would be accepted."""

    file: str
    key_path: str  # "groups.student.memory"; "" for the file as a whole
    value: Any
    message: str

    def format(self) -> str:
        if not self.key_path:
            return f"{self.file} {self.message}"
        return f"{self.file}: {self.key_path}: {self.value!r} {self.message}"


@dataclass(frozen=True)
class Group:
    name: str
    members: tuple[str, ...]
    limits: dict[str, Any]  # per-user fields set on the group (typed)
    slice: dict[str, Any]  # slice totals set on the group: slice_cpus, slice_memory


@dataclass(frozen=True)
class GpuAllocation:
    enable_mig: bool = True
    mig_profile: str | None = None
    mig_gpus: tuple[int, ...] | None = None
    strategy: str = "least_allocated"
    sharing: str = "exclusive"
    max_containers_per_gpu: int = 1
    respect_reservations: bool = True
    inventory: str = "nvml"
    topology: Path | None = None
    device_requests: str = "auto"
    # A simulated inventory's compute capabilities, read from its topology at validation (the
    # stamp covers the topology file): a create's catalog architecture needs no second read.
    compute_capabilities: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True)
class Policies:
    pending_allocation_timeout: int = 600
    last_shell_stops_container: bool = True
    idle_cpu_percent: float = 2
    idle_warning: int = 3600
    max_keep_alive: int = 86400


@dataclass(frozen=True)
class Advanced:
    network_mode: str = "bridge"
    restart_policy: str = "no"


@dataclass(frozen=True)
class Security:
    mode: str = "group"  # "group" | "secure"
    allowed_base_images: tuple[str, ...] = ()

    @property
    def secure(self) -> bool:
        return self.mode == "secure"


@dataclass(frozen=True)
class ImagesSettings:
    aime_catalog: Path = Path("/opt/aime-ml-containers/ml_images.repo")
    dockerfiles_dir: str = "~/dockerfiles"
    jupyter: tuple[str, ...] | None = None
    data_science: tuple[str, ...] | None = None
    use_cases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    allow_urls: bool = False


RESERVATION_FIELDS = ("reservation_start", "reservation_end", "reserved_gpus", "reason")


@dataclass(frozen=True)
class Config:
    path: Path
    defaults: dict[str, Any]
    default_group: str | None
    groups: dict[str, Group]
    user_overrides: dict[str, dict[str, Any]]
    admins: frozenset[str]
    gpu_allocation: GpuAllocation
    policies: Policies
    advanced: Advanced
    images: ImagesSettings
    wizard: dict[str, Any]
    security: Security = field(default_factory=Security)
    warnings: tuple[str, ...] = ()
    # The home folder a leading ``~`` in a path (topology, aime_catalog) was expanded with;
    # None when no path used one. The stamp holds it: another HOME validates afresh.
    home: str | None = None

    def reservations(self) -> list[Reservation]:
        out = []
        for user, entry in self.user_overrides.items():
            if entry.get("reservation_start") is not None and entry.get("reservation_end") is not None:
                out.append(
                    Reservation(
                        user=user,
                        start=entry["reservation_start"],
                        end=entry["reservation_end"],
                        slots=tuple(entry.get("reserved_gpus") or ()),
                        reason=entry.get("reason"),
                    )
                )
        return out

    def group_of(self, user: str) -> tuple[str | None, str]:
        """(group, "member" | "default_group" | "defaults") for a login name."""
        for name, group in self.groups.items():
            if user in group.members:
                return name, "member"
        if self.default_group is not None:
            return self.default_group, "default_group"
        return None, "defaults"

    def user_count(self) -> int:
        return len({m for g in self.groups.values() for m in g.members} | set(self.user_overrides))


# -- YAML (1.2 core-schema scalars) with duplicate-key detection -------------------------------
def _yaml_load(text: str) -> tuple[Any, list[tuple[str, int]]]:
    """Parse YAML with ds01's one loader; also report keys given twice in one mapping."""
    from ds01 import yaml12

    return yaml12.load_with_duplicates(text)


class _Collector:
    """Gathers problems and warnings for one file, so validation never stops at the first."""

    def __init__(self, file: Path):
        self.file = str(file)
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def add(self, key_path: str, value: Any, message: str) -> None:
        self.problems.append(Problem(self.file, key_path, value, message))

    def add_value_error(self, exc: LimitsValueError) -> None:
        self.add(exc.key, exc.value, f"{exc.reason}; expected {exc.accepted}")

    def warn(self, text: str) -> None:
        self.warnings.append(f"{self.file}: {text}")


def _mapping(raw: Any, key_path: str, col: _Collector) -> dict:
    """A section's mapping; absent or empty (None) is an empty mapping, anything else a problem."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        col.add(key_path, raw, "is not a mapping; expected `key: value` lines under it (or nothing)")
        return {}
    return raw


def _fields(raw: dict, specs: tuple[FieldSpec, ...], key_path: str, col: _Collector) -> dict[str, Any]:
    """The typed values present in ``raw``; absent keys stay absent (they fall through)."""
    from ds01.limits import legacy

    by_name = {s.name: s for s in specs}
    per_user = "max_mig_instances" in by_name
    out: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{key_path}.{key}"
        spec = by_name.get(key) if isinstance(key, str) else None
        if spec is None:
            rewrite = legacy.translate(key, value) if per_user else None
            if rewrite is not None:
                col.add(path, value, legacy.message(rewrite))
            elif per_user and key == "policies" and key_path.startswith("groups.") and isinstance(value, dict):
                for inner, inner_value, rw in legacy.policies_items(key_path, value):
                    if isinstance(rw, legacy.Refusal):
                        col.add(
                            f"{path}.{inner}",
                            inner_value,
                            f"is in an original DS01 per-group policies: mapping and {rw.reason}",
                        )
                    else:
                        col.add(
                            f"{path}.{inner}",
                            inner_value,
                            f"is in an original DS01 per-group policies: "
                            f"mapping; write {key_path}.{rw.text} instead ({legacy.MIGRATE_HINT})",
                        )
            else:
                col.add(
                    path,
                    key,
                    "is not a known key"
                    + did_you_mean(str(key), list(by_name))
                    + "; accepted keys: "
                    + ", ".join(by_name),
                )
            continue
        no_limit = legacy.no_limit_rewrite(key, value) if per_user else None
        if no_limit is not None:
            col.add(
                path,
                value,
                f"is the original DS01 spelling of no limit; write {no_limit.text} instead ({legacy.MIGRATE_HINT})",
            )
            continue
        try:
            out[key] = schema.convert(spec, value, path)
        except LimitsValueError as exc:
            col.add_value_error(exc)
    return out


def _check_level(values: dict[str, Any], key_path: str, col: _Collector, host_cpus: int | None) -> None:
    """Rules that relate fields of one level to each other or to the host."""
    memory, swap = values.get("memory"), values.get("memory_swap")
    if memory is not None and swap is not None and swap < memory:
        col.add(
            f"{key_path}.memory_swap",
            swap,
            "is smaller than memory; expected a size of at least memory (memory plus swap), or null",
        )
    cpus = values.get("max_cpus")
    if cpus is not None and host_cpus and cpus > host_cpus:
        col.warn(f"{key_path}.max_cpus: {cpus} is more than this host's {host_cpus} CPU cores.")


def _resolve_topology(value: str, config_dir: Path) -> Path | None:
    rel = Path(value).expanduser()
    if rel.is_absolute():
        return rel
    packaged = paths.packaged_config_dir()
    for base in (config_dir, packaged, packaged / "topologies"):
        candidate = (base / rel).resolve()
        if candidate.is_file():
            return candidate
    return None


# The same forms ``ds01.gpu.inventory`` reads, so a topology that passes `limits check` loads.
def topology_slots(path: Path, col: _Collector | None = None) -> list[str]:
    """Slot ids a topology file offers: ``N`` for a GPU with MIG off, ``N:M`` per MIG instance.

    ``limits.topology`` parses the file; its problems are added to ``col``.
    """
    return _read_topology(path, col).slot_ids()


def _read_topology(path: Path, col: _Collector | None) -> Topology:
    from ds01.limits.topology import read_topology

    topology, problems = read_topology(path)
    if col is not None:
        col.problems.extend(Problem(str(path), p.key, p.value, p.message) for p in problems)
    return topology


def _build(path: Path, raw: Any, col: _Collector, host_cpus: int | None) -> Config:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        col.add("", raw, "is not a mapping of sections at the top level; expected defaults:, groups:, … .")
        raw = {}
    for key in raw:
        if key not in schema.TOP_LEVEL:
            col.add(
                str(key),
                key,
                "is not a known section"
                + did_you_mean(str(key), list(schema.TOP_LEVEL))
                + "; accepted sections: "
                + ", ".join(schema.TOP_LEVEL),
            )

    defaults = _fields(_mapping(raw.get("defaults"), "defaults", col), schema.PER_USER_SPECS, "defaults", col)
    _check_level(defaults, "defaults", col, host_cpus)

    # groups
    groups: dict[str, Group] = {}
    member_of: dict[str, str] = {}
    group_specs = schema.PER_USER_SPECS + schema.GROUP_EXTRA_SPECS
    for name, body in _mapping(raw.get("groups"), "groups", col).items():
        gpath = f"groups.{name}"
        if not isinstance(name, str) or not schema.GROUP_NAME_RE.match(name):
            col.add(gpath, name, f"is not a valid group name; expected {schema.GROUP_FORMS}")
            continue
        values = _fields(_mapping(body, gpath, col), group_specs, gpath, col)
        members = values.pop("members", None) or ()
        slice_values = {k: values.pop(k) for k in schema.SLICE_FIELDS if k in values}
        _check_level(values, gpath, col, host_cpus)
        for user in members:
            if user in member_of:
                if member_of[user] == name:
                    col.warn(f"{gpath}.members lists {user!r} twice.")
                else:
                    col.add(
                        f"{gpath}.members",
                        user,
                        f"is already a member of group {member_of[user]!r}; expected each user in one group only",
                    )
                continue
            member_of[user] = name
        groups[name] = Group(name=name, members=tuple(dict.fromkeys(members)), limits=values, slice=slice_values)

    # default_group
    default_group = raw.get("default_group")
    if default_group is not None and (not isinstance(default_group, str) or default_group not in groups):
        accepted = ", ".join(groups) or "no groups are defined"
        col.add(
            "default_group",
            default_group,
            "is not a defined group"
            + (did_you_mean(default_group, list(groups)) if isinstance(default_group, str) else "")
            + f"; expected one of: {accepted}, or null",
        )
        default_group = None

    # admins
    admins: tuple[str, ...] = ()
    try:
        admins = (
            schema.convert(
                FieldSpec("admins", "user_list", (), "", "", nullable=True, null_means="nobody"),
                raw.get("admins"),
                "admins",
            )
            or ()
        )
    except LimitsValueError as exc:
        col.add_value_error(exc)

    # gpu_allocation first: reserved slots are checked against a simulated topology.
    sections: dict[str, dict[str, Any]] = {}
    for section, specs in schema.SECTION_SPECS.items():
        values = {s.name: s.default for s in specs}
        values.update(_fields(_mapping(raw.get(section), section, col), specs, section, col))
        sections[section] = values
    ga = sections["gpu_allocation"]
    topology: Path | None = None
    known_slots: set[str] | None = None
    capabilities: tuple[tuple[int, int], ...] | None = None
    if ga["topology"] is not None:
        topology = _resolve_topology(ga["topology"], path.parent)
        if topology is None:
            col.add(
                "gpu_allocation.topology",
                ga["topology"],
                "does not name an existing file; expected a "
                f"path relative to {path.parent} or to the packaged config/topologies/",
            )
    if ga["inventory"] == "simulated":
        if ga["topology"] is None:
            col.add(
                "gpu_allocation.topology",
                None,
                "is required when inventory is simulated; expected a topology file such as topologies/demo-small.yaml",
            )
        elif topology is not None:
            simulated = _read_topology(topology, col)
            known_slots = set(simulated.slot_ids())
            capabilities = tuple(g.compute_capability for g in simulated.gpus if g.compute_capability)

    # user_overrides
    user_overrides: dict[str, dict[str, Any]] = {}
    override_specs = schema.PER_USER_SPECS + schema.OVERRIDE_EXTRA_SPECS
    for user, body in _mapping(raw.get("user_overrides"), "user_overrides", col).items():
        upath = f"user_overrides.{user}"
        if not isinstance(user, str) or not schema.USER_NAME_RE.match(user):
            col.add(upath, user, f"is not a login name; expected {schema.NAME_FORMS}")
            continue
        body = _mapping(body, upath, col)
        values = _fields(body, override_specs, upath, col)
        _check_level(values, upath, col, host_cpus)
        # A key that failed its own check is already reported; don't also call it missing.
        failed = {k for k in RESERVATION_FIELDS if k in body and k not in values}
        _check_reservation(values, failed, upath, col, known_slots, topology)
        user_overrides[user] = values

    images = sections["images"]
    tilde_paths = (ga["topology"], images["aime_catalog"])
    config = Config(
        path=path,
        defaults=defaults,
        default_group=default_group,
        groups=groups,
        user_overrides=user_overrides,
        admins=frozenset(admins),
        gpu_allocation=GpuAllocation(**{**ga, "topology": topology, "compute_capabilities": capabilities}),
        policies=Policies(**sections["policies"]),
        advanced=Advanced(**sections["advanced"]),
        images=ImagesSettings(
            **{
                **images,
                "aime_catalog": Path(images["aime_catalog"]).expanduser(),
                "use_cases": images["use_cases"] or {},
            }
        ),
        wizard=dict(sections["wizard"]),
        security=Security(**sections["security"]),
        warnings=tuple(col.warnings),
        home=os.path.expanduser("~") if any(str(v).startswith("~") for v in tilde_paths if v) else None,
    )
    return config


def _check_reservation(
    values: dict[str, Any],
    failed: set[str],
    upath: str,
    col: _Collector,
    known_slots: set[str] | None,
    topology: Path | None,
) -> None:
    start, end = values.get("reservation_start"), values.get("reservation_end")
    slots = values.get("reserved_gpus") or ()
    window = (start is not None, end is not None)
    if any(window) and not all(window):
        missing = "reservation_end" if start is not None else "reservation_start"
        if missing not in failed:
            col.add(f"{upath}.{missing}", None, "is missing; expected reservation_start and reservation_end together")
    if start is not None and end is not None and end <= start:
        col.add(
            f"{upath}.reservation_end",
            end.isoformat(),
            f"is not after reservation_start ({start.isoformat()}); expected an end later than the start",
        )
    if all(window) and not slots and "reserved_gpus" not in failed:
        col.add(f"{upath}.reserved_gpus", list(slots), "is empty; expected the reserved slot ids, e.g. ['0']")
    if slots and not all(window):
        col.add(
            f"{upath}.reserved_gpus",
            list(slots),
            "has no reservation window; expected reservation_start and reservation_end as well",
        )
    if known_slots is not None:
        for slot in slots:
            if slot not in known_slots:
                col.add(
                    f"{upath}.reserved_gpus",
                    slot,
                    f"is not a slot of the topology {topology}; "
                    f"expected one of: {', '.join(sorted(known_slots)) or '(no slots)'}",
                )


def check_file(path: Path, *, host_cpus: int | None = None) -> tuple[Config | None, list[Problem], list[str]]:
    """Validate one config file: (config or None, every problem, warnings). Never raises for bad input."""
    path = Path(path)
    col = _Collector(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        col.add("", None, "does not exist; create it (see config/resource-limits.yaml) or set DS01_CONFIG.")
        return None, col.problems, col.warnings
    except IsADirectoryError:
        col.add("", None, "is a directory, not a YAML file; point DS01_CONFIG at resource-limits.yaml.")
        return None, col.problems, col.warnings
    except UnicodeDecodeError:
        col.add("", None, "is not a text file (not UTF-8); expected the YAML text of resource-limits.yaml.")
        return None, col.problems, col.warnings
    except OSError as exc:
        reason = exc.strerror or str(exc)
        col.add("", None, f"cannot be read ({reason}); check its permissions.")
        return None, col.problems, col.warnings
    try:
        raw, duplicates = _yaml_load(text)
    except Exception as exc:  # noqa: BLE001 - any YAML error becomes a problem, not a traceback
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = getattr(exc, "problem", None) or type(exc).__name__
        col.add("", None, f"is not valid YAML{where} ({what}); fix the syntax.")
        return None, col.problems, col.warnings
    for key, line in duplicates:
        col.add(f"(line {line})", key, "is given twice in the same mapping; expected each key once")
    if raw is None or raw == {}:
        col.warnings.append(
            f"{path} sets nothing: every user gets the built-in defaults and the GPU inventory is read "
            "through NVML; was it emptied by mistake?"
        )
    config = _build(path, raw, col, host_cpus if host_cpus is not None else os.cpu_count())
    return (None if col.problems else config), col.problems, col.warnings


def load_config(path: Path | None = None) -> Config:
    """The validated configuration, or ConfigError (exit 2) naming the file and every problem."""
    path = paths.config_path() if path is None else Path(path)
    config, problems, _warnings = check_file(path)
    if problems or config is None:
        if len(problems) == 1 and not problems[0].key_path:
            raise ConfigError(f"The configuration file {path} {problems[0].message}")
        raise ConfigError(
            f"The configuration file {path} has {len(problems)} problem(s); fix them and run "
            f"`ds01 limits check {path}`.",
            details=[p.format() for p in problems],
        )
    return config
