"""Posting slots: the strict grammar, the times they stand for, and DST weeks."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from postbot.slots import Schedule, parse_slot, parse_slots, wall_clock, week_end, week_start

BERLIN = ZoneInfo("Europe/Berlin")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("text", "days", "at"),
    [
        ("mon-fri 07:30", {0, 1, 2, 3, 4}, time(7, 30)),
        ("sat 10:00", {5}, time(10, 0)),
        ("Mon,WED,fri 7:05", {0, 2, 4}, time(7, 5)),
        ("mon-tue,sat-sun 23:59", {0, 1, 5, 6}, time(23, 59)),
        ("daily 0:00", set(range(7)), time(0, 0)),
    ],
)
def test_slots_are_read_exactly(text: str, days: set[int], at: time) -> None:
    slot = parse_slot(text)
    assert (set(slot.days), slot.at) == (days, at)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("mon", "is not understood"),
        ("mon 7", "'7' is not a time of day"),
        ("mon 24:00", "'24:00' is not a time of day"),
        ("mon 7:3", "is not a time of day"),
        ("mon 7:30pm", "is not a time of day"),
        ("mo 07:30", "'mo' is not a day"),
        ("fri-mon 07:30", "runs backwards"),
        ("mon-fri-sat 07:30", "is not a day or a range"),
        ("monday 07:30", "'monday' is not a day"),
        ("mon 07:30 08:00", "is not understood"),
    ],
)
def test_anything_else_is_refused_saying_how_to_write_it(text: str, says: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_slot(text)
    assert says in str(refused.value)
    assert 'write slots as "DAYS HH:MM"' in str(refused.value)


def test_a_slot_given_twice_or_overlapping_is_refused() -> None:
    with pytest.raises(ValueError, match="both hold mon 07:30"):
        parse_slots(["mon-fri 07:30", "mon 07:30"])
    with pytest.raises(ValueError, match="given twice"):
        parse_slots(["sat 10:00", "sat 10:00"])
    with pytest.raises(ValueError, match="is empty"):
        parse_slots([])


def test_the_next_slots_in_order() -> None:
    schedule = Schedule(parse_slots(["mon-fri 07:30", "mon-fri 12:00", "sat 10:00"]), BERLIN)
    after = local(2026, 12, 4, 12, 0)  # Friday noon: that slot is not "after"
    times = schedule.after(after.astimezone(UTC))
    assert [next(times).astimezone(BERLIN) for _ in range(3)] == [
        local(2026, 12, 5, 10, 0), local(2026, 12, 7, 7, 30), local(2026, 12, 7, 12, 0),
    ]  # fmt: skip


def test_slots_keep_wall_clock_time_across_the_spring_change() -> None:
    schedule = Schedule(parse_slots(["mon-fri 07:30"]), BERLIN)
    week = schedule.between(local(2026, 3, 23).astimezone(UTC), local(2026, 4, 4).astimezone(UTC))
    assert {t.astimezone(BERLIN).time() for t in week} == {time(7, 30)}
    # The Monday after the clocks change (29 March 2026): 07:30 local is 05:30 UTC, not 06:30.
    assert datetime(2026, 3, 30, 5, 30, tzinfo=UTC) in week
    assert datetime(2026, 3, 27, 6, 30, tzinfo=UTC) in week


def test_slots_keep_wall_clock_time_across_the_autumn_change() -> None:
    schedule = Schedule(parse_slots(["mon 07:30"]), BERLIN)
    times = schedule.after(datetime(2026, 10, 19, 5, 0, tzinfo=UTC))
    assert [next(times) for _ in range(2)] == [
        datetime(2026, 10, 19, 5, 30, tzinfo=UTC), datetime(2026, 10, 26, 6, 30, tzinfo=UTC)
    ]  # fmt: skip


def test_a_slot_in_the_skipped_hour_is_taken_after_the_skip() -> None:
    # 02:30 does not exist on 29 March 2026 in Berlin: the slot is 03:30 CEST (01:30 UTC).
    assert wall_clock(local(2026, 3, 29).date(), time(2, 30), BERLIN) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )


def test_a_slot_in_the_repeated_hour_is_the_first_one() -> None:
    # 02:30 happens twice on 25 October 2026: the first, summer time (00:30 UTC).
    assert wall_clock(local(2026, 10, 25).date(), time(2, 30), BERLIN) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    schedule = Schedule(parse_slots(["sun 02:30"]), BERLIN)
    got = schedule.between(local(2026, 10, 24).astimezone(UTC), local(2026, 10, 26).astimezone(UTC))
    assert got == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]  # once, not twice


def test_a_dst_week_is_monday_to_monday_local() -> None:
    start = week_start(local(2026, 3, 25, 12, 0), BERLIN)
    end = week_end(start, BERLIN)
    assert start.astimezone(BERLIN) == local(2026, 3, 23)
    assert end.astimezone(BERLIN) == local(2026, 3, 30)
    assert (end - start).total_seconds() == 167 * 3600
    assert week_start(local(2026, 3, 25), BERLIN, 1) == end


def test_slot_of_names_the_slot_an_instant_stands_for() -> None:
    schedule = Schedule(parse_slots(["mon-fri 07:30", "sat 10:00"]), BERLIN)
    assert schedule.slot_of(local(2026, 12, 5, 10, 0)).text == "sat 10:00"  # type: ignore[union-attr]
    assert schedule.slot_of(local(2026, 12, 5, 10, 1)) is None
