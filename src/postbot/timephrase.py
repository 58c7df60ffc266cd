"""Dates and times as people type them, in English and German: read exactly, or refused.

A phrase is made of parts, each given at most once, in any order:
- a day: `today`/`heute`, `tomorrow`/`morgen`, `übermorgen`; a weekday (`Montag`, `Mo.`,
  `monday`, `next monday`, `nächsten Montag`): the coming one, within the next six days; a
  date in numbers (`05.02.2027`, `5.2.2027`, `05.02.`, `2/5/2027`) read in the configured
  order (DMY, MDY or YMD; `2027-02-05` is always year first); a date with a month name
  (`5. Februar 2027`, `1 July 2026`, `July 1, 2026`). A date without a year is the next such
  day, today included. A weekday may stand before a date as a check (`Freitag, 05.02.2027`).
- a clock time: `08:00`, `8:00:30`, `8 Uhr`, `8.30 Uhr`, `um 8` (German: a 24-hour hour),
  `8am`, `9:15 pm` (not `12am`/`12pm`, which people read both ways: `00:00`, `12:00`);
- a zone: `UTC`, `GMT`, `Z`, `+05:00`, `-0400`, an IANA name (`Europe/London`). Without one,
  the configured zone. Day words count in the zone the phrase is in.
`at`/`um` may stand before a clock time, `on`/`am` before a day. Every word must be understood;
what is ambiguous (a weekday that is today, `at 8` in English, a numeric date without a
configured order, a two-digit year) is refused, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

T = TypeVar("T")


class Refusal(ValueError):
    """A phrase that is not understood exactly; the message says why (without the phrase)."""


class Incomplete(Refusal):
    """A phrase understood, but without a day or without a time of day."""


@dataclass(frozen=True)
class Phrase:
    local: datetime  # naive: the wall-clock time in `zone` (or in the configured zone)
    zone: tzinfo | None  # the zone the phrase names, if any
    relative: bool  # it depends on today (a day word, a weekday, a date without a year)


_DAY_WORDS = {
    "today": 0,
    "heute": 0,
    "tomorrow": 1,
    "morgen": 1,
    "übermorgen": 2,
    "uebermorgen": 2,
}
_WEEKDAY_NAMES = (
    ("monday", "mon", "montag", "mo"),
    ("tuesday", "tue", "tues", "dienstag", "di"),
    ("wednesday", "wed", "mittwoch", "mi"),
    ("thursday", "thu", "thur", "thurs", "donnerstag", "do"),
    ("friday", "fri", "freitag", "fr"),
    ("saturday", "sat", "samstag", "sonnabend", "sa"),
    ("sunday", "sun", "sonntag", "so"),
)
_WEEKDAYS = {name: number for number, names in enumerate(_WEEKDAY_NAMES) for name in names}
_WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_NEXT = {
    "next",
    "nächsten",
    "nächster",
    "nächste",
    "naechsten",
    "naechster",
    "naechste",
    "kommenden",
    "kommender",
    "kommende",
}
_MONTH_NAMES = (
    ("january", "jan", "januar", "jänner", "jän"),
    ("february", "feb", "februar", "febr"),
    ("march", "mar", "märz", "maerz", "mär", "mrz"),
    ("april", "apr"),
    ("may", "mai"),
    ("june", "jun", "juni"),
    ("july", "jul", "juli"),
    ("august", "aug"),
    ("september", "sep", "sept"),
    ("october", "oct", "oktober", "okt"),
    ("november", "nov"),
    ("december", "dec", "dezember", "dez"),
)
_MONTHS = {name: number + 1 for number, names in enumerate(_MONTH_NAMES) for name in names}
_MERIDIEM = {"am": 0, "a.m.": 0, "pm": 12, "p.m.": 12}
_CLOCK_CONNECTORS = {"at", "um"}
_DAY_CONNECTORS = {"on", "am"}

_HMS = r"(\d{1,2}):(\d{2})(?::(\d{2}))?"
_CLOCK = re.compile(rf"{_HMS}(am|pm|a\.m\.|p\.m\.)?")
_HOUR_MERIDIEM = re.compile(r"(\d{1,2})(am|pm|a\.m\.|p\.m\.)")
_DOTTED_CLOCK = re.compile(r"(\d{1,2})\.(\d{2})")  # German `8.30 Uhr`: only before `Uhr`
_NUMBER = re.compile(r"\d{1,2}")
_FULL_DATE = re.compile(r"(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})")
_SHORT_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.?|(\d{1,2})([/-])(\d{1,2})")
_ORDINAL_DAY = re.compile(r"(\d{1,2})(?:\.|st|nd|rd|th)?")
_YEAR = re.compile(r"\d{4}")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})?")


@dataclass(frozen=True)
class _Day:
    offset: int | None = None  # days after today
    weekday: int | None = None  # 0 = Monday
    year: int | None = None  # with month and day: a date; without a year, the next such day
    month: int | None = None
    day: int | None = None

    @property
    def is_date(self) -> bool:
        return self.month is not None


def read_phrase(spec: str, order: str | None, now: datetime, zone: tzinfo) -> Phrase:
    """Read `spec`; raise Refusal saying what is not understood or what is missing."""
    return _Reader(spec, order).read(now, zone)


class _Reader:
    def __init__(self, spec: str, order: str | None) -> None:
        self.spec = spec
        self.order = order
        self.words = spec.replace(",", " ").split()
        self.low = [w.lower() for w in self.words]
        self.i = 0

    def peek(self, ahead: int = 0) -> str | None:
        index = self.i + ahead
        return self.low[index] if index < len(self.low) else None

    def read(self, now: datetime, zone: tzinfo) -> Phrase:
        day: _Day | None = None
        check: int | None = None  # a weekday given beside a date
        clock: time | None = None
        named: tzinfo | None = None
        while self.i < len(self.low):
            word = self.low[self.i]
            if word in _CLOCK_CONNECTORS:
                self.i += 1
                part = self._clock(after_um=word == "um")
                if part is None:
                    raise self._after_connector(word)
                clock = _once(clock, part, "time of day")
            elif word in _DAY_CONNECTORS:
                self.i += 1
                found = self._day()
                if found is None:
                    raise self._after_connector(word)
                day, check = _combine(day, check, found)
            elif (part := self._clock(after_um=False)) is not None:
                clock = _once(clock, part, "time of day")
            elif (found := self._day()) is not None:
                day, check = _combine(day, check, found)
            elif (zone_part := self._zone()) is not None:
                named = _once(named, zone_part, "zone")
            else:
                raise Refusal(f"'{self.words[self.i]}' is not a day, date, time or zone")
        if day is None and clock is None:
            raise Refusal("it has no day and no time of day")
        if clock is None:
            raise Incomplete(f"has no time of day: add one, e.g. '{self.spec} 08:00'")
        if day is None:
            raise Incomplete(
                f"has no day: say which, e.g. 'heute {self.spec}', 'tomorrow {self.spec}' or a date"
            )
        today = now.astimezone(named or zone).date()
        resolved = _resolve(day, today)
        if check is not None and resolved.weekday() != check:
            raise Refusal(
                f"{resolved.isoformat()} is a {_WEEKDAY_EN[resolved.weekday()]},"
                f" not a {_WEEKDAY_EN[check]}"
            )
        relative = day.offset is not None or day.weekday is not None or day.year is None
        return Phrase(datetime.combine(resolved, clock), named, relative)

    def _after_connector(self, word: str) -> Refusal:
        following = self.words[self.i] if self.i < len(self.words) else None
        if word == "at" and following is not None and _NUMBER.fullmatch(following):
            return Refusal(
                f"'at {following}' could be morning or evening:"
                f" write {following}am, {following}pm or {int(following):02d}:00"
            )
        wanted = "a time of day" if word in _CLOCK_CONNECTORS else "a day or a date"
        shown = f"'{following}'" if following is not None else "nothing"
        return Refusal(f"'{self.words[self.i - 1]}' must be followed by {wanted}, not {shown}")

    # -- clock ---------------------------------------------------------------------------
    def _clock(self, *, after_um: bool) -> time | None:
        word = self.peek()
        if word is None:
            return None
        following = self.peek(1)
        if match := _CLOCK.fullmatch(word):
            hour, minute, second, meridiem = match.groups()
            self.i += 1
            # `20:00 am Montag` is German ("on Monday"), `8:00 am` English; both read 08:00.
            if (
                meridiem is None
                and following in _MERIDIEM
                and not after_um
                and (1 <= int(hour) <= 12 or following != "am")
            ):
                meridiem = following
                self.i += 1
            elif meridiem is None and following == "uhr":
                self.i += 1
            return _time(int(hour), int(minute), int(second or 0), meridiem)
        if match := _HOUR_MERIDIEM.fullmatch(word):
            self.i += 1
            return _time(int(match.group(1)), 0, 0, match.group(2))
        if (match := _DOTTED_CLOCK.fullmatch(word)) and following == "uhr":
            self.i += 2
            return _time(int(match.group(1)), int(match.group(2)), 0, None)
        if _NUMBER.fullmatch(word):
            if following == "uhr":
                self.i += 2
                return _time(int(word), 0, 0, None)
            if following in _MERIDIEM and not after_um:
                self.i += 2
                return _time(int(word), 0, 0, following)
            if after_um:  # German `um 8`: the 24-hour clock, as German is written
                self.i += 1
                return _time(int(word), 0, 0, None)
        return None

    # -- day -----------------------------------------------------------------------------
    def _day(self) -> _Day | None:
        word = self.peek()
        if word is None:
            return None
        bare = word.rstrip(".")
        if word in _DAY_WORDS:
            self.i += 1
            return _Day(offset=_DAY_WORDS[word])
        if word in _NEXT:
            following = self.peek(1)
            if following is None or following.rstrip(".") not in _WEEKDAYS:
                shown = f"'{self.words[self.i + 1]}'" if following else "nothing"
                raise Refusal(f"'{self.words[self.i]}' must be followed by a weekday, not {shown}")
            self.i += 2
            return _Day(weekday=_WEEKDAYS[following.rstrip(".")])
        if bare in _WEEKDAYS:
            self.i += 1
            return _Day(weekday=_WEEKDAYS[bare])
        if match := _FULL_DATE.fullmatch(word):
            self.i += 1
            return self._numeric(match.group(1), match.group(3), match.group(4), word)
        if match := _SHORT_DATE.fullmatch(word):
            self.i += 1
            dotted = match.group(1) is not None  # 05.02. or 05.02; else 2/5 or 2-5
            first, second = match.group(1, 2) if dotted else match.group(3, 5)
            return self._numeric(first, second, None, word)
        if bare in _MONTHS:  # July 1 2026
            following = self.peek(1)
            number = _ORDINAL_DAY.fullmatch(following) if following else None
            if number is None:
                raise Refusal(f"'{self.words[self.i]}' needs a day, e.g. '{self.words[self.i]} 5'")
            self.i += 2
            return _Day(year=self._year(), month=_MONTHS[bare], day=int(number.group(1)))
        following = self.peek(1)
        month = _MONTHS.get(following.rstrip(".")) if following else None
        if month is not None and (number := _ORDINAL_DAY.fullmatch(word)):
            self.i += 2  # 5. Februar 2027, 1 July 2026
            return _Day(year=self._year(), month=month, day=int(number.group(1)))
        return None

    def _year(self) -> int | None:
        word = self.peek()
        if word is not None and _YEAR.fullmatch(word):
            self.i += 1
            return int(word)
        return None

    def _numeric(self, first: str, second: str, third: str | None, word: str) -> _Day:
        if len(first) == 4 and third is not None:  # 2027-02-05: the year comes first
            if len(third) > 2:
                raise Refusal(f"'{word}' is not a date (write it as YYYY-MM-DD)")
            return _Day(year=int(first), month=_month(second, word), day=int(third))
        if len(first) > 2 or len(second) > 2:
            raise Refusal(f"'{word}' is not a date")
        if self.order is None:
            raise Refusal(
                f"'{word}' could be day-first or month-first: set date_order in the config"
                " (DMY, MDY or YMD) or write the date as YYYY-MM-DD"
            )
        year = None
        if third is not None:
            if self.order == "YMD":
                raise Refusal(
                    f"'{word}': dates are read year first (date_order YMD): write YYYY-MM-DD"
                )
            if len(third) != 4:
                raise Refusal(f"'{word}': write the year with four digits")
            year = int(third)
        if self.order == "DMY":
            return _Day(year=year, month=_month(second, word, "DMY"), day=int(first))
        return _Day(year=year, month=_month(first, word, self.order), day=int(second))

    # -- zone ----------------------------------------------------------------------------
    def _zone(self) -> tzinfo | None:
        word = self.peek()
        if word is None:
            return None
        original = self.words[self.i]
        found: tzinfo | None = None
        if word in ("utc", "gmt", "z"):
            found = UTC
        elif match := _OFFSET.fullmatch(word):
            sign, hours, minutes = match.groups()
            delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
            if delta >= timedelta(hours=24):
                raise Refusal(f"'{original}' is not an offset from UTC")
            found = timezone(-delta if sign == "-" else delta)
        elif "/" in original and not original[0].isdigit():
            try:
                found = ZoneInfo(original)
            except (ZoneInfoNotFoundError, ValueError):
                raise Refusal(f"'{original}' is not a known time zone") from None
        if found is not None:
            self.i += 1
        return found


def _once(current: T | None, new: T, what: str) -> T:
    if current is not None:
        raise Refusal(f"two of one part: the {what} is given twice")
    return new


def _combine(day: _Day | None, check: int | None, found: _Day) -> tuple[_Day, int | None]:
    """Add a day part: a weekday beside a date is a check on the date, not a second day."""
    if day is None:
        return found, check
    if check is None and day.is_date and found.weekday is not None and found.offset is None:
        return day, found.weekday
    if check is None and found.is_date and day.weekday is not None and day.offset is None:
        return found, day.weekday
    raise Refusal("two days are given: say one")


def _month(text: str, word: str, order: str | None = None) -> int:
    month = int(text)
    if not 1 <= month <= 12:
        how = f" (dates are read in the order {order})" if order else ""
        raise Refusal(f"'{word}': there is no month {month}{how}")
    return month


def _time(hour: int, minute: int, second: int, meridiem: str | None) -> time:
    if meridiem is not None:
        if hour == 12:  # 12am is midnight to some, noon to others
            raise Refusal(f"12 {meridiem} is easily misread: write 00:00 or 12:00")
        if not 1 <= hour <= 11:
            raise Refusal(f"there is no {hour} {meridiem} (use 1-11 with am/pm, or 0-23)")
        hour = hour % 12 + _MERIDIEM[meridiem]
    if hour > 23:
        raise Refusal(f"there is no hour {hour} (use 0-23; midnight is 00:00 of the next day)")
    if minute > 59 or second > 59:
        raise Refusal(f"there is no minute or second {max(minute, second)} (use 0-59)")
    return time(hour, minute, second)


def _resolve(day: _Day, today: date) -> date:
    if day.offset is not None:
        return today + timedelta(days=day.offset)
    if day.weekday is not None:
        ahead = (day.weekday - today.weekday()) % 7
        if ahead == 0:
            raise Refusal(
                f"{_WEEKDAY_EN[day.weekday]} is today: say 'today'/'heute', or give the date"
            )
        return today + timedelta(days=ahead)
    assert day.month is not None and day.day is not None
    if day.year is not None:
        return _date(day.year, day.month, day.day)
    # Without a year: the next such day, today included (29 February: the next leap year).
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, day.month, day.day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise Refusal(f"there is no day {day.day} in month {day.month}")


def _date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise Refusal(f"{year:04d}-{month:02d}-{day:02d} does not exist") from None
