"""The original DS01 scripts' config keys and forms, and what each becomes in ds01 (SPEC §3).

Labs move to ds01 with a ``resource-limits.yaml`` written for the original scripts
(``get_resource_limits.py``, ``gpu_allocator.py``). Those files use keys ds01 does not accept:
bare-hour durations (``idle_timeout_h: 48``), ``max_gpus_per_user``, the words ``never`` /
``unlimited`` for "no limit", and a per-group ``policies:`` mapping. ``ds01 limits check`` names
each with its replacement (:func:`translate`), and ``ds01 limits migrate FILE`` rewrites the
file (:func:`migrate_text`), keeping comments, order and quoting, and refusing what it cannot
translate, naming it.
"""

from __future__ import annotations

import math
from typing import Any, cast

from ds01.limits import schema
from ds01.limits.units import format_duration
from ds01.records import dataclass

# Original key -> ds01 key (same value).
RENAMED = {"max_gpus_per_user": "max_mig_instances"}
# Original bare-hour keys -> ds01 duration keys.
HOUR_KEYS = {
    "idle_timeout_h": "idle_timeout",
    "max_runtime_h": "max_runtime",
    "gpu_hold_after_stop_h": "gpu_hold_after_stop",
    "container_hold_after_stop_h": "container_hold_after_stop",
}
# Words the original scripts read as "no limit"; ds01 writes null.
NO_LIMIT_WORDS = frozenset({"never", "unlimited", "none", "indefinite", "infinite", "forever"})
MIGRATE_HINT = "`ds01 limits migrate FILE` rewrites it"

_PER_USER = {s.name: s for s in schema.PER_USER_SPECS}


@dataclass(frozen=True)
class Rewrite:
    """What an original key/value becomes: ``key: value`` (``text`` is how it is written)."""

    key: str
    value: Any
    text: str


@dataclass(frozen=True)
class Refusal:
    """An original form that has no single translation; ``reason`` says why and what to write."""

    reason: str


def _yaml_text(value: Any) -> str:
    if value is None:
        return "null"
    return str(value)


