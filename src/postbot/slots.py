"""Weekly posting slots: the strict grammar, and the times they stand for. Pure, no I/O.

A slot is written `DAYS HH:MM` in the configured zone, 24-hour clock:
- DAYS: a day (`mon` ... `sun`), a range (`mon-fri`), or a list of either (`mon,wed,fri`,
  `mon-wed,sat`); `daily` is every day. Case does not matter; a range does not wrap
  (`fri-mon` is refused: write `fri-sun,mon`).
- HH:MM: `7:30` or `07:30`, hours 0-23, minutes 00-59.

Slots keep their wall-clock time across daylight-saving changes: `mon 07:30` is 07:30 local
time every Monday, summer or winter. A slot in the hour the clocks skip (02:30 on the night
summer time starts in Europe/Berlin) is taken at the same time after the skip (03:30 local:
the UTC instant of 02:30 on the old offset); a slot in the hour that repeats (02:30 on the
night summer time ends) is the first of the two (summer time, `fold=0`). Both rules are
`wall_clock`'s, shared with recurring posts (`recurring.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLOT_HELP = 'write slots as "DAYS HH:MM", e.g. "mon-fri 07:30", "sat,sun 10:00" or "daily 12:00"'
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class Slot:
    """One weekly slot: on these weekdays (0 = Monday) at this local wall-clock time."""

    days: frozenset[int]
    at: time
    text: str  # as written, for messages and `postbot slots`


def parse_days(text: str) -> frozenset[int]:
    """`mon-fri,sat` -> {0..5}; ValueError saying what is wrong."""
    spec = text.strip().lower()
    if spec == "daily":
        return frozenset(range(7))
    days: set[int] = set()
    for item in spec.split(","):
        ends = item.strip().split("-")
        if len(ends) > 2 or not all(e.strip() in DAY_NAMES for e in ends):
            raise ValueError(
                f"'{item.strip()}' is not a day or a range of days"
                f" (days: {', '.join(DAY_NAMES)}, or daily)"
            )
        first, last = (DAY_NAMES.index(e.strip()) for e in (ends[0], ends[-1]))
        if last < first:
            raise ValueError(
                f"the range '{item.strip()}' runs backwards (ranges do not wrap around the"
                f" week; write {DAY_NAMES[first]}-sun,{'mon-' if last else ''}{DAY_NAMES[last]})"
            )
        days.update(range(first, last + 1))
    return frozenset(days)


def parse_clock(text: str) -> time:
    """`7:30` or `07:30` (24-hour clock) -> time; ValueError saying what is wrong."""
    match = _TIME.fullmatch(text.strip())
    if not match:
        raise ValueError(f"'{text.strip()}' is not a time of day (24-hour HH:MM, e.g. 07:30)")
    return time(int(match.group(1)), int(match.group(2)))


def parse_slot(text: str) -> Slot:
    """`mon-fri 07:30` -> Slot; ValueError naming what is not understood and how to write it."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not text; {SLOT_HELP}")
    words = text.split()
    if len(words) != 2:
        raise ValueError(f"'{text}' is not understood; {SLOT_HELP}")
    try:
        return Slot(parse_days(words[0]), parse_clock(words[1]), " ".join(words))
    except ValueError as exc:
        raise ValueError(f"'{text}': {exc}; {SLOT_HELP}") from None


def parse_slots(values: Sequence[object]) -> tuple[Slot, ...]:
    """A config list of slots; a slot given twice is refused (it would be one slot)."""
    slots = tuple(parse_slot(v) for v in values)  # type: ignore[arg-type]
    if not slots:
        raise ValueError(f"is empty; {SLOT_HELP}")
    seen: dict[tuple[int, time], int] = {}
    for number, slot in enumerate(slots):
        for day in sorted(slot.days):
            other = slots[seen.setdefault((day, slot.at), number)]
            if other is not slot:
                if other.text == slot.text:
                    raise ValueError(f"'{slot.text}' is given twice; give each slot once")
                raise ValueError(
                    f"'{other.text}' and '{slot.text}' both hold {DAY_NAMES[day]}"
                    f" {slot.at:%H:%M}; give each slot once"
                )
    return slots


