"""Times through the CLI: understood exactly as a German (or English) newsroom writes them, or
refused in one line with the database unchanged. Each case stands for a class of inputs.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support import DRY_CONFIG, assert_refused, make_project, postbot_json

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("bad-times"))  # language "de": DMY
    # English without a region: nobody can say whether 05.02. is 5 February or 2 May.
    (root / "config" / "en.toml").write_text(
        DRY_CONFIG.replace('language = "de"', 'language = "en"'), encoding="utf-8"
    )
    (root / "config" / "ymd.toml").write_text(
        DRY_CONFIG.replace('language = "de"', 'language = "de"\ndate_order = "YMD"'),
        encoding="utf-8",
    )
    assert postbot_json(root, "enqueue", "Schon da", "--at", "+1d")["id"] == 1
    return root


def _enqueue(*args: str) -> list[str]:
    return ["enqueue", "Text", "--to", "mastodon", *args]


EN = ["--config", "config/en.toml"]
YMD = ["--config", "config/ymd.toml"]

# (arguments, a part of the one-line message)
REFUSED = {
    # 1. numeric dates: ambiguous without an order, impossible in the order configured
    "day or month first, en": (
        [*EN, *_enqueue("--at", "05.02.2027 08:00")],
        "'05.02.2027' could be day-first or month-first: set date_order",
    ),
    "day or month first without year, en": (
        [*EN, *_enqueue("--at", "05.02. 08:00")],
        "could be day-first or month-first",
    ),
    "slashes, en": ([*EN, *_enqueue("--at", "2/5/2027 8am")], "could be day-first"),
    "month 13, de": pytest.param(
        _enqueue("--at", "05.13.2027 08:00"),
        "there is no month 13 (dates are read in the order DMY)",
    ),
    "an American date, de": pytest.param(
        _enqueue("--at", "12/25/2027 08:00"), "there is no month 25"
    ),
    "31 February, de": pytest.param(
        _enqueue("--at", "31.02.2027 08:00"), "2027-02-31 does not exist"
    ),
    "two-digit year, de": pytest.param(_enqueue("--at", "05.02.27 08:00"), "four digits"),
    "day first, YMD": pytest.param([*YMD, *_enqueue("--at", "05.02.2027 08:00")], "year first"),
    # 2. partial parses: every word must be understood
    "hour 25": (_enqueue("--at", "tomorrow 25:00"), "there is no hour 25"),
    "minute 75": (_enqueue("--at", "morgen 8:75"), "there is no minute or second 75"),
    "an unknown word": (_enqueue("--at", "morgen um 8 abends"), "'abends' is not a day"),
    "morning": (_enqueue("--at", "morgen früh 8 Uhr"), "'früh' is not a day"),
    "at 8, English": (_enqueue("--at", "tomorrow at 8"), "could be morning or evening"),
    "a bare number": (_enqueue("--at", "morgen 8"), "'8' is not a day"),
    "next blursday": (_enqueue("--at", "next blursday 9am"), "'blursday'"),
    "two days": (_enqueue("--at", "morgen Montag 8:00"), "two days are given"),
    "12am": (_enqueue("--at", "tomorrow 12am"), "12 am is easily misread"),
    "a zone abbreviation": (_enqueue("--at", "tomorrow 8:00 CEST"), "'CEST'"),
    "from now": (_enqueue("--at", "10 minutes from now"), "cannot understand the time"),
    # 3. empty values
    "empty": pytest.param(_enqueue("--at", ""), "empty time"),
    "blank": (_enqueue("--at", "   "), "empty time"),
    "empty reschedule": (["reschedule", "1", "--at", ""], "empty time"),
    # 4. a day without a time of day, a time without a day
    "ISO date": (_enqueue("--at", "2026-12-24"), "'2026-12-24' has no time of day"),
    "German date": pytest.param(_enqueue("--at", "24.12.2027"), "has no time of day"),
    "day word": (_enqueue("--at", "morgen"), "'morgen' has no time of day"),
    "weekday": (_enqueue("--at", "next monday"), "has no time of day"),
    "reschedule to a date": (["reschedule", "1", "--at", "2027-12-24"], "has no time of day"),
    "a time alone": (_enqueue("--at", "17:30"), "'17:30' has no day"),
    # 6. times people read: in the configured zone, to the second
    "past, shown in the zone": pytest.param(
        _enqueue("--at", "2020-01-01T10:00:00.123456+01:00"),
        "is in the past (2020-01-01 10:00:00 CET)",
    ),
}


@pytest.mark.parametrize(("args", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_bad_times_are_refused(project: Path, args: list[str], message: str) -> None:
    assert message in assert_refused(project, *args)


def _due(project: Path, at: str, *config: str) -> datetime:
    # One text queued again and again, on purpose: the duplicate guard is not what is tested.
    post = postbot_json(project, *config, "enqueue", "Text", "--to", "mastodon", "--at", at,
                        "--allow-duplicate")  # fmt: skip
    [delivery] = post["deliveries"]
    return datetime.fromisoformat(delivery["due_at"].replace("Z", "+00:00"))


def _local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def _next_5_february(hour: int) -> set[datetime]:
    today = datetime.now(BERLIN).date()
    this_year = _local(today.year, 2, 5, hour)
    return {this_year if this_year > datetime.now(UTC) else _local(today.year + 1, 2, 5, hour)}


@pytest.mark.parametrize(
    "at",
    [
        pytest.param("05.02.2027 08:00"),
        pytest.param("5.2.2027 8:00"),
        pytest.param("05.02.2027, 8 Uhr"),
        "5. Februar 2027 um 8 Uhr",
        "Freitag, 5. Februar 2027, 8:00",
    ],
)
def test_german_dates_are_read_day_first(project: Path, at: str) -> None:
    assert _due(project, at) == _local(2027, 2, 5, 8)


def test_a_past_time_is_shown_to_the_second(project: Path) -> None:
    message = assert_refused(project, *_enqueue("--at", "2020-01-01T10:00:00.123456+01:00"))
    shown = message.split("is in the past (", 1)[1].split(")", 1)[0]
    assert re.fullmatch(r"2020-01-01 \d\d:00:00 [A-Z]+", shown), shown  # no microseconds


def test_a_german_date_without_year_is_the_next_5_february(project: Path) -> None:
    assert _due(project, "05.02. 08:00") in _next_5_february(8)


def test_an_iso_date_is_read_year_first_even_in_english(project: Path) -> None:
    assert _due(project, "2027-02-05 08:00", *EN) == _local(2027, 2, 5, 8)


def _days_ahead(days: int) -> set[date]:
    """Today's date in Berlin plus `days`, before and after the call (midnight may pass)."""
    return {datetime.now(BERLIN).date() + timedelta(days=days)}