def is_no_limit_word(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in NO_LIMIT_WORDS


def no_limit_rewrite(key: str, value: Any) -> Rewrite | None:
    """``idle_timeout: never`` -> ``idle_timeout: null`` for a per-user key where null means no limit."""
    spec = _PER_USER.get(key)
    if spec is None or not spec.nullable or spec.kind not in ("duration", "int", "size", "number"):
        return None
    if not is_no_limit_word(value):
        return None
    return Rewrite(key, None, f"{key}: null")


def translate(key: Any, value: Any) -> Rewrite | Refusal | None:
    """The ds01 form of a per-user key the schema does not know; None when it is not an original key."""
    if not isinstance(key, str):
        return None
    if key in RENAMED:
        new = RENAMED[key]
        if value is None or is_no_limit_word(value):
            return Rewrite(new, None, f"{new}: null")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return Rewrite(new, value, f"{new}: {value}")
        return Refusal(f"has no translation; write {new}: N (a whole number of GPU slots) or null")
    if key in HOUR_KEYS:
        new = HOUR_KEYS[key]
        if value is None or is_no_limit_word(value):
            return Rewrite(new, None, f"{new}: null")
        hours: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            hours = float(value)
        elif isinstance(value, str):
            text = value.strip()
            try:
                hours = float(text)
            except ValueError:
                from ds01.limits.units import LimitsValueError, parse_duration

                try:
                    parse_duration(text, key=key)
                except LimitsValueError:
                    return Refusal(f"has no translation; write {new}: a duration such as 48h, or null")
                return Rewrite(new, text, f"{new}: {text}")
        if hours is None or not math.isfinite(hours) or hours < 0:
            return Refusal(f"has no translation; write {new}: a duration such as 48h, or null")
        if hours == 0:
            return Refusal(
                f"is 0 hours, which has no single meaning; write {new}: null for no limit, or a duration such as 48h"
            )
        seconds = round(hours * 3600)
        if seconds == 0:
            return Refusal(f"is under one second; write {new}: a duration such as 30m")
        # Whole hours stay hours (48 -> 48h, as the admin wrote them); fractions become 30m, 1h30m.
        text = f"{int(hours)}h" if hours.is_integer() else format_duration(seconds)
        return Rewrite(new, text, f"{new}: {text}")
    return None


def message(rw: Rewrite | Refusal) -> str:
    """The sentence ``limits check`` prints after the key path and value."""
    if isinstance(rw, Refusal):
        return f"is an original DS01 key and {rw.reason}"
    return f"is an original DS01 key; write {rw.text} instead ({MIGRATE_HINT})"


def policies_items(group: str, body: dict[str, Any]) -> list[tuple[str, Any, Rewrite | Refusal]]:
    """Each key of an original ``groups.<group>.policies:`` mapping and what it becomes on the group."""
    out: list[tuple[str, Any, Rewrite | Refusal]] = []
    for key, value in body.items():
        rw = translate(key, value)
        if rw is None and isinstance(key, str) and key in _PER_USER:
            rw = no_limit_rewrite(key, value) or Rewrite(key, value, f"{key}: {_yaml_text(value)}")
        if rw is None:
            rw = Refusal(f"is not a per-user key; ds01 has no per-group {key!r} (see docs/config.md)")
        out.append((str(key), value, rw))
    return out


# -- rewriting a file -----------------------------------------------------------------------------


@dataclass
class Migration:
    text: str  # the rewritten file (equal to the input when nothing changed)
    changes: list[str]  # "defaults.idle_timeout_h: 48 -> idle_timeout: 48h"
    refusals: list[str]  # "groups.x.policies.foo: 'bar' is not … " (nothing is written when any)


def _rename(m: Any, old: Any, new: str, value: Any) -> None:
    """Replace key ``old`` by ``new`` at the same position, keeping the line's comment."""
    pos = list(m.keys()).index(old)
    comment = m.ca.items.pop(old, None)
    del m[old]
    m.insert(pos, new, value)
    if comment is not None:
        m.ca.items[new] = comment


def _level(m: Any, path: str, mig: Migration, *, group: bool) -> None:
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    for key in list(m.keys()):
        value = m[key]
        where = f"{path}.{key}"
        if group and key == "policies" and isinstance(value, dict):
            pos = list(m.keys()).index(key)
            items = policies_items(path.split(".", 1)[1], value)
            for inner, inner_value, change in items:
                if isinstance(change, Refusal):
                    mig.refusals.append(f"{where}.{inner}: {inner_value!r} {change.reason}")
                elif change.key in m:
                    mig.refusals.append(
                        f"{where}.{inner}: {inner_value!r} would become {path}.{change.key}, which "
                        "the group already sets; keep one of them"
                    )
            if not any(r.startswith(f"{where}.") for r in mig.refusals):
                m.ca.items.pop(key, None)  # the old key's own comment goes with it
                del m[key]
                comments = cast(Any, value).ca.items  # a ruamel CommentedMap
                for offset, (inner, inner_value, change) in enumerate(items):
                    assert isinstance(change, Rewrite)
                    m.insert(pos + offset, change.key, change.value)
                    inner_comment = comments.get(inner)
                    if inner_comment is not None:  # the line's comment, and blank lines after it
                        m.ca.items[change.key] = inner_comment
                    mig.changes.append(f"{where}.{inner}: {inner_value!r} -> {path}.{change.text}")
            continue
        rw = translate(key, value)
        if rw is None:
            rw = no_limit_rewrite(key, value)
            if rw is not None:
                m[key] = None
                mig.changes.append(f"{where}: {value!r} -> {path}.{rw.text}")
            elif key == "reserved_gpus" and isinstance(value, list):
                for i, slot in enumerate(value):
                    if isinstance(slot, int) and not isinstance(slot, bool):
                        value[i] = SingleQuotedScalarString(str(slot))
                        mig.changes.append(f"{where}[{i}]: {slot!r} -> '{slot}' (slot ids are strings)")
                    elif (
                        isinstance(slot, str)
                        and not isinstance(slot, SingleQuotedScalarString)
                        and schema.SLOT_RE.match(slot)
                        and ":" in slot
                    ):
                        value[i] = SingleQuotedScalarString(slot)
                        mig.changes.append(
                            f"{where}[{i}]: {slot} -> '{slot}' (quoted: YAML 1.1 readers "
                            "take an unquoted 1:0 for the number 60)"
                        )
            continue
        if isinstance(rw, Refusal):
            mig.refusals.append(f"{where}: {value!r} {message(rw)}")
        elif rw.key in m:
            mig.refusals.append(
                f"{where}: {value!r} would become {path}.{rw.key}, which {path} already sets; keep one of them"
            )
        else:
            _rename(m, key, rw.key, rw.value)
            mig.changes.append(f"{where}: {value!r} -> {path}.{rw.text}")


def migrate_text(text: str) -> Migration:
    """Rewrite an original-format config into ds01's; ``refusals`` lists what has no translation."""
    import io

    from ds01.yaml12 import round_trip

    yaml = round_trip()
    doc = yaml.load(text)
    mig = Migration(text=text, changes=[], refusals=[])
    if not isinstance(doc, dict):
        return mig
    if isinstance(doc.get("defaults"), dict):
        _level(doc["defaults"], "defaults", mig, group=False)
    for section, group in (("groups", True), ("user_overrides", False)):
        entries = doc.get(section)
        if isinstance(entries, dict):
            for name, body in entries.items():
                if isinstance(body, dict):
                    _level(body, f"{section}.{name}", mig, group=group)
    advanced = doc.get("advanced")
    if isinstance(advanced, dict):
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString

        policy = advanced.get("restart_policy")
        if policy == "no" and not isinstance(policy, DoubleQuotedScalarString):
            advanced["restart_policy"] = DoubleQuotedScalarString("no")
            mig.changes.append(
                'advanced.restart_policy: no -> "no" (quoted: YAML 1.1 readers take a bare no for false)'
            )
        elif policy is False:
            advanced["restart_policy"] = DoubleQuotedScalarString("no")
            mig.changes.append('advanced.restart_policy: false -> "no"')
    if mig.changes and not mig.refusals:
        out = io.StringIO()
        yaml.dump(doc, out)
        mig.text = out.getvalue()
    return mig
