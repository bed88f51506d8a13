"""The one YAML reader for ds01's own files: YAML 1.2 core-schema scalars on libyaml.

Every YAML file ds01 reads (``resource-limits.yaml``, topology files, the security-mode
fallback) goes through :func:`load`. PyYAML's default resolver implements YAML 1.1, where
plain scalars silently change meaning: ``1:0`` is the base-60 integer 60, ``no``/``yes``/
``on``/``off`` are booleans, ``017`` is octal 15, ``1_000`` is 1000. A config that says
``reserved_gpus: [1:0, 2:3]`` or ``restart_policy: no`` must mean what it says, so this
loader resolves plain scalars by the YAML 1.2 core schema, restricted further:

- null: ``~``, ``null``, ``Null``, ``NULL`` and the empty value;
- booleans: ``true``/``false`` (also ``True``, ``TRUE``, …) only;
- integers: decimal digits with an optional sign (``017`` is 17); ``0o17`` and ``0x1f`` stay
  strings, so a number is never read in another base without the writer seeing it;
- floats: ``1.5``, ``1e3``, ``.5``, ``.inf``, ``.nan`` (the schema refuses non-finite values
  where it expects a number);
- everything else is a string: ``1:0``, ``no``, ``on``, ``1_000``, ``2027-03-01``
  (no implicit timestamps: the schema parses ISO 8601 strings itself).

Why a resolver on PyYAML's C loader and not ruamel.yaml in 1.2 mode: config is read by every
command, and ruamel's safe loader runs in pure Python as soon as a YAML version is set. On the
packaged ``config/resource-limits.yaml`` (6.6 KB) this loader takes about 0.7 ms per parse (plain
``CSafeLoader``: 0.86 ms), ``ruamel.yaml`` (``typ="safe"``, version 1.2) about 9.6 ms; importing
either costs about the same (~35 ms). ruamel.yaml is used only where a file is rewritten with
its comments kept (``ds01 limits migrate --write``, ``ds01 admin add-user``: :func:`round_trip`),
with its 1.2 resolver, so reader and writer agree on every scalar.

:func:`load_with_duplicates` also reports keys given twice in one mapping (YAML keeps the last
one silently). Errors are ``yaml.YAMLError`` (re-exported as :data:`YAMLError`).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

YAMLError = yaml.YAMLError

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)

_TAG = "tag:yaml.org,2002:"


def _resolvers() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    table: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}

    def add(tag: str, pattern: re.Pattern[str], first: str) -> None:
        for ch in first:
            table.setdefault(ch, []).append((_TAG + tag, pattern))

    add("bool", _BOOL, "tTfF")
    add("int", _INT, "-+0123456789")
    add("float", _FLOAT, "-+0123456789.")
    add("null", _NULL, "~nN")
    table.setdefault("", []).append((_TAG + "null", _NULL))
    add("merge", re.compile(r"^(?:<<)$"), "<")
    return table


class Loader(_BASE):  # type: ignore[misc, valid-type]
    """A safe loader with YAML 1.2 core-schema scalars (see the module docstring)."""

    yaml_implicit_resolvers = _resolvers()


def _construct_int(loader: Loader, node: yaml.ScalarNode) -> int:
    return int(loader.construct_scalar(node), 10)  # always decimal: "017" is 17


def _construct_float(loader: Loader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


Loader.add_constructor(_TAG + "int", _construct_int)
Loader.add_constructor(_TAG + "float", _construct_float)


def load(text: str) -> Any:
    """Parse ``text`` with YAML 1.2 core-schema scalars."""
    return yaml.load(text, Loader=Loader)  # a SafeLoader subclass


def load_with_duplicates(text: str) -> tuple[Any, list[tuple[str, int]]]:
    """(data, [(key, line), …] for each key given twice in one mapping)."""
    duplicates: list[tuple[str, int]] = []

    class _Checking(Loader):
        pass

    def construct_mapping(loader: Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    duplicates.append((str(key), key_node.start_mark.line + 1))
                seen.add(key)
            except TypeError:
                pass
        return _BASE.construct_mapping(loader, node, deep=deep)

    _Checking.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return yaml.load(text, Loader=_Checking), duplicates  # a SafeLoader subclass


def round_trip() -> Any:
    """The one YAML rewriter (ruamel.yaml, round-trip, YAML 1.2 scalars): comments, order and
    quotes are kept, and a null is written ``null`` as the config spells it (ruamel would write
    an empty value)."""
    from ruamel.yaml import YAML

    writer = YAML()
    writer.preserve_quotes = True
    writer.width = 4096
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.representer.add_representer(
        type(None), lambda rep, _data: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return writer
