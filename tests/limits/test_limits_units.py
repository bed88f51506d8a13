"""Sizes and durations: every accepted form and every rejection (SPEC §3)."""

from __future__ import annotations

import pytest

from ds01.limits.units import (
    DURATION_FORMS,
    SIZE_FORMS,
    LimitsValueError,
    format_duration,
    format_size,
    parse_duration,
    parse_size,
)

K, M, G, T = 1024, 1024**2, 1024**3, 1024**4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512m", 512 * M),
        ("32g", 32 * G),
        ("32G", 32 * G),
        ("1t", T),
        ("64k", 64 * K),
        ("100b", 100),
        ("1.5g", 1536 * M),
        ("512mb", 512 * M),
        ("2GiB", 2 * G),
        (" 8g ", 8 * G),
        ("0m", 0),
    ],
)
def test_parse_size_forms(text: str, expected: int) -> None:
    assert parse_size(text, key="memory") == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (48, "bare number"),
        ("48", "bare number"),
        (1.5, "bare number"),
        ("-1g", "negative"),
        ("32x", "no known size unit"),
        ("g", "no known size unit"),
        ("", "no known size unit"),
        (True, "not a size"),
        (None, "not a size"),
        (["32g"], "not a size"),
    ],
)
def test_parse_size_rejections_name_key_and_forms(value: object, reason: str) -> None:
    with pytest.raises(LimitsValueError) as info:
        parse_size(value, key="groups.student.memory")
    err = info.value
    assert err.key == "groups.student.memory"
    assert err.value == value
    assert err.accepted == SIZE_FORMS
    assert reason in err.reason
    assert "groups.student.memory" in str(err) and "32g" in str(err)
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", 1800),
        ("0.5h", 1800),
        ("48h", 48 * 3600),
        ("2d", 2 * 86400),
        ("1h30m", 5400),
        ("1H30M", 5400),
        ("45s", 45),
        ("1w", 7 * 86400),
        ("1d12h", 36 * 3600),
        ("1.5d", 36 * 3600),
        ("0.5s", 1),
        ("1h 30m", 5400),
    ],
)
def test_parse_duration_forms(text: str, expected: int) -> None:
    assert parse_duration(text, key="max_runtime") == expected


def test_half_hour_is_not_five_hours() -> None:
    assert parse_duration("0.5h", key="idle_timeout") == 1800 != 5 * 3600


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (48, "bare number"),
        ("48", "bare number"),
        ("0.5", "bare number"),
        ("-1h", "negative"),
        ("5y", "no known duration unit"),
        ("h", "no known duration unit"),
        ("1h30", "no known duration unit"),
        ("1h1h", "repeats the unit"),
        (False, "not a duration"),
    ],
)
def test_parse_duration_rejections(value: object, reason: str) -> None:
    with pytest.raises(LimitsValueError) as info:
        parse_duration(value, key="defaults.max_runtime")
    assert info.value.key == "defaults.max_runtime"
    assert info.value.accepted == DURATION_FORMS
    assert reason in info.value.reason


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (32 * G, "32g"),
        (34359738368, "32g"),
        (T, "1t"),
        (512 * M, "512m"),
        (1536 * M, "1536m"),
        (64 * K, "64k"),
        (100, "100b"),
        (0, "0b"),
    ],
)
def test_format_size(n: int, text: str) -> None:
    assert format_size(n) == text
    assert parse_size(text, key="k") == n


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5400, "1h30m"), (1800, "30m"), (172800, "2d"), (0, "0s"), (45, "45s"), (90061, "1d1h1m1s")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text, key="k") == seconds


def test_format_refuses_negative() -> None:
    with pytest.raises(ValueError):
        format_size(-1)
    with pytest.raises(ValueError):
        format_duration(-1)
