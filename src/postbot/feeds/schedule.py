"""The pure decisions of polling: when a feed is polled next (its backoff after failures), when
an article's teaser is due (delay, quiet hours), and whether an item is from before the feed's
first poll. No I/O, no clock: `now` is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class QuietHours:
    """`23:00-06:00`: nothing goes out from the start (inclusive) to the end (exclusive),
    local time; a span across midnight is allowed."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        start, dash, end = text.partition("-")
        if not dash:
            raise ValueError(f"'{text}' must be a span of local time such as \"23:00-06:00\"")
        try:
            begin, finish = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        except ValueError:
            raise ValueError(
                f"'{text}' must be a span of local time such as \"23:00-06:00\" (HH:MM-HH:MM)"
            ) from None
        if begin == finish:
            raise ValueError(f"'{text}' is empty: start and end are the same time")
        return cls(begin, finish)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def next_poll(now: datetime, every: timedelta, failures: int) -> datetime:
    """After a good poll, `every` later; after `failures` failed polls in a row, twice as long
    for each (at most an hour, never less than `every`): a broken feed is asked less often,
    and on its own, so it never holds up another feed or a delivery."""
    if failures <= 0:
        return now + every
    wait = every * (2 ** min(failures, 16))
    return now + max(every, min(wait, MAX_BACKOFF))


def out_of_quiet_hours(due: datetime, quiet: QuietHours, zone: tzinfo) -> datetime:
    """`due`, or the end of the quiet hours it falls in (local time, to the minute given)."""
    local = due.astimezone(zone)
    if not quiet.contains(local.timetz().replace(tzinfo=None)):
        return due
    end = datetime.combine(local.date(), quiet.end, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=zone)
    return end.astimezone(due.tzinfo)


def due_of(
    appeared: datetime | None,
    now: datetime,
    delay: timedelta,
    quiet: QuietHours | None,
    zone: tzinfo,
) -> datetime:
    """When an article's teaser goes out: `delay` after it appeared (its published time, or
    now when it has none or claims the future), never before now, and never in quiet hours."""
    start = min(appeared, now) if appeared is not None else now
    due = max(now, start + delay)
    return out_of_quiet_hours(due, quiet, zone) if quiet is not None else due


def is_backlog(published: datetime | None, first_poll: bool, since: datetime | None) -> bool:
    """On a feed's first poll, every item is from before postbot watched it, unless `since`
    says which of them are wanted (published at or after it). Later, nothing is backlog: a
    key never seen is a new article."""
    if not first_poll:
        return False
    if since is None or published is None:
        return True
    return published < since
