"""GPU topology files (``gpu_allocation.topology``): the one parser, into plain data.

``read_topology(path)`` returns a ``Topology`` (every GPU entry that is a mapping, with what
could be read of it, and the ``busy:`` list) and every problem found, each as a key path, the
value and a sentence. ``limits check`` reports all the problems with the rest of the
configuration (``limits.config.topology_slots``); the simulated inventory
(``gpu.inventory.simulated_gpus``, through ``simulated_topology``) refuses a file with any,
naming the first.
"""

from __future__ import annotations

import re
from pathlib import Path

from ds01.records import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MIG_PROFILE_RE = re.compile(r"^(\d+)g\.(\d+)gb$", re.IGNORECASE)
CAPABILITY_RE = re.compile(r"^(\d+)\.(\d+)$")
KEYS = ("name", "memory", "mig", "uuid", "mig_pending", "lost", "compute_capability")
NO_TOPOLOGY = "gpu_allocation.inventory is simulated but no gpu_allocation.topology is set."


@dataclass(frozen=True)
class TopologyProblem:
    key: str  # "gpus[1].memory"; "" for the file itself
    value: Any
    message: str  # "is not a size; expected …"


@dataclass(frozen=True)
class TopologyGpu:
    index: int
    name: str
    memory_bytes: int  # 0 when the file's value is not a size (a problem says so)
    mig: tuple[str, ...] | None  # the MIG profiles as written; None: MIG off
    uuid: str | None = None
    mig_pending: bool = False
    lost: bool = False
    compute_capability: tuple[int, int] | None = None

    def slot_ids(self) -> list[str]:
        """``N`` for a GPU with MIG off, ``N:M`` per MIG instance."""
        return [str(self.index)] if self.mig is None else [f"{self.index}:{m}" for m in range(len(self.mig))]


@dataclass(frozen=True)
class Topology:
    gpus: tuple[TopologyGpu, ...] = ()
    busy: tuple[str, ...] = ()  # slot ids or UUIDs the simulated activity reports busy

    def slot_ids(self) -> list[str]:
        return [sid for gpu in self.gpus for sid in gpu.slot_ids()]


def read_topology(path: Path) -> tuple[Topology, list[TopologyProblem]]:
    """The topology in ``path`` and every problem with it (an unreadable file is one problem)."""
    from ds01 import yaml12

    try:
        raw = yaml12.load(path.read_text(encoding="utf-8"))
    except IsADirectoryError:
        return Topology(), [
            TopologyProblem("", None, "is a directory; expected a topology file (gpu_allocation.topology).")
        ]
    except UnicodeDecodeError:
        return Topology(), [
            TopologyProblem("", None, "is not a text file; expected a topology YAML file (gpu_allocation.topology).")
        ]
    except OSError as exc:
        return Topology(), [
            TopologyProblem(
                "", None, f"cannot be read as a topology file ({exc.strerror or exc}); check its permissions."
            )
        ]
    except Exception as exc:  # noqa: BLE001 - yaml.YAMLError and friends: report, don't crash
        return Topology(), [TopologyProblem("", None, f"is not valid YAML ({exc}).".replace("\n", " "))]
    return parse_topology(raw)


def simulated_topology(path: Path | None) -> Topology:
    """The topology a simulated inventory is made of: a ConfigError when none is set or when the
    file has any problem (naming the first, and how many more ``limits check`` would list)."""
    from ds01.errors import ConfigError

    if path is None:
        raise ConfigError(NO_TOPOLOGY)
    topology, problems = read_topology(path)
    if problems:
        more = f" ({len(problems) - 1} more: run `ds01 limits check`)" if len(problems) > 1 else ""
        raise ConfigError(problem_sentence(path, problems[0]).rstrip(".") + more + ".")
    return topology


def parse_topology(raw: Any) -> tuple[Topology, list[TopologyProblem]]:
    """A parsed topology document as plain data, and every problem with it."""
    from ds01.limits.schema import did_you_mean
    from ds01.limits.units import LimitsValueError, parse_size

    problems: list[TopologyProblem] = []

    def add(key: str, value: Any, message: str) -> None:
        problems.append(TopologyProblem(key, value, message))

    gpus = raw.get("gpus") if isinstance(raw, dict) else None
    if not isinstance(gpus, list):
        add("gpus", gpus, "is not a list; expected `gpus:` with one entry per GPU")
        gpus = []
    out: list[TopologyGpu] = []
    for index, gpu in enumerate(gpus):
        key = f"gpus[{index}]"
        if not isinstance(gpu, dict):
            add(key, gpu, "is not a mapping; expected name, memory and mig")
            continue
        for k in sorted(map(str, set(gpu) - set(KEYS))):
            add(f"{key}.{k}", k, "is not a known key" + did_you_mean(k, KEYS) + "; accepted keys: " + ", ".join(KEYS))
        name = gpu.get("name")
        if not isinstance(name, str):
            add(f"{key}.name", name, "is not a GPU name")
        memory = 0
        try:
            memory = parse_size(gpu.get("memory"), key=f"{key}.memory")
        except LimitsValueError as exc:
            add(exc.key, exc.value, f"{exc.reason}; expected {exc.accepted}")
        cc = gpu.get("compute_capability")
        capability = None
        if cc is not None:
            match = CAPABILITY_RE.match(str(cc))
            if match:
                capability = (int(match.group(1)), int(match.group(2)))
            else:
                add(
                    f"{key}.compute_capability",
                    cc,
                    'is not a compute capability; expected a quoted major.minor such as "8.0"',
                )
        for flag in ("mig_pending", "lost"):
            if flag in gpu and not isinstance(gpu[flag], bool):
                add(f"{key}.{flag}", gpu[flag], "is not true or false; expected true or false")
        mig = gpu.get("mig")
        profiles: tuple[str, ...] | None = None
        if isinstance(mig, list) and all(isinstance(p, str) for p in mig):
            profiles = tuple(mig)
            for m, profile in enumerate(mig):
                if not MIG_PROFILE_RE.match(profile):
                    add(
                        f"{key}.mig[{m}]",
                        profile,
                        "is not a MIG profile; expected a profile name such as 1g.10gb or 3g.40gb",
                    )
        elif mig is not None:
            add(f"{key}.mig", mig, "is not null (MIG off) or a list of MIG profile names")
            continue
        out.append(
            TopologyGpu(
                index,
                name if isinstance(name, str) else "",
                memory,
                profiles,
                uuid=str(gpu["uuid"]) if gpu.get("uuid") else None,
                mig_pending=gpu.get("mig_pending") is True,
                lost=gpu.get("lost") is True,
                compute_capability=capability,
            )
        )
    busy = raw.get("busy") if isinstance(raw, dict) else None
    return Topology(tuple(out), tuple(str(x) for x in busy) if isinstance(busy, list) else ()), problems


def problem_sentence(path: Path, problem: TopologyProblem) -> str:
    """One problem as a sentence naming the file: ``The GPU topology F: gpus[0].memory … .``"""
    where = f"{problem.key} " if problem.key else ""
    shown = f"= {problem.value!r} " if problem.key and problem.value is not None else ""
    return f"The GPU topology {path}: {where}{shown}{problem.message.rstrip('.')}."
