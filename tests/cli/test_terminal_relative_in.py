"""One human relative-time wording, at most two units, in every table column that says when
something happens (HELD UNTIL, KEEP-ALIVE, STOP IN, WARN IN): `in 2d23h`, `in 59m`, `5m ago`."""

from __future__ import annotations

import pytest

from ds01.terminal import relative, relative_in


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (0, "now"),
        (29, "now"),
        (45, "in 45s"),
        (59 * 60 + 59, "in 59m"),
        (3600, "in 1h"),
        (2 * 3600 + 59 * 60 + 59, "in 2h59m"),
        (86400 + 23 * 3600 + 59 * 60 + 59, "in 1d23h"),
        (2 * 86400 + 23 * 3600 + 59 * 60 + 59, "in 2d23h"),
        (86400 + 5 * 60, "in 1d"),
        (-300, "5m ago"),
        (-(3 * 86400 + 7200 + 59), "3d2h ago"),
    ],
)
def test_relative_in_has_at_most_two_units(seconds, shown):
    assert relative_in(seconds) == shown
    if seconds is not None:
        assert relative(1_800_000_000.0 + seconds, 1_800_000_000.0) == shown


@pytest.mark.parametrize(
    ("lim", "shown"),
    [
        ({"stop_in_seconds": None, "idle_stop_at": None, "runtime_stop_at": None}, "-"),
        (
            {
                "stop_in_seconds": 2 * 86400 + 23 * 3600 + 3599,
                "idle_stop_at": None,
                "runtime_stop_at": "2030-01-03T00:00:00Z",
            },
            "in 2d23h (runtime)",
        ),
        (
            {
                "stop_in_seconds": 3599,
                "idle_stop_at": "2030-01-01T01:00:00Z",
                "runtime_stop_at": "2030-01-03T00:00:00Z",
            },
            "in 59m (idle)",
        ),
        ({"stop_in_seconds": 0, "idle_stop_at": "2030-01-01T00:00:00Z", "runtime_stop_at": None}, "now (idle)"),
    ],
)
def test_container_list_stop_in_column(lim, shown):
    from ds01.cli.listings import _stop_in

    assert _stop_in(lim) == shown
