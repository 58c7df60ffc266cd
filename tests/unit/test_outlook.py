"""`read_outlook`: why the queue waits, as `status`, `list` and `show` say it (memory store)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postbot.config import Settings, parse_settings
from postbot.dispatch import Dispatcher
from postbot.dispatch.outlook import read_outlook
from postbot.domain import NextSend, PaceState, Status, WaitReason
from postbot.drafts import Draft, plan
from postbot.pacing import wait_of
from postbot.store import Store, open_store
from tests.platforms import Script

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store("memory://")
    yield s
    s.dispose()


@pytest.fixture
def settings(scripts: dict[str, Script]) -> Settings:
    accounts = {"a": {"platform": "scripted", "pace": "2/1h"}, "b": {"platform": "scripted"}}
    return parse_settings({"accounts": accounts}, Path("test.toml"), {})


def enqueue(store: Store, settings: Settings, to: str, due: datetime) -> int:
    return store.enqueue(plan(Draft(teaser=f"Nach {to}", to=(to,)), settings), due, T0)


def test_while_everything_due_waits_for_its_pace_the_next_send_is_the_next_slot(
    store: Store, settings: Settings
) -> None:
    a = [enqueue(store, settings, "a", T0) for _ in range(4)]
    later = enqueue(store, settings, "b", T0 + 2 * HOUR)
    assert Dispatcher(store, settings, "w1", clock=lambda: T0).run_pass() == 2
    now = T0 + timedelta(minutes=10)

    outlook = read_outlook(store, settings, now)
    out = PaceState("a", 2, HOUR, 2, T0 + HOUR, 2)
    assert outlook.paces == {"a": out}
    # Not 07:00 (due, but paced out, and already past): 08:00, when the slot opens.
    assert outlook.next_send == NextSend(T0 + HOUR, "a", out)
    waits = {
        d.id: wait_of(d, outlook.paces, now)
        for post_id in [*a, later]
        for d in store.get_post(post_id).deliveries
    }
    reasons = [(w.reason, w.until) if w else None for w in waits.values()]
    assert reasons == [
        None, None,  # published
        (WaitReason.PACED, T0 + HOUR), (WaitReason.PACED, T0 + HOUR),
        (WaitReason.SCHEDULED, T0 + 2 * HOUR),
    ]  # fmt: skip
    paced = [w for w in waits.values() if w and w.reason == WaitReason.PACED]
    assert all(w.pace == out for w in paced)  # "2 of 2 per 1h used, next slot 08:00:00"


def test_with_budget_left_a_due_delivery_waits_for_nothing_but_a_daemon(
    store: Store, settings: Settings
) -> None:
    post_id = enqueue(store, settings, "b", T0 - timedelta(minutes=5))
    outlook = read_outlook(store, settings, T0)
    assert outlook.next_send == NextSend(T0 - timedelta(minutes=5), "b")  # due: goes at once
    [delivery] = store.get_post(post_id).deliveries
    wait = wait_of(delivery, outlook.paces, T0)
    assert wait is not None and wait.reason == WaitReason.DUE
    assert outlook.paces["a"] == PaceState("a", 2, HOUR, 0, None, 0)
    assert delivery.status == Status.QUEUED


def test_a_dry_runs_budget_never_holds_a_live_delivery_back(
    store: Store, settings: Settings
) -> None:
    for _ in range(3):
        enqueue(store, settings, "a", T0)
    Dispatcher(store, settings, "demo", dry_run=True, clock=lambda: T0).run_pass()
    outlook = read_outlook(store, settings, T0)
    assert outlook.paces["a"].used == 0  # the live budget: untouched by the demo
    assert outlook.next_send == NextSend(T0, "a")
