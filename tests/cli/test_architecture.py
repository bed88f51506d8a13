"""The tier rules of SPEC §1, checked on the import graph of the source tree.

A failure here names the module and the import that breaks a rule, so the next change keeps
the layering: only ``base/`` talks to Docker, only ``gpu/inventory`` to NVML, units never call
other units, and lower tiers never reach up.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "ds01"


def _imports() -> dict[str, set[str]]:
    """module path (relative to src/ds01) -> every module name it imports, anywhere in the file."""
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(SRC))] = names
    return found


IMPORTS = _imports()


def _offenders(rule) -> list[str]:
    return sorted(f"{module}: {name}" for module, names in IMPORTS.items() for name in names if rule(module, name))


def test_only_base_talks_to_docker():
    assert _offenders(lambda m, n: (n == "docker" or n.startswith("docker.")) and not m.startswith("base/")) == []


def test_only_gpu_inventory_talks_to_nvml():
    assert _offenders(lambda m, n: n.split(".")[0] == "pynvml" and m != "gpu/inventory.py") == []


def test_base_runs_no_subprocesses():
    assert _offenders(lambda m, n: m.startswith("base/") and n.split(".")[0] == "subprocess") == []


def test_units_never_import_other_units():
    def crosses(module: str, name: str) -> bool:
        if not module.startswith("units/") or not name.startswith("ds01.units."):
            return False
        own = module.split("/")[1]
        other = name.split(".")[2]
        return other != own and not other.startswith("__")

    assert _offenders(crosses) == []


def test_lower_tiers_never_reach_up():
    above = {
        "base/": ("ds01.units", "ds01.orchestrators", "ds01.wizards", "ds01.cli"),
        "gpu/": ("ds01.units", "ds01.orchestrators", "ds01.wizards", "ds01.cli"),
        "limits/": ("ds01.base", "ds01.gpu", "ds01.units", "ds01.orchestrators", "ds01.wizards", "ds01.cli"),
        "units/": ("ds01.orchestrators", "ds01.wizards", "ds01.cli"),
        "ops/": ("ds01.units", "ds01.orchestrators", "ds01.wizards", "ds01.cli"),
        "orchestrators/": ("ds01.wizards", "ds01.cli"),
        "wizards/": ("ds01.cli",),
    }

    def reaches_up(module: str, name: str) -> bool:
        return any(module.startswith(tier) and name.startswith(banned) for tier, banned in above.items())

    assert _offenders(reaches_up) == []


def test_policy_is_a_shared_service_that_talks_to_no_engine():
    banned = (
        "docker",
        "pynvml",
        "ds01.base",
        "ds01.gpu",
        "ds01.units",
        "ds01.orchestrators",
        "ds01.wizards",
        "ds01.cli",
    )
    assert (
        _offenders(lambda m, n: m.startswith("policy/") and n.split(".")[0] != "ds01" and n.split(".")[0] in banned)
        == []
    )
    assert _offenders(lambda m, n: m.startswith("policy/") and n.startswith(banned[2:])) == []


def _tier(module_path: str) -> str:
    """The tier of a file relative to src/ds01 (its top folder; a top-level module is its own)."""
    return module_path.split("/")[0].removesuffix(".py")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_private_modules_and_names_stay_inside_their_tier():
    """``ds01.cli.gpu._common`` or ``_secure_now`` are a tier's own: another tier uses a public name."""

    def crosses(module: str, name: str) -> bool:
        parts = name.split(".")
        if parts[0] != "ds01" or len(parts) < 3:
            return False
        return any(_is_private(p) for p in parts[2:]) and _tier(module) != parts[1]

    assert _offenders(crosses) == []


PROMPTS = frozenset({"ask", "choose", "confirm", "checkbox", "password", "select", "text", "autocomplete"})


def _prompt_calls() -> list[str]:
    """``units/`` files that import a prompt library or call a prompt (``term.ask(...)``,
    ``terminal.choose(...)``, ``input()``): units take their answers as arguments."""
    found = []
    for path in (SRC / "units").rglob("*.py"):
        rel = str(path.relative_to(SRC))
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found += [
                    f"{rel}:{node.lineno}: import {m}"
                    for m in mods
                    if m.split(".")[0] in ("questionary", "prompt_toolkit", "getpass")
                ]
            elif isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id == "input":
                    found.append(f"{rel}:{node.lineno}: input()")
                elif (
                    isinstance(func, ast.Attribute)
                    and func.attr in PROMPTS
                    and isinstance(func.value, ast.Name)
                    and func.value.id in ("term", "terminal", "t", "questionary")
                ):
                    found.append(f"{rel}:{node.lineno}: {func.value.id}.{func.attr}()")
    return sorted(found)


# The container image picker of ``container create``/``mlc create`` is still asked inside the unit
# (from the terminal its command passes); nothing else may be.
PROMPTING_UNITS = {"units/containers/create.py"}


def test_units_never_prompt():
    assert [f for f in _prompt_calls() if f.split(":")[0] not in PROMPTING_UNITS] == []


def test_timestamps_are_formatted_in_one_place():
    """ISO 8601 UTC text is written by ``ds01.timefmt`` only (``iso``, ``now_iso``, ``FORMAT``)."""
    copies = sorted(
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "%Y-%m-%dT%H" in p.read_text() and p.name != "timefmt.py"
    )
    assert copies == []
