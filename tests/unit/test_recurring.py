"""Recurring posts: the `every:` grammar and the next occurrence, DST included."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from postbot.recurring import next_occurrence, parse_every

BERLIN = ZoneInfo("Europe/Berlin")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("rule", "after", "expected"),
    [
        ("mon 09:00", local(2026, 12, 2, 2, 0), local(2026, 12, 7, 9, 0)),
        ("mon 09:00", local(2026, 12, 7, 9, 0), local(2026, 12, 14, 9, 0)),  # strictly after
        ("mon-fri 07:30", local(2026, 12, 4, 8, 0), local(2026, 12, 7, 7, 30)),
        ("1st of month 08:00", local(2026, 12, 2, 2, 0), local(2027, 1, 1, 8, 0)),
        ("31st of month 08:00", local(2027, 2, 1, 0, 0), local(2027, 3, 31, 8, 0)),  # no 31 Feb
        ("30 7 * * mon-fri", local(2026, 12, 5, 0, 0), local(2026, 12, 7, 7, 30)),
        ("0 9 * * 0", local(2026, 12, 2, 0, 0), local(2026, 12, 6, 9, 0)),  # 0: Sunday
        ("0 9 * * 7", local(2026, 12, 2, 0, 0), local(2026, 12, 6, 9, 0)),  # 7: Sunday
        ("*/20 8-9 * * *", local(2026, 12, 2, 8, 5), local(2026, 12, 2, 8, 20)),
        ("0 8 13 * 5", local(2026, 12, 2, 0, 0), local(2026, 12, 4, 8, 0)),  # 13th OR Friday
        ("0 12 1 jan,jul *", local(2026, 12, 2, 0, 0), local(2027, 1, 1, 12, 0)),
    ],
)
def test_the_next_occurrence(rule: str, after: datetime, expected: datetime) -> None:
    assert parse_every(rule).after(after.astimezone(UTC), BERLIN) == expected.astimezone(UTC)


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("mon", "is not understood"),
        ("weekly", "is not understood"),
        ("2st of month 08:00", "write 2nd, not 2st"),
        ("32nd of month 08:00", "a month has no day 32"),
        ("61 * * * *", "cron minute: '61' is not a number 0-59"),
        ("* * * * 8", "cron day of week: '8'"),
        ("0 8 * * fri-mon", "runs backwards"),
        ("0 8 * foo *", "cron month: 'foo'"),
        ("*/0 * * * *", "bad step"),
        ("", "is not a rule"),
    ],
)
def test_anything_else_is_refused_saying_how_to_write_it(rule: str, says: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_every(rule)
    assert says in str(refused.value)
    assert "write every as" in str(refused.value)


def test_occurrences_keep_wall_clock_time_across_dst() -> None:
    rule = parse_every("mon 07:30")
    before = rule.after(local(2026, 3, 23, 0, 0).astimezone(UTC), BERLIN)
    after = rule.after(local(2026, 3, 24, 0, 0).astimezone(UTC), BERLIN)
    assert before == datetime(2026, 3, 23, 6, 30, tzinfo=UTC)  # CET
    assert after == datetime(2026, 3, 30, 5, 30, tzinfo=UTC)  # CEST: still 07:30 local


def test_until_ends_the_series_inclusive() -> None:
    rule = parse_every("mon 09:00")
    until = local(2026, 12, 7, 9, 0).astimezone(UTC)
    assert next_occurrence(rule, BERLIN, local(2026, 12, 2).astimezone(UTC), until) == until
    assert next_occurrence(rule, BERLIN, until, until) is None


def test_a_rule_that_never_occurs_has_no_next_occurrence() -> None:
    assert parse_every("0 0 31 2 *").after(datetime(2026, 1, 1, tzinfo=UTC), BERLIN) is None
