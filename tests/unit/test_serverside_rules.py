"""Server-side scheduling's decisions and options, without a server: what the server already
holds, its limits counted per UTC day, and the account options refused when they cannot work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postbot.config import parse_settings
from postbot.dispatch.serverside import matching, over_limits
from postbot.errors import ConfigError
from postbot.platforms import platform_for
from postbot.platforms.base import Scheduled, ServerSide

T0 = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Berlin: the UTC day still Dec 1
RULES = ServerSide(timedelta(hours=1), timedelta(minutes=1), timedelta(minutes=6), 3, 2)


def test_what_the_server_holds_is_matched_by_text_and_time_to_the_second() -> None:
    held = [Scheduled("1", T0, "Andere  Nachricht"), Scheduled("2", T0, "Der  Teaser\n")]
    assert matching(held, "Der Teaser", T0.replace(microsecond=654321)) == held[1]
    assert matching(held, "Der Teaser", T0 + timedelta(seconds=1)) is None
    assert matching(held, "Ein anderer", T0) is None


def test_the_servers_limits_count_all_it_holds_and_each_utc_day() -> None:
    one = [Scheduled("1", T0, "a")]
    assert over_limits(one, T0, RULES) is None
    two = [*one, Scheduled("2", T0 + timedelta(minutes=10), "b")]
    assert over_limits(two, T0 + timedelta(minutes=20), RULES) == (
        "the account has 2 scheduled posts on the server for 2026-12-01, its limit is 2 a day"
    )
    # The next UTC day has room (Mastodon counts by scheduled_at's date in UTC).
    assert over_limits(two, T0 + timedelta(hours=2), RULES) is None
    three = [*two, Scheduled("3", T0 + timedelta(days=1), "c")]
    assert over_limits(three, T0 + timedelta(days=3), RULES) == (
        "the account has 3 scheduled posts on the server, its limit is 3"
    )


def account(**options: Any) -> Any:
    raw = {"timezone": "UTC", "accounts": {"m": {
        "platform": "mastodon", "base_url": "https://m.example",
        "credentials": {"access_token": "MASTODON_ACCESS_TOKEN"}, **options}}}  # fmt: skip
    return parse_settings(raw, Path("postbot.toml"), {}).account("m")


def test_server_side_options_and_the_instances_rules() -> None:
    platform = platform_for(account(server_side=True, server_side_lead="2h"))
    assert platform.server_side == ServerSide(
        lead=timedelta(hours=2), check=timedelta(minutes=1), min_ahead=timedelta(minutes=6),
        total_limit=300, daily_limit=25,
    )  # fmt: skip
    assert platform_for(account()).server_side is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"server_side": True, "server_side_lead": "5m"},
            "accounts.m.server_side_lead must be more than 6 minutes",
        ),
        (
            {"server_side": True, "server_side_lead": "soon"},
            "accounts.m.server_side_lead: 'soon' is not a duration",
        ),
        ({"server_side": "yes"}, "accounts.m.server_side: wrong type (str); write true or false"),
    ],
)
def test_bad_server_side_options_are_refused_in_the_config(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        account(**options)
    assert message in str(info.value), str(info.value)


def test_a_lead_without_server_side_would_change_nothing_and_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        platform_for(account(server_side_lead="2h"))
    assert str(info.value) == (
        "account 'm': server_side_lead is set but server_side is not true: set server_side ="
        " true, or remove it"
    )
