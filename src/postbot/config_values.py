"""The value rules of the config's keys: each takes what the TOML file says and returns it, or
raises ValueError with words that follow the key's name (`timezone: unknown time zone ...`).
The schema (config.py) names which rule each key follows."""

from __future__ import annotations

import os
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from postbot.errors import ConfigError
from postbot.schema import suggest


def zone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        from zoneinfo import available_timezones

        raise ValueError(
            f"unknown time zone '{value}'{suggest(value, available_timezones())}"
            " (an IANA name such as Europe/Berlin)"
        ) from None


def language_tag(value: str) -> str:
    """The one rule for a language (the config's, and each post's): a BCP 47-shaped tag."""
    if not re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", value):
        raise ValueError("must be a language tag such as de, en-US or en-GB")
    return value


def existing_folder(value: str) -> str:
    if not os.path.isdir(value):
        raise ValueError(
            f"there is no folder {value} (a relative path is read from the project folder:"
            " the config file's folder, or project_dir)"
        )
    return value


def database_url(value: str) -> str:
    if "://" not in value:
        raise ValueError(
            "must be a database URL, e.g. sqlite:///var/postbot.db or"
            " postgresql+psycopg://user@host/postbot"
        )
    return value


def http_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError("must be an http:// or https:// address, e.g. https://mastodon.social")
    return value


def web_user(value: str) -> str:
    if not re.fullmatch(r"[^\s\x00-\x1f\x7f]{1,100}", value):
        raise ValueError('must be a user name of 1 to 100 characters without spaces, e.g. "desk"')
    return value


def password_hash(value: str) -> str:
    # The hash is not a token, but it is never shown either: not even in this refusal.
    if not re.fullmatch(
        r"\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+", value
    ):
        raise ValueError(
            "must be an argon2id hash as `postbot passwd` prints it (the value is not shown)"
        )
    return value


def addresses(value: list[object]) -> tuple[str, ...]:
    import ipaddress

    for item in value:
        try:
            ipaddress.ip_address(str(item))
        except ValueError:
            raise ValueError(
                f"'{item}' is not an IP address; list the proxies' addresses, e.g. [\"127.0.0.1\"]"
            ) from None
    return tuple(str(item) for item in value)


def at_least_one(value: int) -> int:
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def pace(value: str) -> str:
    from postbot.pacing import Pace

    try:
        Pace.parse(value, "pace")
    except ConfigError as exc:  # pacing's own words, without its "pace: " prefix
        raise ValueError(str(exc).removeprefix("pace: ")) from None
    return value  # stored as written: pacing reads it where it is used


def lateness(value: str | int | float) -> str | int | float:
    from postbot.pacing import parse_duration

    if str(value).strip().lower() != "off":
        try:
            parse_duration(str(value), "max_lateness")
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("max_lateness: ")) from None
    return value
