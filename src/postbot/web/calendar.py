"""The week view's layout: seven days in the configured zone and what is placed on each. Pure.

A week runs from Monday 00:00 to the next Monday 00:00 local time, so a week with a daylight
saving change is 167 or 169 hours long, and every time on it is read in the zone.

What a day shows is a list of places, in time order: a post's deliveries due at one moment
(one chip per delivery), or a free posting slot, a place without a post one can click to
compose into. Both are `Place`s, so the page lays them out alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from postbot.domain import Delivery, Post, Status

DAYS = 7


@dataclass(frozen=True)
class Place:
    """Something at one moment of a day: a post's deliveries due then, or a free slot."""

    at: datetime  # UTC
    local: datetime  # the same moment in the configured zone
    post: Post | None = None
    chips: tuple[Delivery, ...] = ()  # one per delivery, in delivery id order
    accounts: tuple[str, ...] = ()  # for a free slot: whose slot it is

    @property
    def free(self) -> bool:
        return self.post is None


@dataclass(frozen=True)
class Day:
    day: date
    start: datetime  # UTC: local midnight
    is_today: bool
    zones: tuple[str, ...]  # the zone abbreviations of the day: two on a DST change
    places: tuple[Place, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Week:
    monday: date
    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    days: tuple[Day, ...]

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=DAYS)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=DAYS)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def midnight(day: date, zone: tzinfo) -> datetime:
    """The first moment of `day` in `zone`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def week_span(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The week holding `day`, as [start, end) in UTC."""
    monday = monday_of(day)
    return midnight(monday, zone), midnight(monday + timedelta(days=DAYS), zone)


def post_places(posts: Iterable[Post], zone: tzinfo) -> list[Place]:
    """One place per post and due time: the deliveries of a post due at one moment share it."""
    places = []
    for post in posts:
        by_time: dict[datetime, list[Delivery]] = {}
        for delivery in post.deliveries:
            by_time.setdefault(delivery.due_at, []).append(delivery)
        for at, chips in by_time.items():
            places.append(Place(at, at.astimezone(zone), post, tuple(chips)))
    return places


def free_places(
    slots: Iterable[tuple[datetime, Sequence[str]]],
    posts: Iterable[Post],
    after: datetime,
    zone: tzinfo,
) -> list[Place]:
    """One place per slot instant after `after` with the accounts it is still free for: a slot
    is free for an account when no delivery of the account that is not cancelled is due then
    (the rule of `enqueue --next-slot`). Slots of several places at one instant are one place."""
    taken = {
        (d.account, d.due_at)
        for post in posts
        for d in post.deliveries
        if d.status != Status.CANCELLED
    }
    free: dict[datetime, list[str]] = {}
    for at, accounts in slots:
        if at <= after:
            continue
        for account in accounts:
            if (account, at) not in taken and account not in free.setdefault(at, []):
                free[at].append(account)
    return [
        Place(at, at.astimezone(zone), accounts=tuple(accounts))
        for at, accounts in sorted(free.items())
        if accounts
    ]


def lay_out(day: date, zone: tzinfo, places: Sequence[Place], today: date) -> Week:
    """The week holding `day`: each place on the day of its local date, in time order (a free
    slot before a post at the same moment, then posts by id)."""
    monday = monday_of(day)
    start, end = week_span(monday, zone)
    by_day: dict[date, list[Place]] = {}
    for place in places:
        if start <= place.at < end:
            by_day.setdefault(place.local.date(), []).append(place)
    days = []
    for offset in range(DAYS):
        current = monday + timedelta(days=offset)
        begins, ends = midnight(current, zone), midnight(current + timedelta(days=1), zone)
        zones = tuple(
            dict.fromkeys(
                moment.astimezone(zone).strftime("%Z")
                for moment in (begins, ends - timedelta(microseconds=1))
            )
        )
        shown = sorted(by_day.get(current, ()), key=_order)
        days.append(Day(current, begins, current == today, zones, tuple(shown)))
    return Week(monday, start, end, tuple(days))


def _order(place: Place) -> tuple[datetime, int, int]:
    return place.at, 0 if place.free else 1, place.post.id if place.post else 0