def wall_clock(day: date, at: time, zone: tzinfo) -> datetime:
    """The UTC instant of `at` local time on `day`, by the daylight-saving rule above: a time
    the clocks skip is read on the offset before the skip (so it lands as far after the skip
    as it was into the gap), a time that repeats is its first occurrence."""
    local = datetime.combine(day, at, tzinfo=zone).replace(fold=0)
    return local.astimezone(UTC)


@dataclass(frozen=True)
class Schedule:
    """An account's (or a queue's) weekly slots, in its zone."""

    slots: tuple[Slot, ...]
    zone: tzinfo
    name: str = ""  # `accounts.NAME` or `queues.NAME`: where the slots are configured

    def on(self, day: date) -> tuple[datetime, ...]:
        """The day's slot instants (UTC), in order, each once."""
        return _day(self.slots, self.zone, day)

    def after(self, moment: datetime) -> Iterator[datetime]:
        """Every slot instant strictly after `moment`, in order, without end."""
        day = moment.astimezone(self.zone).date() - timedelta(days=1)  # a DST night's overlap
        while True:
            for instant in self.on(day):
                if instant > moment:
                    yield instant
            day += timedelta(days=1)

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """The slot instants in [start, end), in order."""
        found = []
        for instant in self.after(start - timedelta(microseconds=1)):
            if instant >= end:
                break
            found.append(instant)
        return found

    def slot_of(self, instant: datetime) -> Slot | None:
        """The slot an instant stands for (None: not one of the schedule's)."""
        local = instant.astimezone(self.zone)
        for slot in self.slots:
            if local.weekday() in slot.days and wall_clock(local.date(), slot.at, self.zone) == (
                instant.astimezone(UTC)
            ):
                return slot
        return None


@lru_cache(maxsize=4096)
def _day(slots: tuple[Slot, ...], zone: tzinfo, day: date) -> tuple[datetime, ...]:
    weekday = day.weekday()
    return tuple(sorted({wall_clock(day, s.at, zone) for s in slots if weekday in s.days}))


def week_start(now: datetime, zone: tzinfo, weeks_ahead: int = 0) -> datetime:
    """Local midnight of the Monday of the week `weeks_ahead` after `now`'s, as UTC."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=weeks_ahead)
    return datetime.combine(monday, time(0), tzinfo=zone).astimezone(UTC)


def week_end(start: datetime, zone: tzinfo) -> datetime:
    """The Monday after `start`'s, local midnight, as UTC (a DST week has 167 or 169 hours)."""
    monday = start.astimezone(zone).date() + timedelta(weeks=1)
    return datetime.combine(monday, time(0), tzinfo=zone).astimezone(UTC)


SEARCH_BATCH = 16  # candidate slots looked up by the first query (then twice as many)
SEARCH_LIMIT = 4096  # slots looked at before giving up (years of a busy schedule)


def first_free(
    schedule: Schedule,
    after: datetime,
    taken: Callable[[list[datetime]], Collection[datetime]],
) -> datetime:
    """The first slot after `after` that `taken` (the store's lookup of a batch of candidate
    instants, by index) does not report as filled. StateError when none is free."""
    from postbot.errors import StateError

    candidates = schedule.after(after)
    size, looked = SEARCH_BATCH, 0
    while looked < SEARCH_LIMIT:  # batches of 16, 32, 64 ... 256: few queries, short ones
        batch = [next(candidates) for _ in range(size)]
        looked += size
        full = {t.astimezone(UTC) for t in taken(batch)}
        for instant in batch:
            if instant not in full:
                return instant
        size = min(size * 2, 256, SEARCH_LIMIT - looked)
    raise StateError(
        f"{schedule.name}: the next {SEARCH_LIMIT} slots are all taken; add slots, or give"
        " a time with --at"
    )
