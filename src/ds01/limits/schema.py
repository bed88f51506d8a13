"""The schema of ``resource-limits.yaml``: every key, its type, default and meaning (SPEC §3).

This table is the single source of truth: the validator in ``ds01.limits.config`` checks
files against it, the resolver takes its built-in defaults from it, and ``docs/config.md``
is generated from it (``python -m ds01.limits.schema --markdown > docs/config.md``), so the
documentation cannot drift from what the code accepts.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime

from ds01.limits.units import (
    DURATION_FORMS,
    SIZE_FORMS,
    LimitsValueError,
    format_duration,
    format_size,
    parse_duration,
    parse_size,
)
from ds01.records import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SLOT_FORMS = (
    "quoted slot ids such as '0' (a whole GPU), '1:2' (GPU instance 2 of GPU 1) or '1:2.1' "
    "(compute instance 1 of that GPU instance)"
)
DATETIME_FORMS = "an ISO 8601 date-time such as 2027-03-01T09:00:00 or 2027-03-01T09:00:00+01:00"
NAME_FORMS = "a login name (letters, digits, '.', '_', '-', '@'; no spaces)"
GROUP_FORMS = "a group name of lower-case letters, digits and '_' starting with a letter"

# Group names end up in systemd unit names (ds01-<group>.slice), where '-' means nesting,
# so they are held to a stricter pattern than login names (which may contain '.' or '@').
GROUP_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
USER_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._@-]*\$?$")
SLOT_RE = re.compile(r"^\d+(?::\d+(?:\.\d+)?)?$")

# Every number has a range, so a value that passes `limits check` cannot fail later (a duration
# that overflows a date, a size Docker cannot hold in its int64, a CPU limit of infinity).
# Unless a field says otherwise: durations at most 100 years, sizes and whole numbers within
# int64 (sizes: 8388607t = 2^63 - 2^40 bytes), other numbers at most a million.
DURATION_MAX = 36500 * 86400
SIZE_MAX = 8388607 * 1024**4
INT_MAX = 2**63 - 1
NUMBER_MAX = 1_000_000
DOCKER_MIN_MEMORY = 6 * 1024**2  # docker run --memory refuses less than 6m
MIN_CPUS = 0.01  # docker run --cpus: 0.01 is the smallest step
NETWORK_FORMS = (
    "bridge, none, or the name of a Docker network (letters, digits, '_', '.' and '-', "
    "starting with a letter or digit); never host or container:NAME"
)
_NETWORK_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # compiled at its first use (re's cache)


@dataclass(frozen=True)
class FieldSpec:
    """One key of a section: how it is typed, what it defaults to, what ``null`` means."""

    name: str
    # size|duration|int|number|bool|enum|str|network|path|str_list|int_list|user_list|slot_list|datetime|use_cases
    kind: str
    default: Any
    doc: str
    example: str
    nullable: bool = False
    null_means: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def accepted(self) -> str:
        """The accepted forms, as shown in error messages and the docs."""
        forms = {
            "size": SIZE_FORMS,
            "duration": DURATION_FORMS,
            "bool": "true or false",
            "str": "a string",
            "path": "a file path",
            "str_list": "a list of strings",
            "int_list": "a list of GPU indices (integers)",
            "user_list": "a list of login names (letters, digits, '.', '_', '-', '@'; no spaces)",
            "slot_list": f"a list of {SLOT_FORMS}",
            "datetime": DATETIME_FORMS,
            "use_cases": "a mapping of general-ml, cv, nlp or rl to a list of packages",
            "network": NETWORK_FORMS,
        }.get(self.kind)
        if self.kind in ("size", "duration"):
            lo, hi = self.bounds()
            show = format_size if self.kind == "size" else format_duration
            forms = (
                f"{forms}, from {show(int(lo))} to {show(int(hi))}" if lo > 0 else f"{forms}, at most {show(int(hi))}"
            )
        if self.kind == "enum":
            forms = "one of " + ", ".join(self.choices)
        elif self.kind in ("int", "number"):
            noun = "a whole number" if self.kind == "int" else "a number"
            low, hi = self.minimum, self.bounds()[1]
            if low is None:
                forms = f"{noun} of at most {_num(hi)}"
            elif self.maximum is not None or low > 0 or self.kind == "int":
                forms = f"{noun} from {_num(low)} to {_num(hi)}"
            else:
                forms = f"{noun} above 0, at most {_num(hi)}"
        if self.nullable:
            forms = f"{forms}, or null ({self.null_means})"
        return forms or self.kind

    def bounds(self) -> tuple[float, float]:
        """The smallest and largest accepted value (bytes for sizes, seconds for durations)."""
        hi = {"size": SIZE_MAX, "duration": DURATION_MAX, "int": INT_MAX}.get(self.kind, NUMBER_MAX)
        return (self.minimum if self.minimum is not None else 0, self.maximum if self.maximum is not None else hi)

    def type_label(self) -> str:
        label = {
            "int_list": "list of int",
            "str_list": "list of str",
            "user_list": "list of names",
            "slot_list": "list of slot ids",
            "use_cases": "mapping",
            "network": "str",
        }.get(self.kind, self.kind)
        return label + (" or null" if self.nullable else "")


def _num(x: float) -> str:
    if x == INT_MAX:
        return "2^63-1"
    return str(int(x)) if float(x).is_integer() else str(x)


def _f(name: str, kind: str, default: Any, doc: str, example: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, kind, default, doc, example, **kw)


# -- per-user fields (defaults, groups.<g>, user_overrides.<u>) ----------------------------
PER_USER_SPECS: tuple[FieldSpec, ...] = (
    _f(
        "max_mig_instances",
        "int",
        1,
        "GPU slots (a whole GPU or a MIG slice) the user may hold at once.",
        "2",
        nullable=True,
        null_means="unlimited",
        minimum=0,
    ),
    _f(
        "max_gpus_per_container",
        "int",
        1,
        "GPU slots one container may have.",
        "1",
        nullable=True,
        null_means="unlimited",
        minimum=1,
    ),
    _f(
        "max_cpus",
        "number",
        None,
        "CPU cores per container (docker --cpus). A value above the host's core count is a warning.",
        "8",
        nullable=True,
        null_means="no CPU limit",
        minimum=MIN_CPUS,
    ),
    _f(
        "memory",
        "size",
        None,
        "Memory per container (docker --memory).",
        "32g",
        nullable=True,
        null_means="no memory limit",
        minimum=DOCKER_MIN_MEMORY,
    ),
    _f(
        "memory_swap",
        "size",
        None,
        "Memory plus swap per container (docker --memory-swap); at least `memory`.",
        "64g",
        nullable=True,
        null_means="not set: Docker's default applies",
        minimum=DOCKER_MIN_MEMORY,
    ),
    _f(
        "shm_size",
        "size",
        None,
        "Size of /dev/shm per container (docker --shm-size); PyTorch data loaders need several GB.",
        "16g",
        nullable=True,
        null_means="not set: Docker's 64m default",
        minimum=1,
    ),
    _f(
        "pids_limit",
        "int",
        None,
        "Processes per container (docker --pids-limit).",
        "4096",
        nullable=True,
        null_means="no process limit",
        minimum=1,
    ),
    _f(
        "max_containers_per_user",
        "int",
        None,
        "ds01 containers per user, running or held.",
        "3",
        nullable=True,
        null_means="unlimited",
        minimum=0,
    ),
    _f(
        "max_runtime",
        "duration",
        None,
        "A container is stopped after running this long.",
        "7d",
        nullable=True,
        null_means="never stopped for its age",
    ),
    _f(
        "idle_timeout",
        "duration",
        None,
        "A container idle (GPU, CPU and processes) this long is stopped.",
        "48h",
        nullable=True,
        null_means="never stopped for idleness",
    ),
    _f(
        "gpu_hold_after_stop",
        "duration",
        3600,
        "A stopped container keeps its GPU slot this long; then the slot is released.",
        "1h",
        nullable=True,
        null_means="held until the container is removed",
    ),
    _f(
        "container_hold_after_stop",
        "duration",
        None,
        "A stopped container is removed after this long (its workspace is a bind mount and stays).",
        "7d",
        nullable=True,
        null_means="never removed",
    ),
    _f(
        "max_tasks",
        "int",
        None,
        "Task (thread and process) limit: applied as each container's pids limit when it is lower than pids_limit.",
        "8192",
        nullable=True,
        null_means="no task limit",
        minimum=1,
    ),
    _f(
        "priority",
        "int",
        10,
        "Allocation priority, higher wins. Built-in: 100 for a user listed in "
        "user_overrides, else the group's, else defaults, else 10.",
        "50",
        minimum=1,
        maximum=100,
    ),
    _f("allow_full_gpu", "bool", True, "Whether the user may be given a whole (non-MIG) GPU.", "true"),
)
PER_USER_FIELDS: tuple[str, ...] = tuple(s.name for s in PER_USER_SPECS)
BUILTIN_DEFAULTS: dict[str, Any] = {s.name: s.default for s in PER_USER_SPECS}
# Priority given to a user with a user_overrides entry that does not set one (SPEC §3).
OVERRIDE_PRIORITY = 100

GROUP_EXTRA_SPECS: tuple[FieldSpec, ...] = (
    _f(
        "members",
        "user_list",
        (),
        "Login names in this group. A user may be in one group only.",
        "[student1, student2]",
        nullable=True,
        null_means="no members",
    ),
    _f(
        "slice_cpus",
        "number",
        None,
        "CPU cores for the whole group's systemd slice (ds01-<group>.slice, made by `ds01 admin setup-slices`).",
        "32",
        nullable=True,
        null_means="no slice CPU limit",
        minimum=MIN_CPUS,
    ),
    _f(
        "slice_memory",
        "size",
        None,
        "Memory for the whole group's systemd slice.",
        "256g",
        nullable=True,
        null_means="no slice memory limit",
        minimum=DOCKER_MIN_MEMORY,
    ),
    _f(
        "slice_tasks",
        "int",
        None,
        "Tasks (threads and processes) for the whole group's slice.",
        "32768",
        nullable=True,
        null_means="no slice task limit",
        minimum=1,
    ),
)
SLICE_FIELDS: tuple[str, ...] = ("slice_cpus", "slice_memory", "slice_tasks")

OVERRIDE_EXTRA_SPECS: tuple[FieldSpec, ...] = (
    _f(
        "reservation_start",
        "datetime",
        None,
        "Start of the user's GPU reservation (UTC when no zone is given).",
        "2027-03-01T09:00:00",
        nullable=True,
        null_means="no reservation",
    ),
    _f(
        "reservation_end",
        "datetime",
        None,
        "End of the reservation; must be after its start.",
        "2027-03-05T18:00:00",
        nullable=True,
        null_means="no reservation",
    ),
    _f(
        "reserved_gpus",
        "slot_list",
        (),
        "Slots reserved for the user during the window, as quoted "
        "strings; with a simulated inventory they must exist in the topology.",
        "['0', '1:0']",
        nullable=True,
        null_means="no slots",
    ),
    _f(
        "reason",
        "str",
        None,
        "Why the reservation exists (shown to users who are refused).",
        "Thesis deadline",
        nullable=True,
        null_means="no reason given",
    ),
)

GPU_ALLOCATION_SPECS: tuple[FieldSpec, ...] = (
    _f("enable_mig", "bool", True, "Offer MIG instances as slots.", "true"),
    _f(
        "mig_profile",
        "str",
        None,
        "MIG profile the admin partitions GPUs into (informational; ds01 uses the instances that exist).",
        "2g.20gb",
        nullable=True,
        null_means="any profile",
    ),
    _f(
        "mig_gpus",
        "int_list",
        None,
        "GPU indices expected in MIG mode.",
        "[1, 2]",
        nullable=True,
        null_means="whatever NVML reports",
    ),
    _f(
        "strategy",
        "enum",
        "least_allocated",
        "How a free slot is chosen.",
        "least_allocated",
        choices=("least_allocated", "priority_aware", "round_robin"),
    ),
    _f(
        "sharing",
        "enum",
        "exclusive",
        "One container per slot, or several.",
        "exclusive",
        choices=("exclusive", "shared"),
    ),
    _f("max_containers_per_gpu", "int", 1, "Containers per slot in shared mode.", "2", minimum=1),
    _f("respect_reservations", "bool", True, "Keep reserved slots for their holder during the window.", "true"),
    _f(
        "inventory",
        "enum",
        "nvml",
        "Where GPUs come from: the driver, or a topology file (dry runs, demos, hosts without GPUs).",
        "simulated",
        choices=("nvml", "simulated"),
    ),
    _f(
        "topology",
        "path",
        None,
        "Topology YAML for the simulated inventory; a relative path is read "
        "against the config file's folder, then the packaged config/ and config/topologies/.",
        "topologies/demo-small.yaml",
        nullable=True,
        null_means="none; required when inventory is simulated",
    ),
    _f(
        "device_requests",
        "enum",
        "auto",
        "Whether containers get Docker GPU device requests: auto = only with the nvml inventory.",
        "auto",
        choices=("auto", "always", "never"),
    ),
)

POLICIES_SPECS: tuple[FieldSpec, ...] = (
    _f(
        "pending_allocation_timeout",
        "duration",
        600,
        "An allocation whose container never appears is released after this long.",
        "10m",
    ),
    _f(
        "last_shell_stops_container",
        "bool",
        True,
        "The last shell to exit (`mlc open`, `container run`) stops the container.",
        "true",
    ),
    _f(
        "idle_cpu_percent",
        "number",
        2,
        "A container counts as idle only while its CPU use stays under "
        "this (percent of one core) over the whole idle window, with no busy GPU slot and no shell open "
        "(see docs/lifecycle.md).",
        "2",
        minimum=0,
    ),
    _f(
        "idle_warning",
        "duration",
        3600,
        "Users are warned this long before an idle or runtime stop (terminal, notices, events).",
        "1h",
    ),
    _f(
        "max_keep_alive",
        "duration",
        86400,
        "The longest a keep-alive (`ds01 container keep-alive`, a "
        "`.keep-alive` file in the workspace) may postpone an idle stop; it never extends max_runtime.",
        "24h",
    ),
)

ADVANCED_SPECS: tuple[FieldSpec, ...] = (
    _f(
        "network_mode",
        "network",
        "bridge",
        "Docker network mode or network name for containers; "
        "host and container:NAME are refused (a container never shares the host's or another "
        "container's network namespace).",
        "bridge",
    ),
    _f(
        "restart_policy",
        "enum",
        "no",
        "Docker restart policy for containers. A bare no is the string "
        "no here (YAML 1.2); quoting it keeps the file right for YAML 1.1 tools too.",
        '"no"',
        choices=("no", "on-failure", "always", "unless-stopped"),
    ),
)

SECURITY_SPECS: tuple[FieldSpec, ...] = (
    _f(
        "mode",
        "enum",
        "group",
        "How far ds01 trusts its users. group: users are in the docker group "
        "(root-equivalent; ds01 enforces policy only for what goes through it). secure: users are not "
        "in the docker group, ds01 re-executes itself through `sudo -n`, and containers run as the "
        "caller with no capabilities and no-new-privileges. See docs/security.md.",
        "secure",
        choices=("group", "secure"),
    ),
    _f(
        "allowed_base_images",
        "str_list",
        (),
        "Local images (besides the catalog's and the caller's own "
        "project images) that users may build on or run, such as a site base image.",
        "[ds01-base:busybox]",
    ),
)

USE_CASES = ("general-ml", "cv", "nlp", "rl")
IMAGES_SPECS: tuple[FieldSpec, ...] = (
    _f(
        "aime_catalog",
        "path",
        "/opt/aime-ml-containers/ml_images.repo",
        "An installed AIME ml_images.repo, read when present.",
        "/opt/aime-ml-containers/ml_images.repo",
    ),
    _f(
        "dockerfiles_dir",
        "str",
        "~/dockerfiles",
        "Where users' Dockerfiles are written (~ is the user's home).",
        "~/dockerfiles",
    ),
    _f(
        "jupyter",
        "str_list",
        None,
        "Packages of the Jupyter phase.",
        "[jupyterlab, ipykernel]",
        nullable=True,
        null_means="the built-in list",
    ),
    _f(
        "data_science",
        "str_list",
        None,
        "Packages of the data-science phase.",
        "[pandas, scipy]",
        nullable=True,
        null_means="the built-in list",
    ),
    _f(
        "use_cases",
        "use_cases",
        {},
        "Packages per use case (general-ml, cv, nlp, rl), replacing the built-in list of that use case.",
        "{cv: [opencv-python-headless, albumentations]}",
        nullable=True,
        null_means="the built-in lists",
    ),
    _f("allow_urls", "bool", False, "Allow URL requirements (`pkg @ https://…`) in user package lists.", "false"),
)

WIZARD_SPECS: tuple[FieldSpec, ...] = (
    _f(
        "default_use_case",
        "enum",
        "general-ml",
        "Use case pre-selected in the wizards.",
        "general-ml",
        choices=(*USE_CASES, "custom"),
    ),
    _f(
        "default_framework",
        "str",
        None,
        "Framework pre-selected in the wizards (a catalog name).",
        "Pytorch",
        nullable=True,
        null_means="ask",
    ),
    _f("guided", "bool", True, "`user setup` explains each step by default.", "true"),
)

# Top-level keys -> (kind, doc). Sections of fields are described by SECTION_SPECS.
TOP_LEVEL: dict[str, str] = {
    "defaults": "Per-user fields for everyone, below groups and overrides.",
    "default_group": "Group of users listed in no group (a group name, or null).",
    "groups": "Named groups: per-user fields, `members`, and slice totals.",
    "user_overrides": "Per-user exceptions, and reservations.",
    "admins": "Login names allowed to act on every user's containers (root always is).",
    "gpu_allocation": "How GPU slots are found and handed out.",
    "policies": "Timeouts and lifecycle rules.",
    "advanced": "Docker settings applied to every container.",
    "images": "Image building: catalog, package lists.",
    "wizard": "Defaults of the onboarding wizards.",
    "security": "The trust model: group or secure mode, and which local images users may use.",
}

SECTION_SPECS: dict[str, tuple[FieldSpec, ...]] = {
    "gpu_allocation": GPU_ALLOCATION_SPECS,
    "policies": POLICIES_SPECS,
    "advanced": ADVANCED_SPECS,
    "images": IMAGES_SPECS,
    "wizard": WIZARD_SPECS,
    "security": SECURITY_SPECS,
}


def did_you_mean(key: str, known: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'memory'?)`` or an empty string."""
    import difflib  # only needed when something is misspelt

    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def convert(spec: FieldSpec, value: Any, key: str) -> Any:
    """The typed value of one key, or LimitsValueError naming key, value and accepted forms."""
    if value is None:
        if spec.nullable:
            return None
        raise LimitsValueError(key, value, spec.accepted(), "may not be null")
    converter = _CONVERTERS[spec.kind]
    return converter(spec, value, key)


