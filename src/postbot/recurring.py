"""Recurring posts: the strict grammar of `every:` / `--every`, and its next occurrence. Pure.

Three forms, in the configured zone (24-hour clock):
- weekly, as a posting slot: `mon 09:00`, `mon-fri 07:30`, `sat,sun 10:00`, `daily 08:00`;
- monthly: `1st of month 08:00`, `15th of month 12:30` (days 1-31; a month without that day
  is skipped, as cron skips it);
- a 5-field cron expression: `minute hour day-of-month month day-of-week`, each `*`, a number,
  a range `a-b`, a step `*/n` or `a-b/n`, or a list of those; months and weekdays may be names
  (`jan`, `mon`); weekday 0 and 7 are Sunday. When both day fields are restricted, a day
  matching either is taken (cron's rule).

Occurrences keep their wall-clock time across daylight-saving changes, by `slots.wall_clock`'s
rule. Why not a library: the weekly form is the slot grammar (one rule, one parser), cron is 40
lines here, and APScheduler's CronTrigger (already a dependency) numbers weekdays from Monday,
unlike cron, and would give a second, different DST rule; `croniter` would be a new dependency
for what these lines do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from postbot.domain import Post, Status
from postbot.slots import parse_clock, parse_days, wall_clock

EVERY_HELP = (
    'write every as "mon 09:00" (days HH:MM), "1st of month 08:00", or a 5-field cron'
    ' expression such as "30 7 * * mon-fri"'
)
_MONTHLY = re.compile(r"(\d{1,2})(st|nd|rd|th) of (the )?month (\S+)", re.IGNORECASE)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_HORIZON_DAYS = 366 * 8  # 29 February on a Monday: the longest wait a rule can mean
OPEN = (Status.QUEUED, Status.PUBLISHING, Status.SCHEDULED)  # an occurrence not yet done
CANCELLABLE = (Status.QUEUED, Status.SCHEDULED)


@dataclass(frozen=True)
class SeriesState:
    """A series that is not stopped, as the store reads it: its first post (with the rule),
    its latest occurrence, and whether that one is still to go out."""

    head: Post  # without deliveries
    latest: int  # the post id of the latest occurrence (the head's own, at first)
    last_due: datetime  # when the latest occurrence is (was) due
    open: bool  # some delivery of it is queued, publishing or held by a server
    accounts: tuple[str, ...]  # where it went (its deliveries not cancelled)
    occurrence: datetime | None = None  # the latest's occurrence (None: the head's own)


@dataclass(frozen=True)
class Rule:
    """When a recurring post goes out: on the days `matches`, at `times` (local wall clock)."""

    text: str  # as written
    matches: Callable[[date], bool]
    times: tuple[time, ...]

    def after(self, moment: datetime, zone: tzinfo) -> datetime | None:
        """The first occurrence strictly after `moment` (UTC); None if there is none within
        years (a rule such as 31 February)."""
        day = moment.astimezone(zone).date() - timedelta(days=1)  # a DST night's overlap
        for _ in range(_HORIZON_DAYS):
            if self.matches(day):
                found = sorted(
                    t for t in {wall_clock(day, at, zone) for at in self.times} if t > moment
                )
                if found:
                    return found[0]
            day += timedelta(days=1)
        return None


def parse_every(text: object) -> Rule:
    """`every:` -> Rule; ValueError naming what is not understood and how to write it."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not a rule; {EVERY_HELP}")
    spec = " ".join(text.split())
    try:
        monthly = _MONTHLY.fullmatch(spec)
        if monthly:
            return _monthly(spec, int(monthly.group(1)), monthly.group(2), monthly.group(4))
        words = spec.split(" ")
        if len(words) == 2:
            days = parse_days(words[0])
            return Rule(spec, lambda d: d.weekday() in days, (parse_clock(words[1]),))
        if len(words) == 5:
            return _cron(spec, words)
    except ValueError as exc:
        raise ValueError(f"'{spec}': {exc}; {EVERY_HELP}") from None
    raise ValueError(f"'{spec}' is not understood; {EVERY_HELP}")


def _monthly(spec: str, day: int, suffix: str, clock: str) -> Rule:
    right = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}.get(day, "th")
    if not 1 <= day <= 31:
        raise ValueError(f"a month has no day {day}")
    if suffix.lower() != right:
        raise ValueError(f"write {day}{right}, not {day}{suffix}")
    return Rule(spec, lambda d: d.day == day, (parse_clock(clock),))


def _cron(spec: str, words: list[str]) -> Rule:
    minutes = _field(words[0], 0, 59, "minute")
    hours = _field(words[1], 0, 23, "hour")
    doms = _field(words[2], 1, 31, "day of month")
    months = _field(words[3], 1, 12, "month", _MONTHS, 1)
    dows = {d % 7 for d in _field(words[4], 0, 7, "day of week", _CRON_DAYS, 0)}
    any_dom, any_dow = words[2] == "*", words[4] == "*"

    def matches(d: date) -> bool:
        if d.month not in months:
            return False
        on_dom, on_dow = d.day in doms, (d.weekday() + 1) % 7 in dows
        if any_dom or any_dow:
            return on_dom and on_dow
        return on_dom or on_dow

    times = tuple(time(h, m) for h in sorted(hours) for m in sorted(minutes))
    return Rule(spec, matches, times)


def _field(
    text: str, low: int, high: int, what: str, names: tuple[str, ...] = (), base: int = 0
) -> set[int]:
    values: set[int] = set()
    for item in text.lower().split(","):
        part, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"cron {what}: '{item}' has a bad step (write */15 or 0-30/5)")
            step = int(step_text)
        if part == "*":
            first, last = low, high
        else:
            ends = part.split("-")
            if len(ends) > 2:
                raise ValueError(f"cron {what}: '{item}' is not a number, a range or a step")
            first, last = (_value(e, low, high, what, names, base) for e in (ends[0], ends[-1]))
            if last < first:
                raise ValueError(f"cron {what}: the range '{part}' runs backwards")
            if step_text and len(ends) == 1:
                last = high
        values.update(range(first, last + 1, step))
    return values


def _value(text: str, low: int, high: int, what: str, names: tuple[str, ...], base: int) -> int:
    if text in names:
        return names.index(text) + base
    if not text.isdigit() or not low <= int(text) <= high:
        named = f" or a name ({', '.join(names)})" if names else ""
        raise ValueError(f"cron {what}: '{text}' is not a number {low}-{high}{named}")
    return int(text)


def next_occurrence(
    rule: Rule, zone: tzinfo, after: datetime, until: datetime | None
) -> datetime | None:
    """The occurrence after `after`, unless the series has ended (`until`, inclusive)."""
    found = rule.after(after.astimezone(UTC), zone)
    if found is None or (until is not None and found > until):
        return None
    return found


@dataclass(frozen=True)
class Recurrence:
    """What `list` and `show` say of a post in a series."""

    every: str  # the rule as written
    series_id: int  # the series' first post
    until: datetime | None = None
    next_at: datetime | None = None  # the next occurrence still to come; None: ended/stopped
    stopped: bool = False  # cancelled: no more occurrences