@pytest.mark.parametrize(
    ("at", "days", "hour", "minute"),
    [
        ("morgen um 8", 1, 8, 0),
        ("morgen 8 Uhr", 1, 8, 0),
        ("übermorgen 9:15", 2, 9, 15),
        ("tomorrow 8:00", 1, 8, 0),
        ("tomorrow at 8:30pm", 1, 20, 30),
    ],
)
def test_phrases_are_stored_at_the_time_they_say(
    project: Path, at: str, days: int, hour: int, minute: int
) -> None:
    before = _days_ahead(days)
    due = _due(project, at).astimezone(BERLIN)
    assert due.date() in before | _days_ahead(days)
    assert (due.hour, due.minute, due.second) == (hour, minute, 0)


def test_weekdays_are_the_coming_one(project: Path) -> None:
    today = datetime.now(BERLIN).date()
    # Pick a weekday that is not today: a weekday that is today is refused (this week's or
    # next week's?), as the unit tests show.
    target = (today.weekday() + 2) % 7
    names = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
    due = _due(project, f"{names[target]} 7:30").astimezone(BERLIN)
    assert due.weekday() == target and 1 <= (due.date() - today).days <= 6
    assert (due.hour, due.minute) == (7, 30)
    english = _due(project, f"next {date(2024, 1, 1 + target).strftime('%A')} 9am")
    assert english.astimezone(BERLIN).date() == due.date()
