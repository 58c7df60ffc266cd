"""postbot.when: times a person writes (`--at`, front-matter `at`) -> aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from postbot.errors import UserError
from postbot.when import localize, parse_when, require_future

BERLIN = ZoneInfo("Europe/Berlin")
# 2026-01-15 13:00 in Berlin (winter, +01:00).
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _parse(text: str) -> datetime:
    result = parse_when(text, BERLIN, NOW)
    assert result.tzinfo is UTC, f"{text!r} gave {result!r}, not aware UTC"
    return result


# -- ISO 8601 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T08:00:00+01:00", _utc(2026, 12, 1, 7, 0)),
        ("2026-12-01T08:00+05:30", _utc(2026, 12, 1, 2, 30)),
        ("2026-07-01T08:00:00-04:00", _utc(2026, 7, 1, 12, 0)),
        ("2026-12-01T07:00Z", _utc(2026, 12, 1, 7, 0)),
        ("2026-12-01T07:00:00Z", _utc(2026, 12, 1, 7, 0)),
        ("  2026-12-01T07:00Z  ", _utc(2026, 12, 1, 7, 0)),
    ],
)
def test_iso_with_offset_or_z(text: str, expected: datetime) -> None:
    assert _parse(text) == expected


def test_local_time_in_winter_is_plus_one() -> None:
    assert _parse("2026-12-01 08:00") == _utc(2026, 12, 1, 7, 0)
    assert _parse("2026-12-01T08:00:00") == _utc(2026, 12, 1, 7, 0)


def test_local_time_in_summer_is_plus_two() -> None:
    assert _parse("2026-07-01 08:00") == _utc(2026, 7, 1, 6, 0)


def test_local_times_just_around_the_dst_switches() -> None:
    assert _parse("2026-03-29 01:59") == _utc(2026, 3, 29, 0, 59)  # still +01:00
    assert _parse("2026-03-29 03:00") == _utc(2026, 3, 29, 1, 0)  # already +02:00
    assert _parse("2026-10-25 01:59") == _utc(2026, 10, 24, 23, 59)  # still +02:00
    assert _parse("2026-10-25 03:00") == _utc(2026, 10, 25, 2, 0)  # back to +01:00


def test_spring_forward_gap_does_not_exist() -> None:
    with pytest.raises(UserError, match="does not exist") as info:
        parse_when("2026-03-29 02:30", BERLIN, NOW)
    assert "'2026-03-29 02:30'" in str(info.value)
    assert "Europe/Berlin" in str(info.value)


def test_fall_back_hour_exists_twice_and_offset_disambiguates() -> None:
    with pytest.raises(UserError, match="exists twice") as info:
        parse_when("2026-10-25 02:30", BERLIN, NOW)
    # The message offers both readings so the user can pick one.
    assert "2026-10-25T02:30:00+02:00" in str(info.value)
    assert "2026-10-25T02:30:00+01:00" in str(info.value)
    assert _parse("2026-10-25T02:30+02:00") == _utc(2026, 10, 25, 0, 30)
    assert _parse("2026-10-25T02:30+01:00") == _utc(2026, 10, 25, 1, 30)


def test_localize_directly() -> None:
    assert localize(datetime(2026, 12, 1, 8, 0), BERLIN) == _utc(2026, 12, 1, 7, 0)
    with pytest.raises(UserError, match="does not exist"):
        localize(datetime(2026, 3, 29, 2, 30), BERLIN)
    with pytest.raises(UserError, match="exists twice"):
        localize(datetime(2026, 10, 25, 2, 30), BERLIN)


def test_localize_in_utc_zone_never_refuses() -> None:
    assert localize(datetime(2026, 3, 29, 2, 30), UTC) == _utc(2026, 3, 29, 2, 30)


# -- relative ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("+2h", timedelta(hours=2)),
        ("+1h30m", timedelta(hours=1, minutes=30)),
        ("+90s", timedelta(seconds=90)),
        ("+2H", timedelta(hours=2)),
        ("+ 2 hours", timedelta(hours=2)),
        ("in 30 minutes", timedelta(minutes=30)),
        ("in 2 hours", timedelta(hours=2)),
        ("in 1 day", timedelta(days=1)),
        ("in 2 weeks", timedelta(weeks=2)),
        ("in 2 hours and 30 minutes", timedelta(hours=2, minutes=30)),
        ("In 1 Day", timedelta(days=1)),
    ],
)
def test_relative_to_now(text: str, delta: timedelta) -> None:
    assert _parse(text) == NOW + delta


def test_relative_crosses_dst_in_real_time() -> None:
    # Relative times are elapsed time: 24 hours before the spring switch is 24 real hours later.
    now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert parse_when("in 1 day", BERLIN, now) == datetime(2026, 3, 29, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["+3x", "in 3 fortnights", "+2h 5y"])
def test_unknown_unit_is_refused_naming_it(text: str) -> None:
    with pytest.raises(UserError, match="unknown time unit") as info:
        parse_when(text, BERLIN, NOW)
    assert f"'{text}'" in str(info.value)


@pytest.mark.parametrize("text", ["+5", "in 5", "+ 10"])
def test_number_without_unit_is_refused(text: str) -> None:
    # Not guessed (dateparser would read 'in 5' as May): the user must say what 5 is.
    with pytest.raises(UserError, match="missing time unit"):
        parse_when(text, BERLIN, NOW)


# -- natural language ----------------------------------------------------------------------


def test_natural_language_is_local_time() -> None:
    assert _parse("tomorrow 8:00") == _utc(2026, 1, 16, 7, 0)
    assert _parse("1 July 2026 08:00") == _utc(2026, 7, 1, 6, 0)


def test_natural_language_keeps_a_zone_it_names() -> None:
    assert _parse("tomorrow 8:00 UTC") == _utc(2026, 1, 16, 8, 0)
    assert _parse("tomorrow 08:00 +05:00") == _utc(2026, 1, 16, 3, 0)
    assert _parse("2026-12-01 08:00 +01:00") == _utc(2026, 12, 1, 7, 0)


@pytest.mark.parametrize("text", ["next blursday", "blah 5", "soon-ish"])
def test_garbage_cannot_be_understood(text: str) -> None:
    with pytest.raises(UserError, match="cannot understand") as info:
        parse_when(text, BERLIN, NOW)
    assert f"'{text}'" in str(info.value)


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_is_refused(text: str) -> None:
    with pytest.raises(UserError, match="empty time"):
        parse_when(text, BERLIN, NOW)


# -- require_future ------------------------------------------------------------------------


def test_require_future_refuses_the_past() -> None:
    past = _parse("2026-01-15 12:59")  # 11:59 UTC, a minute before NOW
    with pytest.raises(UserError, match="in the past") as info:
        require_future(past, NOW, "2026-01-15 12:59")
    assert "'2026-01-15 12:59'" in str(info.value)


def test_require_future_accepts_now_and_later() -> None:
    assert require_future(NOW, NOW, "now") == NOW
    later = _parse("+1m")
    assert require_future(later, NOW, "+1m") == later
