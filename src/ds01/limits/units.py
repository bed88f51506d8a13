"""Typed sizes and durations for ``resource-limits.yaml`` (SPEC §3).

One parser for each, units required: a unitless ``48`` once meant 48 seconds and killed
containers at launch, and ``0.5h`` was once read as ``5h``. Sizes are docker style
(``512m``, ``32g``, ``1t``, binary multiples, case-insensitive) and become bytes; durations
(``30m``, ``0.5h``, ``48h``, ``2d``, ``1h30m``) become whole seconds.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SIZE_FORMS = "a number with a unit b, k, m, g or t (docker style, e.g. 512m, 32g, 1.5g, 1t)"
DURATION_FORMS = "a number with a unit s, m, h, d or w (e.g. 30m, 0.5h, 48h, 2d, 1h30m)"

_SIZE_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
# Docker also accepts "mb", "gib" and "1 g"; so do we, so that values copied from
# `docker run` flags keep working.
# The patterns are compiled at their first use (``re``'s cache), not when the module is imported.
_SIZE_RE = r"^(\d+(?:\.\d+)?)\s*([bkmgt])(?:i?b)?$"

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART = r"(\d+(?:\.\d+)?)([smhdw])"
_DURATION_RE = r"^(?:\d+(?:\.\d+)?[smhdw])+$"


class LimitsValueError(ValueError):
    """A size or duration that cannot be read: names the key, the value and the accepted forms."""

    def __init__(self, key: str, value: Any, accepted: str, reason: str = "is not valid"):
        self.key = key
        self.value = value
        self.accepted = accepted
        self.reason = reason
        super().__init__(f"{key}: {value!r} {reason}; expected {accepted}")


def _text(value: Any, *, key: str, accepted: str, what: str) -> str:
    if isinstance(value, bool) or value is None:
        raise LimitsValueError(key, value, accepted, f"is not a {what}")
    if isinstance(value, int | float):
        raise LimitsValueError(key, value, accepted, "is a bare number without a unit")
    if not isinstance(value, str):
        raise LimitsValueError(key, value, accepted, f"is not a {what}")
    text = value.strip()
    if text.startswith("-"):
        # Only a number after the sign is negative: "--" or "-h" is no number at all.
        if re.match(r"-\s*\d", text):
            raise LimitsValueError(key, value, accepted, "is negative")
        raise LimitsValueError(key, value, accepted, f"is not a {what}")
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        raise LimitsValueError(key, value, accepted, "is a bare number without a unit")
    return text


def parse_size(value: Any, *, key: str) -> int:
    """``"32g"`` -> 34359738368. Bare numbers, negatives and unknown units are refused."""
    text = _text(value, key=key, accepted=SIZE_FORMS, what="size")
    match = re.match(_SIZE_RE, text, re.IGNORECASE)
    if not match:
        raise LimitsValueError(key, value, SIZE_FORMS, "has no known size unit")
    number, unit = match.groups()
    if "." not in number and len(number) <= 15:
        # A whole number: the product is exact either way (Decimal keeps 28 digits), without
        # loading decimal for the sizes every topology and config is written in.
        return int(number) * _SIZE_UNITS[unit.lower()]
    from decimal import Decimal

    return int(Decimal(number) * _SIZE_UNITS[unit.lower()])


def parse_duration(value: Any, *, key: str) -> int:
    """``"1h30m"`` -> 5400, ``"0.5h"`` -> 1800. Bare numbers and unknown units are refused."""
    text = _text(value, key=key, accepted=DURATION_FORMS, what="duration")
    compact = text.replace(" ", "")
    if not re.match(_DURATION_RE, compact, re.IGNORECASE):
        raise LimitsValueError(key, value, DURATION_FORMS, "has no known duration unit")
    from decimal import Decimal, InvalidOperation

    total = Decimal(0)
    seen: set[str] = set()
    for number, unit in re.findall(_DURATION_PART, compact, re.IGNORECASE):
        unit = unit.lower()
        if unit in seen:
            raise LimitsValueError(key, value, DURATION_FORMS, f"repeats the unit {unit!r}")
        seen.add(unit)
        try:
            total += Decimal(number) * _DURATION_UNITS[unit]
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
            raise LimitsValueError(key, value, DURATION_FORMS) from exc
    # Round half up to whole seconds: "0.5s" is one second, never zero.
    return int(total.to_integral_value(rounding="ROUND_HALF_UP"))


def format_size(n: int) -> str:
    """Bytes in the largest docker unit that divides them exactly: 34359738368 -> ``"32g"``."""
    if n < 0:
        raise ValueError(f"size {n} is negative")
    for unit in ("t", "g", "m", "k"):
        factor = _SIZE_UNITS[unit]
        if n and n % factor == 0:
            return f"{n // factor}{unit}"
    return f"{n}b"


def format_duration(seconds: int) -> str:
    """Seconds as compound units: 5400 -> ``"1h30m"``, 172800 -> ``"2d"``, 0 -> ``"0s"``."""
    if seconds < 0:
        raise ValueError(f"duration {seconds} is negative")
    if seconds == 0:
        return "0s"
    parts = []
    rest = int(seconds)
    # Weeks are accepted on input but days read better ("14d"), so output stops at days.
    for unit in ("d", "h", "m", "s"):
        count, rest = divmod(rest, _DURATION_UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
