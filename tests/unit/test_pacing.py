"""Pacing: durations and paces as written, the budget arithmetic, why a delivery waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postbot.domain import Account, Delivery, NextSend, PaceState, Status, Wait, WaitReason
from postbot.errors import ConfigError
from postbot.pacing import (
    Pace,
    describe_period,
    max_lateness_of,
    next_send,
    pace_after,
    pace_of,
    pace_room,
    pace_state,
    paces_of,
    parse_duration,
    wait_of,
)

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("1.5", 1.5), ("30m", 1800), ("2h", 7200), ("1d", 86400),
     (" 3 H ", 10800)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "x") == s(seconds)


@pytest.mark.parametrize("text", ["", "2 hours", "h", "-1h", "1w", "1h30m"])
def test_a_duration_that_is_not_one_is_refused_naming_where(text: str) -> None:
    with pytest.raises(ConfigError, match=r"accounts\.x\.max_lateness: .* is not a duration"):
        parse_duration(text, "accounts.x.max_lateness")


def test_paces() -> None:
    assert Pace.parse("300/3h", "w") == Pace(300, s(3 * 3600))
    assert Pace.parse(" OFF ", "w") is None
    assert str(Pace(17, timedelta(hours=24))) == "17/1d"
    assert str(Pace(10, HOUR)) == "10/1h"
    assert describe_period(s(90)) == "90s" and describe_period(s(120)) == "2m"
    for bad in ("300", "0/1h", "lots", "/3h", "x/3h"):
        with pytest.raises(ConfigError, match="must look like '300/3h' or 'off'"):
            Pace.parse(bad, "accounts.x.pace")


def test_an_accounts_pace_defaults_to_its_platforms_limit() -> None:
    x = Account("x", "x")
    assert pace_of(x) == Pace(17, timedelta(hours=24))
    assert pace_of(Account("m", "mastodon", "https://m.example")) == Pace(300, s(3 * 3600))
    assert pace_of(Account("x", "x", options={"pace": "off"})) is None
    assert pace_of(Account("d", "dryrun")) is None  # a dry-run account has no limit to keep
    assert paces_of([x, Account("d", "dryrun")]) == {"x": Pace(17, timedelta(hours=24))}
    assert max_lateness_of(x) == timedelta(hours=2)
    assert max_lateness_of(Account("x", "x", options={"max_lateness": "off"})) is None
    assert max_lateness_of(Account("x", "x", options={"max_lateness": "30m"})) == s(1800)


def test_pace_state_counts_the_starts_within_the_period() -> None:
    pace = Pace(3, HOUR)
    assert pace_state("a", pace, [], T0) == PaceState("a", 3, HOUR, 0, None)
    starts = [T0 - s(3600), T0 - s(3599), T0 - s(100)]  # the first one has aged out
    state = pace_state("a", pace, starts, T0)
    assert (state.used, state.next_slot, state.paced_out) == (2, None, False)


def test_with_every_slot_taken_the_next_frees_when_the_oldest_of_the_last_ages_out() -> None:
    pace = Pace(3, HOUR)
    starts = [T0 - s(50), T0 - s(3000), T0 - s(10), T0 - s(3500)]  # four, any order
    state = pace_state("a", pace, starts, T0, waiting=7)
    assert state.used == 3 and state.paced_out and state.waiting == 7
    assert state.next_slot == T0 - s(3000) + HOUR  # the third most recent start + the period


def delivery(
    account: str = "a", due: datetime = T0, status: Status = Status.QUEUED, attempts: int = 0
) -> Delivery:
    return Delivery(
        1, 1, account, "x", "k", "Text", status, due, due, attempts, None, None, None, None,
        None, T0, T0,
    )  # fmt: skip


OUT = PaceState("a", 3, HOUR, 3, T0 + s(600), 5)
FREE = PaceState("a", 3, HOUR, 1, None)


def test_why_a_queued_delivery_waits() -> None:
    assert wait_of(delivery(), {}, T0) == Wait(1, "a", WaitReason.DUE, T0)
    assert wait_of(delivery(), {"a": FREE}, T0).reason == WaitReason.DUE  # type: ignore[union-attr]
    later = T0 + s(60)
    assert wait_of(delivery(due=later), {}, T0) == Wait(1, "a", WaitReason.SCHEDULED, later)
    assert wait_of(delivery(due=later, attempts=2), {}, T0) == Wait(1, "a", WaitReason.RETRY, later)
    # Due, but the pace is used up: it waits for the next slot, and says whose budget.
    assert wait_of(delivery(), {"a": OUT}, T0) == Wait(1, "a", WaitReason.PACED, T0 + s(600), OUT)
    assert wait_of(delivery(due=later), {"a": OUT}, T0).reason == WaitReason.PACED  # type: ignore[union-attr]
    # Due only after the next slot: its own time is what it waits for.
    much_later = T0 + s(3600)
    assert wait_of(delivery(due=much_later), {"a": OUT}, T0) == Wait(
        1, "a", WaitReason.SCHEDULED, much_later
    )
    # Another account's pace is not this one's.
    assert wait_of(delivery("b"), {"a": OUT}, T0).reason == WaitReason.DUE  # type: ignore[union-attr]
    for status in (Status.PUBLISHING, Status.PUBLISHED, Status.FAILED, Status.CANCELLED):
        assert wait_of(delivery(status=status), {"a": OUT}, T0) is None


def test_the_next_send_counts_the_pace_and_is_never_a_paced_moment_past() -> None:
    assert next_send({}, {}) is None
    # Everything due waits for its pace: the next send is the next slot, not the due time.
    assert next_send({"a": T0 - s(300)}, {"a": OUT}) == NextSend(T0 + s(600), "a", OUT)
    # Another account due later than that slot, or sooner.
    assert next_send({"a": T0 - s(300), "b": T0 + s(900)}, {"a": OUT}).account == "a"  # type: ignore[union-attr]
    assert next_send({"a": T0 - s(300), "b": T0 + s(60)}, {"a": OUT}) == NextSend(T0 + s(60), "b")
    # Due after the slot: the due time, no pace.
    assert next_send({"a": T0 + s(900)}, {"a": OUT}) == NextSend(T0 + s(900), "a")
    # An account with budget left: its due time, even if it is past (a daemon takes it now).
    assert next_send({"a": T0 - s(300)}, {"a": FREE}) == NextSend(T0 - s(300), "a")


def test_a_claim_takes_what_the_pace_has_room_for_and_says_who_waits_once_it_is_used_up() -> None:
    pace = Pace(3, HOUR)
    starts = [T0 - s(600), T0 - s(4000)]  # one within the hour, one aged out
    assert pace_room("x", pace, starts, T0, 10) == 2
    assert pace_room("x", pace, starts, T0, 1) == 1
    assert pace_room("x", pace, [T0, T0, T0, T0], T0, 5) == 0  # over budget: none, never less
    asked: list[int] = []

    def waiting() -> int:
        asked.append(1)
        return 7

    left = pace_after("x", pace, starts, 1, T0, waiting)
    assert (left.used, left.paced_out, asked) == (2, False, [])  # room left: nobody asked
    full = pace_after("x", pace, starts, 2, T0, waiting)
    assert (full.used, full.paced_out, full.waiting) == (3, True, 7)
    assert full.next_slot == T0 - s(600) + HOUR  # the oldest start in the window ages out
