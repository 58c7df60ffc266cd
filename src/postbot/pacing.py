"""Per-account pacing and lateness: never provoke a 429 ourselves; never send a stale teaser.

Pace is counted from the attempt log in the database, so several workers on several hosts
share one budget per account. Each account's `pace` option is a count per period ("300/3h"),
defaulting to its platform's posting limit, or "off".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from postbot.domain import Account
from postbot.errors import ConfigError

DEFAULT_MAX_LATENESS = timedelta(hours=2)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, where: str) -> timedelta:
    """'90s', '30m', '2h', '1d' (a bare number means seconds)."""
    value = str(text).strip()
    if value.replace(".", "", 1).isdigit():
        return timedelta(seconds=float(value))
    match = _DURATION.match(value)
    if not match:
        raise ConfigError(f"{where}: '{text}' is not a duration (use e.g. 90s, 30m, 2h, 1d)")
    return timedelta(seconds=float(match.group(1)) * _SECONDS[match.group(2).lower()])


@dataclass(frozen=True)
class Pace:
    count: int
    period: timedelta

    OFF: ClassVar[None] = None

    @classmethod
    def parse(cls, text: str, where: str) -> Pace | None:
        if str(text).strip().lower() == "off":
            return None
        count, slash, period = str(text).partition("/")
        if not slash or not count.strip().isdigit() or int(count) < 1:
            raise ConfigError(f"{where}: pace '{text}' must look like '300/3h' or 'off'")
        return cls(int(count), parse_duration(period, where))


def pace_of(account: Account) -> Pace | None:
    from postbot.platforms import platform_class

    raw = account.options.get("pace", platform_class(account.platform).default_pace)
    if raw is None:
        return None
    return Pace.parse(raw, f"accounts.{account.name}.pace")


def max_lateness_of(account: Account) -> timedelta | None:
    raw = account.options.get("max_lateness")
    if raw is None:
        return DEFAULT_MAX_LATENESS
    if str(raw).strip().lower() == "off":
        return None
    return parse_duration(raw, f"accounts.{account.name}.max_lateness")


@dataclass(frozen=True)
class Budget:
    remaining: int  # posts this account may still start now
    free_at: datetime | None  # when the next slot frees up, if none is left


def budgets(
    paces: dict[str, Pace], sent_since: dict[str, list[datetime]], now: datetime
) -> dict[str, Budget]:
    """For each paced account: how many posts it may start now, given what was sent lately.

    `sent_since[account]` holds the start times of its attempts within its longest period.
    """
    result = {}
    for name, pace in paces.items():
        window = sorted(t for t in sent_since.get(name, []) if t > now - pace.period)
        remaining = pace.count - len(window)
        free_at = None if remaining > 0 else window[-pace.count] + pace.period
        result[name] = Budget(max(0, remaining), free_at)
    return result
