"""`[feeds.NAME]` tables: checked against their schema when the config loads (as every other
table: the file, the line, the key, how to write it), the template and the accounts included.

    [feeds.politik]
    url = "https://example.org/politik/rss.xml"
    to = ["mastodon", "bluesky"]
    every = "5m"
    review = true
    template = "{title}: {summary}"
    hashtags = { "Bundestag" = "Bundestag", "Klimapolitik" = "Klima" }
    language = "de"
    delay = 10                    # minutes after the article appears
    quiet_hours = "23:00-06:00"
    max_per_poll = 5
    since = "2026-12-01 00:00"    # the first poll posts articles from then on
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from postbot.errors import ConfigError
from postbot.feeds import template as templates
from postbot.feeds.schedule import QuietHours
from postbot.options import Option, positive_int
from postbot.schema import Where, check_keys, check_options, check_value, label, suggest, table

DEFAULT_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class FeedSettings:
    name: str
    url: str
    to: tuple[str, ...] = ()  # empty: every configured account
    every: timedelta = DEFAULT_EVERY
    review: bool = False
    template: str = templates.DEFAULT
    hashtags: Mapping[str, str] | None = None  # category -> hashtag; None: categories as-is
    language: str | None = None
    delay: timedelta = timedelta(0)
    quiet_hours: QuietHours | None = None
    max_per_poll: int = 10
    since: datetime | None = None
    timeout: float = 10.0  # seconds for one request (connect, each read)
    extra: Mapping[str, Any] = field(default_factory=dict)


def _duration(value: Any) -> timedelta:
    from postbot.pacing import parse_duration

    try:
        return parse_duration(str(value), "every")
    except ConfigError:
        raise ValueError(f'\'{value}\' is not a duration (write e.g. "5m", "90s", "1h")') from None


def _every(value: Any) -> timedelta:
    every = _duration(value)
    if every < timedelta(seconds=1):
        raise ValueError('must be at least 1 second (write e.g. "5m")')
    return every


def _delay(value: Any) -> timedelta:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("must be 0 or more minutes")
        return timedelta(minutes=value)
    return _duration(value)


def _url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError(
            'must be the feed\'s http:// or https:// address, e.g. "https://example.org/rss.xml"'
        )
    return value


def _template(value: str) -> str:
    return templates.check(value)


def _quiet(value: str) -> QuietHours:
    return QuietHours.parse(value)


def _timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 300:
        raise ValueError("must be a number of seconds above 0 and at most 300")
    return float(value)


def _names(value: list[Any]) -> tuple[str, ...]:
    if not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError('must list account names from [accounts], e.g. ["mastodon", "bluesky"]')
    return tuple(value)


OPTIONS: Mapping[str, Option] = {
    "url": Option(str, parse=_url),
    "to": Option(list, parse=_names, help='account names, e.g. ["mastodon"]'),
    "every": Option((str, int), parse=_every, help='a duration, e.g. "5m"'),
    "review": Option(bool),
    "template": Option(str, parse=_template, help='a template, e.g. "{title}: {summary}"'),
    "hashtags": Option(
        dict, help='a table of category = hashtag, e.g. { "Klimapolitik" = "Klima" }'
    ),
    "language": Option(str),
    "delay": Option((int, str), parse=_delay, help='minutes, e.g. 10, or a duration, e.g. "10m"'),
    "quiet_hours": Option(str, parse=_quiet, help='a span such as "23:00-06:00"'),
    "max_per_poll": Option(int, parse=positive_int),
    "since": Option(str, help='a date and time, e.g. "2026-12-01 00:00"'),
    "timeout": Option((int, float), parse=_timeout, help="seconds, e.g. 10"),
}


def parse_feeds(
    raw: Mapping[str, Any],
    where: Where,
    base: Path,
    accounts: Mapping[str, Any],
    zone: tzinfo,
    language: Any,
) -> dict[str, FeedSettings]:
    """Every `[feeds.NAME]` table, checked; `language` checks a language tag (config's own)."""
    feeds = {}
    for name, value in raw.items():
        path = ("feeds", name)
        given = table(raw, name, ("feeds",), where)
        del value
        check_keys(given, OPTIONS, path, where)
        if "url" not in given:
            raise where.error(
                path, f'[{label(path)}] needs url = "https://..." (the feed\'s address)'
            )
        values = check_options(given, OPTIONS, path, where, base)
        for account in values.get("to", ()):
            if account not in accounts:
                known = ", ".join(sorted(accounts)) or "none configured"
                hint = suggest(account, accounts)
                raise where.error(
                    (*path, "to"),
                    f"{label((*path, 'to'))}: unknown account '{account}'{hint} (known: {known})",
                )
        if "hashtags" in values:
            values["hashtags"] = _hashtag_map(values["hashtags"], (*path, "hashtags"), where)
        if "language" in values:
            values["language"] = check_value(
                values["language"], Option(str, parse=language), (*path, "language"), where, base
            )
        if "since" in values:
            values["since"] = _since(values["since"], zone, (*path, "since"), where)
        feeds[name] = FeedSettings(name=name, **values)
    return feeds


def _hashtag_map(value: Mapping[str, Any], path: tuple[str, ...], where: Where) -> dict[str, str]:
    from postbot.compose import normalize_hashtag
    from postbot.errors import UserError

    out = {}
    for category, tag in value.items():
        if not isinstance(tag, str):
            raise where.error((*path, category), f"{label(path)}.{category}: write the hashtag"
                              ' in quotes, e.g. "Klima"')  # fmt: skip
        try:
            out[category] = normalize_hashtag(tag)
        except UserError as exc:
            raise where.error((*path, category), f"{label(path)}.{category}: {exc}") from None
    return out


def _since(value: str, zone: tzinfo, path: tuple[str, ...], where: Where) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise where.error(
            path,
            f"{label(path)}: '{value}' is not a date and time; write"
            ' e.g. "2026-12-01 00:00" (the configured zone) or ISO 8601',
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=zone)
