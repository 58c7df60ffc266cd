"""The claim planner: paced accounts one by one, X-like accounts only into free slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postbot.config import parse_settings
from postbot.dispatch.planner import (
    AccountRules,
    ClaimRequest,
    Room,
    earliest,
    held_back,
    requests,
    room,
)
from postbot.errors import ConfigError
from postbot.pacing import Pace

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def rules_for(accounts: dict[str, dict[str, Any]], *, dry_run: bool = False) -> AccountRules:
    settings = parse_settings({"accounts": accounts}, Path("test.toml"), {})
    return AccountRules.of(settings, dry_run=dry_run)


ACCOUNTS = {
    "x": {"platform": "x"},  # paced (17/24h) and without duplicate protection
    "masto": {"platform": "mastodon", "base_url": "https://m.example", "pace": "off"},
    "sky": {"platform": "bluesky", "pace": "10/1h", "max_lateness": "off"},
    "staging": {"platform": "dryrun"},
}


def test_rules_from_the_config() -> None:
    rules = rules_for(ACCOUNTS)
    assert rules.paces == {"x": Pace(17, DAY), "sky": Pace(10, timedelta(hours=1))}
    assert rules.free_slots_only == {"x"}
    assert rules.lateness == {"x": timedelta(hours=2), "masto": timedelta(hours=2), "sky": None,
                              "staging": timedelta(hours=2)}  # fmt: skip
    # A dry run sends nothing: no account needs free slots there; paces still hold (its own).
    dry = rules_for(ACCOUNTS, dry_run=True)
    assert dry.free_slots_only == frozenset() and dry.paces == rules.paces


def test_a_bad_pace_is_refused_when_the_rules_are_made() -> None:
    with pytest.raises(ConfigError, match="pace 'lots'"):
        rules_for({"x": {"platform": "x", "pace": "lots"}})


def test_requests_free_slot_accounts_first_then_the_rest_then_the_paced() -> None:
    rules = rules_for(ACCOUNTS)
    assert requests(rules, paced_out=()) == [
        ClaimRequest("x", Pace(17, DAY), free_slots_only=True),
        ClaimRequest(None, skip=("sky", "x")),
        ClaimRequest("sky", Pace(10, timedelta(hours=1))),
    ]
    # A paced-out account is left alone; the others are still claimed, and never it.
    assert requests(rules, paced_out=["x", "sky"]) == [ClaimRequest(None, skip=("sky", "x"))]


def test_without_paces_or_x_one_claim_takes_everything() -> None:
    rules = rules_for({"staging": {"platform": "dryrun"}, "m": {
        "platform": "mastodon", "base_url": "https://m.example", "pace": "off"}})  # fmt: skip
    assert requests(rules, ()) == [ClaimRequest(None)]


def test_room_runs_claims_ahead_of_the_pool_but_x_gets_only_free_slots() -> None:
    assert room(8, 200, 0, 0) == Room(32, 8)  # four times the pool, eight free slots
    assert room(8, 20, 0, 0) == Room(20, 8)  # never more than a batch
    assert room(8, 200, 30, 0) == Room(2, 1)  # a full pool: one X post at a time
    assert room(8, 200, 30, 1) == Room(2, 0)  # ... and only while none is in flight
    assert room(8, 200, 40, 0) == Room(0, 1)


def test_the_room_shrinks_as_claims_take_it() -> None:
    x = ClaimRequest("x", free_slots_only=True)
    rest = ClaimRequest(None)
    r = Room(10, 3)
    assert (r.cap(x), r.cap(rest)) == (3, 10)
    r = r.after(x, 2)
    assert r == Room(8, 1) and r.cap(x) == 1
    r = r.after(rest, 8)
    assert r == Room(0, 1) and r.cap(x) == 0 and r.cap(rest) == 0


def test_held_back_and_earliest() -> None:
    slots = {"x": T0 + timedelta(minutes=5), "sky": T0 - timedelta(seconds=1)}
    assert held_back(slots, T0) == ["x"]  # sky's slot has opened
    assert held_back(slots, T0 + timedelta(minutes=5)) == []
    assert earliest([None, T0 + timedelta(seconds=2), T0 + timedelta(seconds=1)]) == T0 + timedelta(
        seconds=1
    )
    assert earliest([None, None]) is None
