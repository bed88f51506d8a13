"""The tier rules of SPEC §1, checked on the import graph of the source tree.

A failure here names the module and the import that breaks a rule, so the next change keeps
the layering: only ``base/`` talks to Docker, only ``gpu/inventory`` to NVML, units never call
other units, and lower tiers never reach up.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "ds01"


def module_imports(rel: str, source: str) -> set[str]:
    """Every module name the file ``rel`` (relative to src/ds01) imports, anywhere in it, as
    absolute names: ``from .._common import x`` in ``cli/gpu/show.py`` is ``ds01.cli._common``
    and ``ds01.cli._common.x``."""
    parts = ["ds01", *rel.removesuffix(".py").split("/")]
    package = parts[:-1]  # the package a relative import starts from (``__init__``'s own too)
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=rel)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _imports() -> dict[str, set[str]]:
    """module path (relative to src/ds01) -> every module name it imports, anywhere in the file."""
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        rel = str(path.relative_to(SRC))
        found[rel] = module_imports(rel, path.read_text())
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


def crosses_privately(module: str, name: str) -> bool:
    """Whether ``module`` (a file relative to src/ds01) imports ``name``, a private module or name
    (``_common``, ``_secure_now``) of another tier. A top-level ``ds01._x`` is a tier of its own."""
    parts = name.split(".")
    if parts[0] != "ds01" or len(parts) < 2:
        return False
    return any(_is_private(p) for p in parts[1:]) and _tier(module) != parts[1]


def test_private_modules_and_names_stay_inside_their_tier():
    """``ds01.cli.gpu._common`` or ``_secure_now`` are a tier's own: another tier uses a public name."""
    assert _offenders(crosses_privately) == []


def test_the_private_rule_sees_every_spelling_of_an_import():
    """The rule above fails on each way a wizard could reach a private module of the CLI, and
    passes a tier using its own."""
    reaching = [
        "from ds01.cli.gpu._common import parse_wait",
        "from ds01.cli.gpu import _common",
        "import ds01.cli.gpu._common",
        "import ds01.cli.gpu._common as c",
        "def f():\n    from ds01.cli.gpu._common import parse_wait",
        "from ..cli.gpu._common import parse_wait",
        "from ..cli.gpu import _common",
        "from ds01.cli.gpu.show import _table",
        "from ds01 import _hidden",
    ]
    for source in reaching:
        names = module_imports("wizards/new_project.py", source)
        assert any(crosses_privately("wizards/new_project.py", n) for n in names), source
    for source in ("from ds01.cli.gpu._common import parse_wait", "from ._common import parse_wait"):
        names = module_imports("cli/gpu/show.py", source)
        assert not any(crosses_privately("cli/container/create.py", n) for n in names), source
    assert module_imports("cli/gpu/__init__.py", "from ._common import x") >= {"ds01.cli.gpu._common"}


PROMPTS = frozenset({"ask", "choose", "confirm", "checkbox", "password", "select", "text", "autocomplete"})


def _receiver(node: ast.expr) -> str:
    """The last name of a call's receiver: ``term`` in ``term.ask``, ``terminal`` in ``app.terminal.ask``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def prompt_calls(rel: str, source: str) -> list[str]:
    """What in one file imports a prompt library or calls a prompt: ``input()``, ``term.ask(...)``,
    ``terminal.choose(...)``, ``app.terminal.confirm(...)``, ``questionary.select(...)``."""
    found = []
    for node in ast.walk(ast.parse(source, filename=rel)):
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
            elif isinstance(func, ast.Attribute) and func.attr in PROMPTS:
                receiver = _receiver(func.value)
                if receiver in ("t", "questionary") or receiver.endswith(("term", "terminal")):
                    found.append(f"{rel}:{node.lineno}: {receiver}.{func.attr}()")
    return found


def _prompt_calls() -> list[str]:
    """``units/`` files that prompt: units take their answers as arguments."""
    return sorted(
        f for path in (SRC / "units").rglob("*.py") for f in prompt_calls(str(path.relative_to(SRC)), path.read_text())
    )


def test_the_prompt_rule_sees_a_unit_asking():
    for source in (
        "picked = terminal.choose('Image:', choices, what='an image')",
        "name = term.ask('Name:')",
        "ok = app.terminal.confirm('Sure?')",
        "ok = self.term.checkbox('Which?', [])",
        "import questionary",
        "from prompt_toolkit import prompt",
        "answer = input()",
    ):
        assert prompt_calls("units/containers/create.py", source), source
    assert prompt_calls("units/containers/texts.py", "terminal.guide(line)\nterminal.info(text)") == []


def test_units_never_prompt():
    assert _prompt_calls() == []


def test_timestamps_are_formatted_in_one_place():
    """ISO 8601 UTC text is written by ``ds01.timefmt`` only (``iso``, ``now_iso``, ``FORMAT``)."""
    copies = sorted(
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "%Y-%m-%dT%H" in p.read_text() and p.name != "timefmt.py"
    )
    assert copies == []


def test_data_classes_come_from_ds01_records():
    """``dataclasses`` (and the ``inspect`` it loads) costs every process tens of milliseconds;
    ds01's modules take ``dataclass``, ``field`` and the rest from ``ds01.records``."""
    assert _offenders(lambda m, n: n.split(".")[0] == "dataclasses" and m != "records/__init__.py") == []
