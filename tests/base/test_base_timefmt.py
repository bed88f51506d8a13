"""The one timestamp form: ISO 8601, UTC, a Z, whole seconds."""

from datetime import UTC, datetime, timedelta, timezone

from ds01 import timefmt


def test_unix_times_datetimes_and_none():
    assert timefmt.iso(0) == "1970-01-01T00:00:00Z"
    assert timefmt.iso(1_700_000_000.9) == "2023-11-14T22:13:20Z"
    assert timefmt.iso(datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))) == "2026-03-01T12:00:00Z"
    assert timefmt.iso(None) is None
    now = datetime.strptime(timefmt.now_iso(), timefmt.FORMAT).replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5
