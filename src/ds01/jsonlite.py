"""``json.loads`` and ``json.dumps`` of one string, without importing ``json``.

``json`` imports ``re`` (for its number and whitespace patterns), which costs a listing a
third of its budget of a few times a bare interpreter start. Its C half, ``_json``, has both
the scanner and the string encoder; this module drives them the way ``json`` does. Where
``_json`` is missing (not CPython) the pure-Python module is used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

WHITESPACE = " \t\n\r"


class _Decoding:
    # What ``_json.make_scanner`` reads from a ``json.JSONDecoder``: the decoder's defaults.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # "NaN", "Infinity", "-Infinity", as json.loads gives them


_scan: Any = None


def loads(data: bytes | str) -> Any:
    """``json.loads(data)`` (UTF-8 when bytes); ValueError for anything but one JSON document."""
    global _scan
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if _scan is None:
        try:
            from _json import make_scanner
        except ImportError:
            import json

            return json.loads(text)
        _scan = make_scanner(_Decoding())  # type: ignore[arg-type]  # duck-typed: what it reads
    start = len(text) - len(text.lstrip(WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as exc:
        raise ValueError(f"Expecting value: char {exc.value}") from None
    if text[end:].strip(WHITESPACE):
        raise ValueError(f"Extra data: char {end}")
    return value


def string(text: str) -> str:
    """``json.dumps(text)``: the quoted, ASCII-escaped JSON string."""
    try:
        from _json import encode_basestring_ascii
    except ImportError:
        import json

        return json.dumps(text)
    return str(encode_basestring_ascii(text))
