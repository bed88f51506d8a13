"""Simulated-inventory configs for tests: a topology text and a ``resource-limits.yaml`` rendered
from keyword overrides, written side by side.

``render`` starts from what most container tests share (small limits, no network, the offline
base image) and merges each section given over it; a key set to ``OMIT`` is left out. With
``base=False`` only the sections given are written (plus the simulated inventory). Lists are
written in flow style (``[a, b]``) and mappings in block style, so tests that edit the text
(``network_mode: none`` -> ``bridge``) find the lines they expect.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

A100 = "NVIDIA A100-SXM4-80GB"
SEVEN = ["1g.10gb"] * 7
OMIT = object()

DEFAULTS = {
    "max_mig_instances": 2,
    "max_gpus_per_container": 1,
    "max_cpus": 1,
    "memory": "256m",
    "pids_limit": 200,
    "max_containers_per_user": 4,
    "priority": 10,
}
SECTIONS = {
    "advanced": {"network_mode": "none", "restart_policy": "no"},
    "security": {"allowed_base_images": ["ds01-base:busybox"]},
}


def topology(
    *gpus: list[str] | None, name: str = A100, memory: str = "80g", compute_capability: str | None = None
) -> str:
    """One GPU per argument: its MIG slices, or None for a whole GPU."""
    lines = ["gpus:"]
    for mig in gpus:
        lines += [f"  - name: {name}", f"    memory: {memory}"]
        if compute_capability is not None:
            lines.append(f"    compute_capability: {_scalar(compute_capability)}")
        lines.append(f"    mig: {_value(mig)}")
    return "\n".join(lines) + "\n"


def render(
    topology_path: Path | str,
    *,
    base: bool = True,
    defaults: dict | None = None,
    gpu_allocation: dict | None = None,
    **sections: Any,
) -> str:
    """The config text: ``defaults`` and the other mapping sections merge over the shared ones."""
    data: dict[str, Any] = {"defaults": _merge(DEFAULTS if base else {}, defaults or {})}
    rest = {key: sections.pop(key) for key in list(sections) if key not in SECTIONS}
    data.update(rest)
    data["gpu_allocation"] = _merge({"inventory": "simulated", "topology": str(topology_path)}, gpu_allocation or {})
    for key, shared in SECTIONS.items():
        given = sections.get(key)
        if base or given is not None:
            data[key] = _merge(shared if base else {}, given or {})
    return "".join(_lines(data, 0))


def write(
    folder: Path,
    topology_text: str,
    *,
    topology_name: str = "topology.yaml",
    config_name: str = "resource-limits.yaml",
    extra: str = "",
    **kw: Any,
) -> Path:
    """Write the topology and, beside it, the config rendered from ``kw`` (then ``extra``)."""
    folder.mkdir(parents=True, exist_ok=True)
    topo = folder / topology_name
    topo.write_text(topology_text)
    config = folder / config_name
    config.write_text(render(topo, **kw) + extra)
    return config


def use(monkeypatch, config: Path) -> Path:
    """Point ``DS01_CONFIG`` at ``config`` for the test."""
    monkeypatch.setenv("DS01_CONFIG", str(config))
    return config


def _merge(shared: dict, given: dict) -> dict:
    merged = {**shared, **given}
    return {k: v for k, v in merged.items() if v is not OMIT}


def _lines(mapping: dict, depth: int):
    pad = "  " * depth
    for key, value in mapping.items():
        if isinstance(value, dict):
            yield f"{pad}{key}:\n"
            yield from _lines(value, depth + 1)
        else:
            yield f"{pad}{key}: {_value(value)}\n"


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (int, os.PathLike)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    loaded = yaml.safe_load(text)
    return text if type(loaded) in (str, int) else json.dumps(text)  # "no" and "8.0" stay strings


def aged(path: Path) -> Path:
    """``path``, once it is older than ``limits.stamp.RACY_NS``: a command reading it now may stamp
    it (a file read right after a write is validated again by the next command)."""
    import time

    from ds01.limits.stamp import RACY_NS

    while time.time_ns() - os.stat(path).st_ctime_ns <= RACY_NS:
        time.sleep(0.01)
    return path
