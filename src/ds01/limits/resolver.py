"""Per-user limit resolution and what the limits mean for Docker (SPEC §3, §5).

Order, per field, first level that has the key wins: ``user_overrides.<user>`` > the group
whose ``members`` lists the user > ``default_group`` (users in no group) > ``defaults`` >
built-in defaults. ``null`` is a value (unlimited / never) and stops the fall-through.
Every resolved value records the level it came from. Pure functions over ``Config``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ds01.limits.config import Config
from ds01.limits.reservation import Reservation
from ds01.limits.schema import BUILTIN_DEFAULTS, OVERRIDE_PRIORITY, PER_USER_FIELDS, PER_USER_SPECS
from ds01.limits.units import format_duration, format_size
from ds01.records import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "PER_USER_FIELDS",
    "ResolvedLimits",
    "container_resources",
    "docker_run_args",
    "format_value",
    "resolve",
]

_KINDS = {s.name: s.kind for s in PER_USER_SPECS}


@dataclass(frozen=True)
class ResolvedLimits:
    user: str
    group: str | None
    group_source: str  # "member" | "default_group" | "defaults"
    priority: int
    values: dict[str, Any]
    sources: dict[str, str]  # "user_override" | "group:<g>" | "default_group:<g>" | "defaults" | "builtin"
    reservation: Reservation | None

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails; guard the dataclass's own fields so that
        # copying or unpickling (which probe attributes before __init__) cannot recurse.
        if name.startswith("_") or name == "values":
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def to_json(self) -> dict[str, Any]:
        """The ``limits show --json`` object: sizes in bytes, durations in seconds, null = unlimited."""
        return {
            "user": self.user,
            "group": self.group,
            "priority": self.priority,
            "limits": {name: self.values[name] for name in PER_USER_FIELDS},
            "sources": {name: self.sources[name] for name in PER_USER_FIELDS},
        }


def resolve(config: Config, user: str) -> ResolvedLimits:
    group, group_source = config.group_of(user)
    levels: list[tuple[str, dict[str, Any]]] = []
    override = config.user_overrides.get(user)
    if override is not None:
        levels.append(("user_override", override))
    if group is not None:
        label = f"group:{group}" if group_source == "member" else f"default_group:{group}"
        levels.append((label, config.groups[group].limits))
    levels.append(("defaults", config.defaults))

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in PER_USER_FIELDS:
        for label, level in levels:
            if name in level:  # presence, not truthiness: null is a value
                values[name], sources[name] = level[name], label
                break
        else:
            values[name], sources[name] = BUILTIN_DEFAULTS[name], "builtin"
    # A user singled out in user_overrides outranks every group unless the entry says otherwise.
    if override is not None and "priority" not in override:
        values["priority"], sources["priority"] = OVERRIDE_PRIORITY, "user_override"

    reservation = next((r for r in config.reservations() if r.user == user), None)
    return ResolvedLimits(
        user=user,
        group=group,
        group_source=group_source,
        priority=int(values["priority"]),
        values=values,
        sources=sources,
        reservation=reservation,
    )


def format_value(name: str, value: Any) -> str:
    """A resolved value as a person reads it: ``32g``, ``1h30m``, ``unlimited``."""
    if value is None:
        return {"duration": "never"}.get(_KINDS.get(name, ""), "unlimited")
    kind = _KINDS.get(name)
    if kind == "size":
        return format_size(value)
    if kind == "duration":
        return format_duration(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _number(value)


def _number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def cgroup_parent(group: str | None) -> str:
    """The systemd slice a user's containers run under (``ds01-<group>.slice``)."""
    return f"ds01-{group}.slice" if group else "ds01.slice"


# One table for both renderings: field -> (docker run flag, SDK create kwarg, flag text, SDK value).
_DOCKER_TABLE: tuple[tuple[str, str, str, Callable[[Any], str], Callable[[Any], Any]], ...] = (
    ("max_cpus", "--cpus", "nano_cpus", _number, lambda v: int(round(v * 1_000_000_000))),
    ("memory", "--memory", "mem_limit", format_size, int),
    ("memory_swap", "--memory-swap", "memswap_limit", format_size, int),
    ("shm_size", "--shm-size", "shm_size", format_size, int),
    ("pids_limit", "--pids-limit", "pids_limit", str, int),
)


def _effective(r: ResolvedLimits, host_cpus: int | None) -> dict[str, Any]:
    values = dict(r.values)
    cpus = values.get("max_cpus")
    # Docker refuses --cpus above the host's core count ("Range of CPUs is from 0.01 to N"),
    # and such a limit means "all cores" anyway; `limits check` warns about it.
    host = os.cpu_count() if host_cpus is None else host_cpus
    if cpus is not None and host and cpus > host:
        values["max_cpus"] = host
    tasks, pids = values.get("max_tasks"), values.get("pids_limit")
    if tasks is not None and (pids is None or tasks < pids):
        values["pids_limit"] = tasks  # no container may run more tasks than its user is allowed
    return values


def docker_run_args(r: ResolvedLimits, *, host_cpus: int | None = None) -> list[str]:
    """The ``docker run`` flags the limits imply; unlimited (null) fields give no flag."""
    values = _effective(r, host_cpus)
    args = [
        f"{flag}={to_flag(values[name])}"
        for name, flag, _kw, to_flag, _to_sdk in _DOCKER_TABLE
        if values.get(name) is not None
    ]
    args.append(f"--cgroup-parent={cgroup_parent(r.group)}")
    return args


def container_resources(r: ResolvedLimits, *, host_cpus: int | None = None) -> dict[str, Any]:
    """The same limits as Docker SDK ``containers.create`` keyword arguments (null fields omitted)."""
    values = _effective(r, host_cpus)
    kwargs = {
        kw: to_sdk(values[name]) for name, _flag, kw, _to_flag, to_sdk in _DOCKER_TABLE if values.get(name) is not None
    }
    kwargs["cgroup_parent"] = cgroup_parent(r.group)
    return kwargs
