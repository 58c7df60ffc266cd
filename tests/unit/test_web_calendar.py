"""The week view's layout (web/calendar.py): days in the configured zone, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from postbot.domain import Delivery, Post, Status
from postbot.web.calendar import (
    Place,
    free_places,
    lay_out,
    monday_of,
    post_places,
    week_span,
)

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2027, 1, 1, tzinfo=UTC)


def delivery(id_: int, post_id: int, due: datetime, account: str = "x") -> Delivery:
    return Delivery(
        id=id_, post_id=post_id, account=account, platform=account, key=f"k{id_}", text="t",
        status=Status.QUEUED, due_at=due, next_attempt_at=due, attempts=0, lease_owner=None,
        lease_expires_at=None, remote_id=None, remote_url=None, last_error=None, created_at=T0,
        updated_at=T0,
    )  # fmt: skip


def post(id_: int, *deliveries: Delivery) -> Post:
    return Post(id_, f"p{id_}", None, "Grüße", (), None, "de", (), "cli", "h", T0, T0, deliveries)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_week_runs_monday_to_monday_local_time_and_dst_makes_it_167_hours() -> None:
    assert monday_of(date(2027, 3, 28)) == date(2027, 3, 22)
    assert monday_of(date(2027, 3, 22)) == date(2027, 3, 22)
    start, end = week_span(date(2027, 3, 25), BERLIN)
    assert start == utc(2027, 3, 21, 23)  # Monday 00:00 CET
    assert end == utc(2027, 3, 28, 22)  # the next Monday 00:00 CEST
    assert end - start == timedelta(hours=167)
    autumn_start, autumn_end = week_span(date(2027, 10, 31), BERLIN)
    assert autumn_end - autumn_start == timedelta(hours=169)


def test_places_fall_on_their_local_day_in_time_order_and_the_dst_day_says_so() -> None:
    sunday_early = utc(2027, 3, 28, 0, 30)  # 01:30 CET
    sunday_late = utc(2027, 3, 28, 1, 30)  # 03:30 CEST: one hour later by the clock, two shown
    late_monday = utc(2027, 3, 21, 23, 0)  # Monday 00:00 CET: the first moment of the week
    saturday_night = utc(2027, 3, 27, 22, 59)  # Saturday 23:59 CET
    next_week = utc(2027, 3, 28, 22, 0)  # the next Monday 00:00 CEST: not this week
    posts = [
        post(1, delivery(1, 1, sunday_late, "x"), delivery(2, 1, sunday_late, "mastodon")),
        post(2, delivery(3, 2, sunday_early)),
        post(3, delivery(4, 3, late_monday), delivery(5, 3, saturday_night, "bluesky")),
        post(4, delivery(6, 4, next_week)),
    ]
    week = lay_out(date(2027, 3, 24), BERLIN, post_places(posts, BERLIN), date(2027, 3, 24))
    assert [d.day for d in week.days] == [date(2027, 3, 22) + timedelta(days=i) for i in range(7)]
    shown = {
        d.day.isoformat(): [(p.local.strftime("%H:%M %Z"), p.post and p.post.id) for p in d.places]
        for d in week.days
        if d.places
    }
    assert shown == {
        "2027-03-22": [("00:00 CET", 3)],
        "2027-03-27": [("23:59 CET", 3)],
        "2027-03-28": [("01:30 CET", 2), ("03:30 CEST", 1)],
    }
    sunday = week.days[6]
    assert sunday.zones == ("CET", "CEST")
    assert week.days[0].zones == ("CET",)
    assert [c.account for c in sunday.places[1].chips] == ["x", "mastodon"]
    assert [d.is_today for d in week.days] == [False, False, True, False, False, False, False]
    assert (week.previous, week.next) == (date(2027, 3, 15), date(2027, 3, 29))


def test_a_free_slot_is_a_place_before_a_post_at_the_same_moment() -> None:
    at = utc(2027, 3, 23, 6, 30)
    slot = Place(at, at.astimezone(BERLIN), accounts=("x",))
    week = lay_out(
        date(2027, 3, 23), BERLIN, [*post_places([post(9, delivery(1, 9, at))], BERLIN), slot],
        date(2027, 1, 1),
    )  # fmt: skip
    tuesday = week.days[1].places
    assert [p.free for p in tuesday] == [True, False]
    assert not any(d.is_today for d in week.days)


def test_free_places_are_the_slots_still_free_for_some_account_after_now() -> None:
    from dataclasses import replace

    morning, noon, evening = utc(2027, 3, 23, 6, 30), utc(2027, 3, 23, 11), utc(2027, 3, 23, 17)
    slots = [
        (utc(2027, 3, 22, 6, 30), ("mastodon",)),  # before now: not offered
        (morning, ("mastodon",)),
        (noon, ("mastodon",)),
        (morning, ("x", "bluesky")),  # a queue's slot at the same instant: one place
        (evening, ("x",)),
    ]
    cancelled = replace(delivery(3, 8, evening, "x"), status=Status.CANCELLED)
    posts = [post(9, delivery(1, 9, noon, "mastodon"), delivery(2, 9, morning, "x")),
             post(8, cancelled)]  # fmt: skip
    places = free_places(slots, posts, utc(2027, 3, 23, 0), BERLIN)
    assert [(p.at, p.accounts) for p in places] == [
        (morning, ("mastodon", "bluesky")),  # x has a post then
        (evening, ("x",)),  # a cancelled delivery holds no slot
    ]  # noon: mastodon's is filled
    assert all(p.free for p in places)
    assert places[0].local.strftime("%H:%M %Z") == "07:30 CET"
