"""Per-account pacing and lateness: never provoke a 429 ourselves; never send a stale teaser.

Pace is counted from the attempt log in the database, inside the claim transaction
(`Store.claim_paced`), so any number of workers on any number of hosts share one budget per
account. Each account's `pace` option is a count per period ("300/3h"), defaulting to its
platform's posting limit, or "off". Live and dry-run attempts are counted apart: a demo never
uses up the live budget.

The budget arithmetic (`pace_state`), the reason a queued delivery waits (`wait_of`) and when
the next one goes (`next_send`) are pure functions here; the stores call the first, `status`,
`list` and `show` the others (through `dispatch.outlook`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from postbot.domain import Account, Delivery, NextSend, PaceState, Status, Wait, WaitReason
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

    @classmethod
    def parse(cls, text: str, where: str) -> Pace | None:
        """'300/3h' -> Pace(300, 3 h); 'off' -> None."""
        if str(text).strip().lower() == "off":
            return None
        count, slash, period = str(text).partition("/")
        if not slash or not count.strip().isdigit() or int(count) < 1:
            raise ConfigError(f"{where}: pace '{text}' must look like '300/3h' or 'off'")
        return cls(int(count), parse_duration(period, where))

    def __str__(self) -> str:
        return f"{self.count}/{describe_period(self.period)}"


def describe_period(period: timedelta) -> str:
    seconds = period.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def pace_of(account: Account) -> Pace | None:
    from postbot.platforms import platform_class

    raw = account.options.get("pace", platform_class(account.platform).default_pace)
    if raw is None:
        return None
    return Pace.parse(raw, f"accounts.{account.name}.pace")


def paces_of(accounts: Iterable[Account]) -> dict[str, Pace]:
    """The paced accounts among `accounts`, with their paces (ConfigError for a bad one)."""
    return {a.name: p for a in accounts if (p := pace_of(a)) is not None}


def max_lateness_of(account: Account) -> timedelta | None:
    raw = account.options.get("max_lateness")
    if raw is None:
        return DEFAULT_MAX_LATENESS
    if str(raw).strip().lower() == "off":
        return None
    return parse_duration(raw, f"accounts.{account.name}.max_lateness")


def pace_state(
    account: str, pace: Pace, starts: Iterable[datetime], now: datetime, waiting: int = 0
) -> PaceState:
    """The budget left, given when the account's recent publishes started.

    A start counts for `pace.period` after it; with every slot taken, the next one frees up
    when the oldest of the latest `pace.count` starts has aged out.
    """
    window = sorted((t for t in starts if t > now - pace.period), reverse=True)[: pace.count]
    used = len(window)
    next_slot = window[-1] + pace.period if used >= pace.count else None
    return PaceState(account, pace.count, pace.period, used, next_slot, waiting)


def pace_room(
    account: str, pace: Pace, starts: Iterable[datetime], now: datetime, limit: int
) -> int:
    """How many of `limit` deliveries a claim may start now under `pace` (0 or more)."""
    return max(0, min(limit, pace.count - pace_state(account, pace, starts, now).used))


def pace_after(
    account: str,
    pace: Pace,
    starts: Iterable[datetime],
    claimed: int,
    now: datetime,
    waiting: Callable[[], int],
) -> PaceState:
    """The pace once a claim started `claimed` more publishes now; when that used it up,
    with how many due deliveries wait for it (`waiting`, read only then)."""
    starts = [*starts, *([now] * claimed)]  # a claim starts a publish now
    after = pace_state(account, pace, starts, now)
    return pace_state(account, pace, starts, now, waiting()) if after.paced_out else after


def wait_of(delivery: Delivery, paces: Mapping[str, PaceState], now: datetime) -> Wait | None:
    """Why a queued delivery has not gone out yet, and until when; None if it is not queued.

    `paces`: the live pace states of the paced accounts (`Store.pace_states`).
    """
    if delivery.status != Status.QUEUED:
        return None
    pace = paces.get(delivery.account)
    due = delivery.next_attempt_at
    if pace is not None and pace.paced_out and pace.next_slot is not None:
        until = max(pace.next_slot, due)
        if until > due:  # it would be due by then: the pace is what holds it back
            return Wait(delivery.id, delivery.account, WaitReason.PACED, until, pace)
    if due > now:
        reason = WaitReason.RETRY if delivery.attempts else WaitReason.SCHEDULED
        return Wait(delivery.id, delivery.account, reason, due)
    return Wait(delivery.id, delivery.account, WaitReason.DUE, due)


def next_send(next_due: Mapping[str, datetime], paces: Mapping[str, PaceState]) -> NextSend | None:
    """When the first queued delivery can go out: each account's next due time, or, for an
    account that used its pace budget, its next slot if that is later."""
    sends = []
    for account, due in next_due.items():
        pace = paces.get(account)
        if pace is not None and pace.paced_out and pace.next_slot and pace.next_slot > due:
            sends.append(NextSend(pace.next_slot, account, pace))
        else:
            sends.append(NextSend(due, account))
    return min(sends, key=lambda s: (s.at, s.account), default=None)
