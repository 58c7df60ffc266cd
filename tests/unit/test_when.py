"""postbot.when: times a person writes (`--at`, front-matter `at`) -> aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from postbot.errors import UserError
from postbot.when import (
    local_text,
    localize,
    order_for_language,
    parse_when,
    read_time,
    require_future,
)

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


# -- numeric dates in the configured order ---------------------------------------------------
# NOW is Thursday 2026-01-15, 13:00 in Berlin.


def _local(text: str, order: str | None = "DMY", now: datetime = NOW) -> datetime:
    return parse_when(text, BERLIN, now, order=order).astimezone(BERLIN).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("05.02.2027 08:00", "DMY", datetime(2027, 2, 5, 8, 0)),
        ("5.2.2027 8:00", "DMY", datetime(2027, 2, 5, 8, 0)),
        ("05.02.2027, 08:00", "DMY", datetime(2027, 2, 5, 8, 0)),
        ("05.02.2027 um 8 Uhr", "DMY", datetime(2027, 2, 5, 8, 0)),
        ("am 05.02.2027 um 8.30 Uhr", "DMY", datetime(2027, 2, 5, 8, 30)),
        ("05/02/2027 08:00", "DMY", datetime(2027, 2, 5, 8, 0)),  # British
        ("05-02-2027 08:00", "DMY", datetime(2027, 2, 5, 8, 0)),  # Dutch
        ("02/05/2027 8:00am", "MDY", datetime(2027, 2, 5, 8, 0)),  # American
        ("2/5/2027 8pm", "MDY", datetime(2027, 2, 5, 20, 0)),
        ("2027/02/05 08:00", "YMD", datetime(2027, 2, 5, 8, 0)),
        ("2027.02.05 08:00", "DMY", datetime(2027, 2, 5, 8, 0)),  # a year first is always YMD
        ("2027-2-5 8:00", None, datetime(2027, 2, 5, 8, 0)),
        ("13.05.2027 10:00", "DMY", datetime(2027, 5, 13, 10, 0)),
        ("08:00 05.02.2027", "DMY", datetime(2027, 2, 5, 8, 0)),  # time first
        ("05.02.2027 08:00:30", "DMY", datetime(2027, 2, 5, 8, 0, 30)),
    ],
)
def test_numeric_dates_in_the_configured_order(
    text: str, order: str | None, expected: datetime
) -> None:
    assert _local(text, order) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05.02. 08:00", datetime(2026, 2, 5, 8, 0)),  # the next 5 February
        ("5.2. 8:00", datetime(2026, 2, 5, 8, 0)),
        ("05.02 08:00", datetime(2026, 2, 5, 8, 0)),
        ("10.01. 08:00", datetime(2027, 1, 10, 8, 0)),  # 10 January has passed this year
        ("15.01. 18:00", datetime(2026, 1, 15, 18, 0)),  # today is such a day
        ("29.02. 10:00", datetime(2028, 2, 29, 10, 0)),  # the next leap year
    ],
)
def test_a_date_without_a_year_is_the_next_such_day(text: str, expected: datetime) -> None:
    assert _local(text) == expected


def test_a_date_without_a_year_earlier_today_is_in_the_past_not_next_year() -> None:
    # Typed on 15 January at 13:00, "15.01. 08:00" is a slip, not a post for next year.
    when = parse_when("15.01. 08:00", BERLIN, NOW, order="DMY")
    with pytest.raises(UserError, match="in the past"):
        require_future(when, NOW, "15.01. 08:00", BERLIN)


@pytest.mark.parametrize(
    "text", ["05.02.2027 08:00", "5.2.2027 8:00", "05.02. 08:00", "2/5/2027 8am", "12.12.2027 8:00"]
)
def test_numeric_dates_without_an_order_are_refused_not_guessed(text: str) -> None:
    with pytest.raises(UserError, match="could be day-first or month-first") as info:
        parse_when(text, BERLIN, NOW, order=None)
    assert "date_order" in str(info.value) and "YYYY-MM-DD" in str(info.value)


@pytest.mark.parametrize(
    ("text", "order", "message"),
    [
        ("05.13.2027 08:00", "DMY", "there is no month 13 (dates are read in the order DMY)"),
        ("12/25/2027 08:00", "DMY", "there is no month 25"),  # an American date, read DMY
        ("25/12/2027 08:00", "MDY", "there is no month 25"),
        ("31.02.2027 08:00", "DMY", "2027-02-31 does not exist"),
        ("29.02.2027 08:00", "DMY", "2027-02-29 does not exist"),
        ("05.02.27 08:00", "DMY", "write the year with four digits"),
        ("05.02.2027 08:00", "YMD", "year first"),
        ("2027-13-01 08:00", "DMY", "there is no month 13"),
        ("123.4.2027 08:00", "DMY", "is not a date"),
    ],
)
def test_impossible_or_ambiguous_numeric_dates_are_refused(
    text: str, order: str, message: str
) -> None:
    with pytest.raises(UserError, match="cannot understand") as info:
        parse_when(text, BERLIN, NOW, order=order)
    assert message in str(info.value)
    assert f"'{text}'" in str(info.value)


# -- German phrases -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("morgen 8 Uhr", datetime(2026, 1, 16, 8, 0)),
        ("morgen um 8", datetime(2026, 1, 16, 8, 0)),
        ("morgen um 8 Uhr", datetime(2026, 1, 16, 8, 0)),
        ("Morgen um 20 Uhr", datetime(2026, 1, 16, 20, 0)),
        ("morgen 8.30 Uhr", datetime(2026, 1, 16, 8, 30)),
        ("heute 17:30", datetime(2026, 1, 15, 17, 30)),
        ("heute um 17:30 Uhr", datetime(2026, 1, 15, 17, 30)),
        ("übermorgen 9:15", datetime(2026, 1, 17, 9, 15)),
        ("uebermorgen 9:15", datetime(2026, 1, 17, 9, 15)),
        ("Montag 7:30", datetime(2026, 1, 19, 7, 30)),
        ("am Montag um 7:30", datetime(2026, 1, 19, 7, 30)),
        ("nächsten Montag 7:30", datetime(2026, 1, 19, 7, 30)),
        ("kommenden Freitag um 9 Uhr", datetime(2026, 1, 16, 9, 0)),
        ("Mi. 12:00", datetime(2026, 1, 21, 12, 0)),
        ("So 10:00", datetime(2026, 1, 18, 10, 0)),
        ("20:00 am Montag", datetime(2026, 1, 19, 20, 0)),  # German "am": on
        ("5. Februar 2027 8:00", datetime(2027, 2, 5, 8, 0)),
        ("5. Februar 2027 um 8.30 Uhr", datetime(2027, 2, 5, 8, 30)),
        ("5. Feb. 8:00", datetime(2026, 2, 5, 8, 0)),
        ("1. März 2026 12:00", datetime(2026, 3, 1, 12, 0)),
        ("1. Maerz 2026 12:00", datetime(2026, 3, 1, 12, 0)),
        ("Freitag, 5. Februar 2027, 8:00", datetime(2027, 2, 5, 8, 0)),
        ("Freitag, 05.02.2027 8:00", datetime(2027, 2, 5, 8, 0)),
        ("in 2 Stunden", datetime(2026, 1, 15, 15, 0)),
        ("in 1 Tag und 2 Stunden", datetime(2026, 1, 16, 15, 0)),
        ("in 30 Minuten", datetime(2026, 1, 15, 13, 30)),
    ],
)
def test_german_phrases(text: str, expected: datetime) -> None:
    assert _local(text) == expected


# -- English phrases ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow 8:00", datetime(2026, 1, 16, 8, 0)),
        ("tomorrow at 8:00", datetime(2026, 1, 16, 8, 0)),
        ("tomorrow 8am", datetime(2026, 1, 16, 8, 0)),
        ("tomorrow at 8 am", datetime(2026, 1, 16, 8, 0)),
        ("tomorrow 8:15 p.m.", datetime(2026, 1, 16, 20, 15)),
        ("8:00 tomorrow", datetime(2026, 1, 16, 8, 0)),
        ("today 17:30", datetime(2026, 1, 15, 17, 30)),
        ("next monday 9am", datetime(2026, 1, 19, 9, 0)),
        ("next Monday at 9:30 am", datetime(2026, 1, 19, 9, 30)),
        ("monday 9am", datetime(2026, 1, 19, 9, 0)),
        ("on friday at 11pm", datetime(2026, 1, 16, 23, 0)),
        ("Wed 10:00", datetime(2026, 1, 21, 10, 0)),
        ("1 July 2026 08:00", datetime(2026, 7, 1, 8, 0)),
        ("July 1, 2026 9:15 pm", datetime(2026, 7, 1, 21, 15)),
        ("July 1st 2026 at 9am", datetime(2026, 7, 1, 9, 0)),
        ("Feb 5 8:00", datetime(2026, 2, 5, 8, 0)),
        ("Friday, February 5, 2027 8:00", datetime(2027, 2, 5, 8, 0)),
        ("tomorrow 12:00", datetime(2026, 1, 16, 12, 0)),
        ("tomorrow 00:00", datetime(2026, 1, 16, 0, 0)),
    ],
)
def test_english_phrases(text: str, expected: datetime) -> None:
    assert _local(text, order=None) == expected


def test_phrases_are_read_whatever_the_order() -> None:
    for order in (None, "DMY", "MDY", "YMD"):
        assert _local("morgen um 8", order) == datetime(2026, 1, 16, 8, 0)
        assert _local("next monday 9am", order) == datetime(2026, 1, 19, 9, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tomorrow 25:00", "there is no hour 25"),
        ("morgen 24:00", "there is no hour 24"),
        ("morgen 8:60", "there is no minute or second 60"),
        ("tomorrow 13pm", "there is no 13 pm"),
        ("tomorrow 12am", "12 am is easily misread"),
        ("tomorrow 12pm", "12 pm is easily misread"),
        ("morgen um 8 abends", "'abends' is not a day, date, time or zone"),
        ("morgen früh 8 Uhr", "'früh' is not a day, date, time or zone"),
        ("tomorrow at 8", "'at 8' could be morning or evening: write 8am, 8pm or 08:00"),
        ("tomorrow 8", "'8' is not a day, date, time or zone"),
        ("morgen 8", "'8' is not a day, date, time or zone"),
        ("next blursday 9am", "'next' must be followed by a weekday, not 'blursday'"),
        ("morgen Montag 8:00", "two days are given"),
        ("heute Morgen 8 Uhr", "two days are given"),  # "this morning": not guessed
        ("morgen 8:00 9:00", "the time of day is given twice"),
        ("Donnerstag 8:00", "Thursday is today"),  # NOW is a Thursday: this week or next?
        ("next thursday 8am", "Thursday is today"),
        ("Montag, 05.02.2027 8:00", "2027-02-05 is a Friday, not a Monday"),
        ("tomorrow 8:00 CET", "'CET' is not a day"),  # abbreviations are ambiguous (CST)
        ("tomorrow 8:00 Europe/Berln", "'Europe/Berln' is not a known time zone"),
        ("tomorrow 8:00 +25:00", "is not an offset from UTC"),
        ("um", "'um' must be followed by a time of day, not nothing"),
        ("at noon tomorrow", "'at' must be followed by a time of day, not 'noon'"),
        ("July 2026 8:00", "'July' needs a day"),
    ],
)
def test_partial_or_ambiguous_phrases_are_refused(text: str, message: str) -> None:
    with pytest.raises(UserError) as info:
        parse_when(text, BERLIN, NOW, order="DMY")
    assert str(info.value).startswith(f"cannot understand the time '{text}': ")
    assert message in str(info.value)


@pytest.mark.parametrize(
    "text", ["morgen", "tomorrow", "Montag", "next monday", "05.02.2027", "5. Februar 2027"]
)
def test_a_day_without_a_time_of_day_is_refused_naming_it(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_when(text, BERLIN, NOW, order="DMY")
    assert str(info.value) == f"'{text}' has no time of day: add one, e.g. '{text} 08:00'"


@pytest.mark.parametrize("text", ["2026-12-24", "20261224", "2026-W52-4"])
def test_an_iso_date_without_a_time_is_refused_not_midnight(text: str) -> None:
    with pytest.raises(UserError, match="has no time of day") as info:
        parse_when(text, BERLIN, NOW)
    assert f"'{text}'" in str(info.value)


@pytest.mark.parametrize("text", ["17:30", "8 Uhr", "um 8", "9am"])
def test_a_time_without_a_day_is_refused(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_when(text, BERLIN, NOW)
    assert str(info.value).startswith(f"'{text}' has no day: say which, e.g. 'heute {text}'")


# -- daylight saving on the days the clocks change ------------------------------------------------

SATURDAY_BEFORE_SPRING = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Berlin skips 02:00-03:00
SATURDAY_BEFORE_AUTUMN = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)  # Berlin repeats 02:00-03:00


def test_tomorrow_across_the_spring_switch_is_local_wall_time() -> None:
    assert parse_when("morgen 8 Uhr", BERLIN, SATURDAY_BEFORE_SPRING) == _utc(2026, 3, 29, 6, 0)
    assert parse_when("morgen 1:30", BERLIN, SATURDAY_BEFORE_SPRING) == _utc(2026, 3, 29, 0, 30)


@pytest.mark.parametrize("text", ["morgen 2:30", "tomorrow 2:30am", "Sonntag um 2.30 Uhr"])
def test_a_phrase_in_the_spring_gap_is_refused(text: str) -> None:
    with pytest.raises(UserError, match="does not exist in Europe/Berlin") as info:
        parse_when(text, BERLIN, SATURDAY_BEFORE_SPRING)
    assert f"'{text}'" in str(info.value)


@pytest.mark.parametrize("text", ["morgen 2:30", "tomorrow 2:30am", "25.10.2026 02:30"])
def test_a_phrase_in_the_autumn_repeat_is_refused_with_both_readings(text: str) -> None:
    with pytest.raises(UserError, match="exists twice") as info:
        parse_when(text, BERLIN, SATURDAY_BEFORE_AUTUMN, order="DMY")
    assert "2026-10-25T02:30:00+02:00" in str(info.value)
    assert "2026-10-25T02:30:00+01:00" in str(info.value)


def test_the_repeated_hour_with_an_offset_is_exact() -> None:
    now = SATURDAY_BEFORE_AUTUMN
    assert parse_when("morgen 2:30 +02:00", BERLIN, now) == _utc(2026, 10, 25, 0, 30)
    assert parse_when("morgen 2:30 +01:00", BERLIN, now) == _utc(2026, 10, 25, 1, 30)


def test_day_words_count_in_the_configured_zone() -> None:
    # 23:30 UTC on 15 January is already 16 January in Berlin: "morgen" is the 17th.
    late = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
    assert parse_when("morgen 8 Uhr", BERLIN, late) == _utc(2026, 1, 17, 7, 0)
    assert parse_when("tomorrow 8:00", UTC, late) == _utc(2026, 1, 16, 8, 0)


def test_day_words_count_in_a_zone_the_phrase_names() -> None:
    # 23:30 UTC: in New York it is still the 15th, so "tomorrow" there is the 16th.
    late = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
    assert parse_when("tomorrow 8:00 America/New_York", BERLIN, late) == _utc(2026, 1, 16, 13, 0)


# -- what reads as relative (post files refuse it) --------------------------------------------


@pytest.mark.parametrize(
    ("text", "relative"),
    [
        ("+2h", True),
        ("in 30 minutes", True),
        ("tomorrow 9:00", True),
        ("Montag 7:30", True),
        ("05.02. 08:00", True),
        ("5. Feb 8:00", True),
        ("05.02.2027 08:00", False),
        ("5. Februar 2027 8:00", False),
        ("2026-12-01 08:00", False),
        ("2026-12-01T08:00+01:00", False),
    ],
)
def test_read_time_says_whether_a_time_is_relative(text: str, relative: bool) -> None:
    assert read_time(text, BERLIN, NOW, order="DMY").relative is relative


# -- orders by language, and how people see times -------------------------------------------------


@pytest.mark.parametrize(
    ("language", "order"),
    [
        ("de", "DMY"), ("de-CH", "DMY"), ("DE", "DMY"), ("en-US", "MDY"), ("en_US", "MDY"),
        ("en-GB", "DMY"), ("en", None), ("en-CA", None), ("fr", "DMY"), ("ja", "YMD"),
        ("xx", None), (None, None),
    ],
)  # fmt: skip
def test_order_for_language(language: str | None, order: str | None) -> None:
    assert order_for_language(language) == order


def test_past_times_are_shown_in_the_zone_to_the_second() -> None:
    past = datetime(2026, 1, 15, 11, 59, 30, 123456, tzinfo=UTC)
    with pytest.raises(UserError) as info:
        require_future(past, NOW, "heute 12:59:30", BERLIN)
    assert str(info.value) == (
        "time 'heute 12:59:30' is in the past (2026-01-15 12:59:30 CET); use --now to post now"
    )


def test_local_text_is_to_the_second_with_the_zone() -> None:
    assert local_text(datetime(2026, 7, 1, 6, 0, 0, 999999, tzinfo=UTC), BERLIN) == (
        "2026-07-01 08:00:00 CEST"
    )


def test_when_does_not_import_dateparser() -> None:
    import subprocess
    import sys

    code = "import postbot.when, sys; print('dateparser' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