def _bad(spec: FieldSpec, value: Any, key: str, reason: str = "has the wrong type") -> LimitsValueError:
    return LimitsValueError(key, value, spec.accepted(), reason)


def _c_size(spec: FieldSpec, value: Any, key: str) -> int:
    try:
        size = parse_size(value, key=key)
    except LimitsValueError as exc:
        raise LimitsValueError(key, value, spec.accepted(), exc.reason) from None
    _range(spec, size, key, shown=value)
    return size


def _c_duration(spec: FieldSpec, value: Any, key: str) -> int:
    try:
        seconds = parse_duration(value, key=key)
    except LimitsValueError as exc:
        raise LimitsValueError(key, value, spec.accepted(), exc.reason) from None
    _range(spec, seconds, key, shown=value)
    return seconds


def _range(spec: FieldSpec, value: float, key: str, *, shown: Any = None) -> None:
    lo, hi = spec.bounds()
    above_zero = spec.kind == "number" and spec.minimum is not None and spec.maximum is None and lo <= 0
    if value < lo or value > hi or (above_zero and value == 0):
        raise _bad(spec, value if shown is None else shown, key, "is out of range")


def _c_network(spec: FieldSpec, value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(spec, value, key, "is not a network mode")
    if value == "host":
        raise _bad(spec, value, key, "is refused: a container never shares the host's network namespace")
    if value.startswith("container:"):
        raise _bad(spec, value, key, "is refused: a container never joins another container's network namespace")
    if not re.match(_NETWORK_NAME_RE, value):
        raise _bad(spec, value, key, "is not a network mode or network name")
    return value


def _c_int(spec: FieldSpec, value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(spec, value, key, "is not a whole number")
    _range(spec, value, key)
    return value


def _c_number(spec: FieldSpec, value: Any, key: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(spec, value, key, "is not a number")
    if not math.isfinite(value):
        raise _bad(spec, value, key, "is not a finite number")
    _range(spec, value, key)
    return value


def _c_bool(spec: FieldSpec, value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(spec, value, key, "is not true or false")
    return value


def _c_enum(spec: FieldSpec, value: Any, key: str) -> str:
    if isinstance(value, bool) and "no" in spec.choices:
        raise _bad(spec, value, key, 'is a YAML boolean (a bare no or yes); quote it: "no"')
    if not isinstance(value, str) or value not in spec.choices:
        hint = did_you_mean(value, spec.choices) if isinstance(value, str) else ""
        raise _bad(spec, value, key, "is not an accepted value" + hint)
    return value


def _c_str(spec: FieldSpec, value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(spec, value, key, "is not a non-empty string")
    return value


def _c_str_list(spec: FieldSpec, value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _bad(spec, value, key, "is not a list of strings")
    return tuple(value)


def _c_int_list(spec: FieldSpec, value: Any, key: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise _bad(spec, value, key, "is not a list of GPU indices")
    return tuple(value)


def _c_user_list(spec: FieldSpec, value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _bad(spec, value, key, "is not a list")
    for item in value:
        if not isinstance(item, str) or not USER_NAME_RE.match(item):
            raise LimitsValueError(key, item, NAME_FORMS, "is not a login name (quote numeric names)")
    return tuple(value)


def _c_slot_list(spec: FieldSpec, value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _bad(spec, value, key, "is not a list")
    slots = []
    for item in value:
        if not isinstance(item, str):
            # Slot ids are strings: an unquoted 0 is the number 0, and YAML 1.1 tools read an
            # unquoted 1:0 as the number 60. Say which quoting fixes it.
            example = str(item) if isinstance(item, int) and not isinstance(item, bool) and item >= 0 else "1:0"
            raise LimitsValueError(key, item, SLOT_FORMS, f"is not a slot id string; quote it: '{example}'")
        if not SLOT_RE.match(item):
            raise LimitsValueError(key, item, SLOT_FORMS, "is not a slot id")
        slots.append(item)
    return tuple(slots)


def _c_datetime(spec: FieldSpec, value: Any, key: str) -> datetime:
    # PyYAML already turns unquoted timestamps into datetime (or date) objects.
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _bad(spec, value, key, "is not an ISO 8601 date-time") from None
    else:
        raise _bad(spec, value, key, "is not a date-time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _c_use_cases(spec: FieldSpec, value: Any, key: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise _bad(spec, value, key, "is not a mapping")
    out: dict[str, tuple[str, ...]] = {}
    for case, packages in value.items():
        if case not in USE_CASES:
            raise LimitsValueError(
                f"{key}.{case}",
                case,
                "one of " + ", ".join(USE_CASES),
                "is not a known use case" + did_you_mean(str(case), USE_CASES),
            )
        if not isinstance(packages, list) or not all(isinstance(p, str) and p.strip() for p in packages):
            raise LimitsValueError(f"{key}.{case}", packages, "a list of strings", "is not a list of strings")
        out[case] = tuple(packages)
    return out


_CONVERTERS: dict[str, Callable[[FieldSpec, Any, str], Any]] = {
    "network": _c_network,
    "size": _c_size,
    "duration": _c_duration,
    "int": _c_int,
    "number": _c_number,
    "bool": _c_bool,
    "enum": _c_enum,
    "str": _c_str,
    "path": _c_str,
    "str_list": _c_str_list,
    "int_list": _c_int_list,
    "user_list": _c_user_list,
    "slot_list": _c_slot_list,
    "datetime": _c_datetime,
    "use_cases": _c_use_cases,
}


# -- documentation ------------------------------------------------------------------------
def _default_text(spec: FieldSpec) -> str:
    from ds01.limits.units import format_duration, format_size

    value = spec.default
    if value is None:
        return "null"
    if spec.kind == "duration":
        return format_duration(value)
    if spec.kind == "size":
        return format_size(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value in ((), {}):
        return "[]" if spec.kind != "use_cases" else "{}"
    return str(value)


def _table(specs: tuple[FieldSpec, ...]) -> list[str]:
    lines = ["| key | type | default | accepted / null means | description | example |", "|---|---|---|---|---|---|"]
    for s in specs:
        cells = [f"`{s.name}`", s.type_label(), f"`{_default_text(s)}`", s.accepted(), s.doc, f"`{s.example}`"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def render_markdown() -> str:
    """docs/config.md, generated from the tables above."""
    out = [
        "# `resource-limits.yaml` reference",
        "",
        "<!-- Generated by `python -m ds01.limits.schema --markdown > docs/config.md`; "
        "edit src/ds01/limits/schema.py, not this file. -->",
        "",
        "ds01 reads one YAML file: `DS01_CONFIG`, else `/opt/ds01-infra/config/resource-limits.yaml`, "
        "else the packaged example `config/resource-limits.yaml`. It is read fresh by every command, "
        "so an edit takes effect on the next command. Check a file without acting with "
        "`ds01 limits check [FILE]` (exit 0 when valid, 2 with every problem listed when not).",
        "",
        "## Rules",
        "",
        f"- **Sizes** are {SIZE_FORMS}; they are stored as bytes.",
        f"- **Durations** are {DURATION_FORMS}; they are stored as seconds. `0.5h` is 30 minutes.",
        "- **Every number has a range**, shown in the tables below and named by `limits check` when a "
        "value is outside it: durations at most 100 years (36500d), sizes at most 8388607t (within "
        "Docker's 64-bit byte counts), whole numbers at most 2^63-1, other numbers finite and at most "
        "1000000; `memory` and `memory_swap` at least Docker's minimum of 6m, CPUs at least 0.01.",
        "- A bare number where a size or duration is expected is an error (a unitless `48` once meant 48 seconds).",
        "- **Absent and `null` differ.** An absent key falls through to the next level; `null` is a "
        "real value (unlimited / never / disabled, as listed per key) and stops there.",
        "- An empty section (`gpu_allocation:` with nothing under it) means all its defaults.",
        "- **Scalars are read as YAML 1.2** (core schema), not YAML 1.1: `1:0` is the string `1:0` "
        "(not the base-60 number 60), `no`, `yes`, `on` and `off` are strings (only `true` and "
        "`false` are booleans), `017` is 17, `0o17`, `0x1f` and `1_000` are strings, and dates are "
        "strings read by the key that expects one. Slot ids must be strings: write "
        "`reserved_gpus: ['0', '1:0']`. Topology files are read the same way.",
        "- Unknown keys are errors, with a suggestion for likely misspellings. Keys and forms of the "
        "original DS01 scripts (`max_gpus_per_user`, `idle_timeout_h: 48`, `never`, a per-group "
        "`policies:` mapping) are errors that name their replacement; `ds01 limits migrate FILE` "
        "rewrites them (see docs/migrating.md).",
        "- Validation collects every problem in the file, each with its key path "
        "(`groups.student.memory`), the bad value and the accepted forms. `max_cpus` above the "
        "host's core count is a warning.",
        "",
        "## Top-level keys",
        "",
        "| key | description |",
        "|---|---|",
    ]
    out += [f"| `{k}` | {v} |" for k, v in TOP_LEVEL.items()]
    out += [
        "",
        "## Per-user fields",
        "",
        "Allowed in `defaults`, in each `groups.<group>` and in each `user_overrides.<user>`. "
        "Resolution for a user, first match wins per field: `user_overrides.<user>` > the group whose "
        "`members` lists the user > `default_group` (for users in no group) > `defaults` > the "
        "built-in default below. `ds01 limits show USER` prints each value with the level it came from.",
        "",
    ]
    out += _table(PER_USER_SPECS)
    out += [
        "",
        "## `groups.<group>`",
        "",
        "Group names are lower-case letters, digits and '_', starting with a letter (they become "
        "systemd slice names `ds01-<group>.slice`, where '-' would mean nesting). "
        "Besides the per-user fields a group has:",
        "",
    ]
    out += _table(GROUP_EXTRA_SPECS)
    out += [
        "",
        "A user listed in two groups is an error. `default_group` must name a group.",
        "",
        "## `user_overrides.<user>`",
        "",
        "Per-user fields (a user listed here gets priority 100 unless the entry sets one), plus an "
        "optional reservation. `reservation_start`, `reservation_end` and `reserved_gpus` go "
        "together.",
        "",
    ]
    out += _table(OVERRIDE_EXTRA_SPECS)
    out += ["", "## `admins`", "", "A list of login names (default `[]`).", ""]
    for section, specs in SECTION_SPECS.items():
        out += [f"## `{section}`", "", TOP_LEVEL[section], ""]
        out += _table(specs)
        out.append("")
    out += [
        "## Topology files (`gpu_allocation.topology`)",
        "",
        "A simulated inventory reads GPUs from a YAML file: one entry per GPU under `gpus:`, the "
        "index being its position. Keys: `name`, `memory` (a size), `mig` (`null` = MIG off, one "
        "whole-GPU slot `N`; a list of MIG profiles such as `1g.10gb` or `3g.40gb` = one slot `N:M` "
        "per instance in enumeration order; `[]` = MIG on with no instances, no slot), and optionally "
        '`uuid` (derived stably when absent), `compute_capability` (`"8.0"`), `mig_pending: true` '
        "(a MIG mode change waits for a GPU reset) and `lost: true` (the GPU fell off the bus). "
        "`ds01 limits check` validates the topology file with the config. Packaged topologies: "
        "`demo-small.yaml` (slots 0, 1:0, 1:1), `h200-x1.yaml`, `a100-40gb-x4.yaml`, "
        "`dgx-a100-80gb.yaml`.",
        "",
        "```yaml",
        "gpus:",
        "  - name: NVIDIA A100-SXM4-80GB",
        "    memory: 80g",
        "    mig: null",
        "  - name: NVIDIA A100-SXM4-80GB",
        "    memory: 80g",
        "    mig: [3g.40gb, 2g.20gb, 1g.10gb, 1g.10gb]",
        "```",
        "",
        "## Example",
        "",
        "See `config/resource-limits.yaml` for a complete, commented example, and "
        "`config/topologies/` for simulated GPU topologies.",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["--markdown"]:
        sys.stderr.write("usage: python -m ds01.limits.schema --markdown > docs/config.md\n")
        return 2
    sys.stdout.write(render_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
