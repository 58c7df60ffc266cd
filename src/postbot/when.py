"""`--at` and front-matter `at`: parse a time a person wrote into an aware UTC datetime.

Accepted, in this order:
- relative: `+2h`, `+1h30m`, `+90s`, `in 30 minutes`, `in 2 hours`, `in 1 day`;
- ISO 8601 with an offset: `2026-12-01T08:00:00+01:00`, `2026-12-01T07:00Z`;
- ISO 8601 without an offset: a local date-time in the configured zone;
- anything else dateparser understands (`tomorrow 8:00`, `next monday 9am`), as local time.
A local time that does not exist (spring forward) or exists twice (fall back) is an error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from postbot.errors import UserError

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_PART = r"(\d+)\s*([a-z]+)"
_RELATIVE = re.compile(rf"^(?:\+|in\s+)\s*((?:{_PART}\s*(?:,|and)?\s*)+)$", re.IGNORECASE)
# `+5` or `in 5`: a relative time without its unit (dateparser would read a month into it).
_NO_UNIT = re.compile(r"^(?:\+|in\s+)\s*\d+$", re.IGNORECASE)


def parse_when(text: str, zone: tzinfo, now: datetime | None = None) -> datetime:
    """Parse `text` into an aware UTC datetime. Raises UserError saying what is wrong."""
    now = now or datetime.now(UTC)
    spec = text.strip()
    if not spec:
        raise UserError("empty time: give e.g. '2026-12-01 08:00', '+2h' or 'in 30 minutes'")
    relative = _parse_relative(spec)
    if relative is not None:
        return now + relative
    try:
        parsed = datetime.fromisoformat(spec)
    except ValueError:
        parsed = _parse_natural(spec, zone, now)
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return localize(parsed, zone, spec)


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


def require_future(when: datetime, now: datetime, spec: str) -> datetime:
    if when < now:
        raise UserError(f"time '{spec}' is in the past ({when.isoformat()}); use --now to post now")
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


def _parse_natural(spec: str, zone: tzinfo, now: datetime) -> datetime:
    import dateparser  # only for natural-language times: it is slow to import

    local_now = now.astimezone(zone).replace(tzinfo=None)
    parsed = dateparser.parse(
        spec,
        settings={
            "RELATIVE_BASE": local_now,
            "PREFER_DATES_FROM": "future",
            # No RETURN_AS_TIMEZONE_AWARE=False: it would drop a zone the text names
            # ('tomorrow 8:00 UTC'); without it such a time comes back aware, others naive.
            "STRICT_PARSING": False,
        },
    )
    if parsed is None:
        raise UserError(
            f"cannot understand the time '{spec}': use ISO 8601 ('2026-12-01 08:00',"
            " '2026-12-01T08:00+01:00') or a relative time ('+2h', 'in 30 minutes')"
        )
    return parsed
