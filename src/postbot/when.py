"""`--at` and front-matter `at`: a time a person wrote -> an aware UTC datetime, or a refusal.

Accepted, in this order:
- relative: `+2h`, `+1h30m`, `+90s`, `in 30 minutes`, `in 2 hours and 30 minutes`,
  `in 2 Stunden`, `in 1 Tag`;
- ISO 8601 with an offset (`2026-12-01T08:00:00+01:00`, `2026-12-01T07:00Z`), or without one:
  a local date-time in the configured zone (`2026-12-01 08:00`);
- a phrase in English or German (`tomorrow 8:00`, `morgen um 8`, `Montag 7:30`,
  `05.02.2027 08:00`): see `timephrase` for the grammar. Numeric dates are read in the
  configured `date_order` (from the config, or from `language`: de -> DMY, en-US -> MDY).
A time without a day, or a day without a time of day, is refused: nothing is assumed.
A local time that does not exist (spring forward) or exists twice (fall back) is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from postbot.errors import UserError

DATE_ORDERS = ("DMY", "MDY", "YMD")  # how numeric dates are read: day.month.year, ...

__all__ = [
    "DATE_ORDERS",
    "Reading",
    "local_text",
    "localize",
    "order_for_language",
    "parse_when",
    "read_time",
    "require_future",
]

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "sekunde": 1,
    "sekunden": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "minuten": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "std": 3600,
    "stunde": 3600,
    "stunden": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "tag": 86400,
    "tage": 86400,
    "tagen": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
    "woche": 604800,
    "wochen": 604800,
}
_PART = r"(\d+)\s*([a-z]+)"
_RELATIVE = re.compile(rf"^(?:\+|in\s+)\s*((?:{_PART}\s*(?:,|and|und)?\s*)+)$", re.IGNORECASE)
# `+5` or `in 5`: a relative time without its unit (5 what?).
_NO_UNIT = re.compile(r"^(?:\+|in\s+)\s*\d+$", re.IGNORECASE)

# How people write numeric dates, by language (BCP 47 tag, lower case; the region is tried
# first). A bare `en` is not here: Americans write 2/5 for 5 February, the British 5/2.
_ORDER_BY_LANGUAGE = {
    "en-us": "MDY",
    "en-gb": "DMY",
    "en-ie": "DMY",
    "en-au": "DMY",
    "en-nz": "DMY",
    "en-in": "DMY",
    "de": "DMY",
    "fr": "DMY",
    "es": "DMY",
    "it": "DMY",
    "nl": "DMY",
    "pt": "DMY",
    "pl": "DMY",
    "da": "DMY",
    "nb": "DMY",
    "nn": "DMY",
    "no": "DMY",
    "fi": "DMY",
    "cs": "DMY",
    "sk": "DMY",
    "ru": "DMY",
    "uk": "DMY",
    "tr": "DMY",
    "el": "DMY",
    "ja": "YMD",
    "zh": "YMD",
    "ko": "YMD",
    "hu": "YMD",
    "lt": "YMD",
}
_EXAMPLES = "e.g. 'YYYY-MM-DD HH:MM', 'morgen 8 Uhr', 'tomorrow 8:00' or '+2h'"


@dataclass(frozen=True)
class Reading:
    """A time as read: when it is, and whether it moves with the moment it is read."""

    when: datetime  # aware, UTC
    relative: bool  # `+2h`, `tomorrow 8:00`, `Montag 7:30`, `05.02. 08:00`: not a fixed time


def order_for_language(language: str | None) -> str | None:
    """The numeric date order people writing `language` use; None when it is not known."""
    if not language:
        return None
    tag = language.lower().replace("_", "-")
    base = tag.split("-")[0]
    if tag in _ORDER_BY_LANGUAGE:
        return _ORDER_BY_LANGUAGE[tag]
    # English without a region we know (en, en-CA) stays unknown: its writers differ.
    return None if base == "en" else _ORDER_BY_LANGUAGE.get(base)


def parse_when(
    text: str, zone: tzinfo, now: datetime | None = None, *, order: str | None = None
) -> datetime:
    """Parse `text` into an aware UTC datetime. Raises UserError saying what is wrong."""
    return read_time(text, zone, now, order=order).when


def read_time(
    text: str, zone: tzinfo, now: datetime | None = None, *, order: str | None = None
) -> Reading:
    """Like parse_when, and says whether the time is relative to `now` (post files refuse it)."""
    now = now or datetime.now(UTC)
    spec = text.strip()
    if not spec:
        raise UserError(f"empty time: give a day and a time of day, {_EXAMPLES}")
    relative = _parse_relative(spec)
    if relative is not None:
        return Reading(now + relative, relative=True)
    iso = _parse_iso(spec)
    if iso is not None:
        if iso.tzinfo is not None:
            return Reading(iso.astimezone(UTC), relative=False)
        return Reading(localize(iso, zone, spec), relative=False)
    # The phrase grammar is imported only here: `+2h` and ISO times never pay for its tables.
    from postbot.timephrase import Incomplete, Refusal, read_phrase

    try:
        phrase = read_phrase(spec, order, now, zone)
    except Incomplete as exc:
        raise UserError(f"'{spec}' {exc}") from None
    except Refusal as exc:
        raise UserError(f"cannot understand the time '{spec}': {exc}") from None
    return Reading(localize(phrase.local, phrase.zone or zone, spec), phrase.relative)


def localize(local: datetime, zone: tzinfo, spec: str | None = None) -> datetime:
    """A wall-clock time in `zone` -> UTC, refusing times that DST skips or repeats."""
    label = f"'{spec or local.isoformat(sep=' ')}'"
    early = local.replace(tzinfo=zone, fold=0)
    late = local.replace(tzinfo=zone, fold=1)
    round_trip = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != local:
        raise UserError(
            f"time {label} does not exist in {zone} (the clocks skip it for daylight saving);"
            " pick another time or give an offset"
        )
    if early.utcoffset() != late.utcoffset():
        raise UserError(
            f"time {label} exists twice in {zone} (the clocks go back for daylight saving);"
            f" add the offset, e.g. {early.isoformat()} or {late.isoformat()}"
        )
    return early.astimezone(UTC)


def local_text(value: datetime, zone: tzinfo) -> str:
    """A time as people read it: in `zone`, to the second, with the zone's abbreviation."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def require_future(
    when: datetime, now: datetime, spec: str, zone: tzinfo | None = None
) -> datetime:
    if when < now:
        raise UserError(
            f"time '{spec}' is in the past ({local_text(when, zone or UTC)}); use --now to post now"
        )
    return when


def _parse_relative(spec: str) -> timedelta | None:
    if _NO_UNIT.match(spec):
        raise UserError(f"missing time unit in '{spec}' (use s, m, h, d or w, e.g. '+2h')")
    match = _RELATIVE.match(spec)
    if not match:
        return None
    seconds = 0
    for amount, unit in re.findall(_PART, match.group(1), re.IGNORECASE):
        factor = _UNITS.get(unit.lower())
        if factor is None:
            raise UserError(f"unknown time unit '{unit}' in '{spec}' (use s, m, h, d or w)")
        seconds += int(amount) * factor
    return timedelta(seconds=seconds)


def _parse_iso(spec: str) -> datetime | None:
    """ISO 8601 as Python reads it; a date alone is refused (which time of day?)."""
    if not spec[:4].isdigit():
        return None
    try:
        day = date.fromisoformat(spec)
    except ValueError:
        pass
    else:
        raise UserError(f"'{spec}' has no time of day: add one, e.g. '{day.isoformat()} 08:00'")
    try:
        return datetime.fromisoformat(spec)
    except ValueError:
        return None  # perhaps a phrase: `2026-12-01 8:00 UTC`, `05.02.2027 08:00`
