"""The dispatch loop against the memory store: claim -> publish -> record, dry runs, pacing,
the free-slot rule, recovery, leases and closing. Platforms are the scripted test plugins of
tests/platforms.py (the X adapter over HTTP is tested in tests/integration/test_dispatch.py).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postbot.config import Settings, parse_settings
from postbot.dispatch import Dispatcher
from postbot.domain import Status
from postbot.drafts import Draft, plan
from postbot.pacing import Pace
from postbot.platforms.base import OutcomeUnknown, TransientError
from postbot.store import Store, open_store
from tests.platforms import Script

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 08:00 in Berlin


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings_for(accounts: dict[str, dict[str, Any]], **daemon: Any) -> Settings:
    raw = {
        "timezone": "Europe/Berlin",
        "retry": {"max_attempts": 3, "base_delay": 60, "max_delay": 600},
        "daemon": {"concurrency": 2, "batch_size": 10, "lease_seconds": 60, **daemon},
        "accounts": accounts,
    }
    return parse_settings(raw, Path("test.toml"), {})


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store("memory://")
    yield s
    s.dispose()


def enqueue(store: Store, settings: Settings, n: int, to: str, due: datetime = T0) -> list[int]:
    return [
        store.enqueue(plan(Draft(teaser=f"Beitrag {to} {i}", to=(to,)), settings), due, T0)
        for i in range(n)
    ]


def statuses(store: Store) -> dict[str, int]:
    return dict(store.status_summary().counts)


def test_a_pass_publishes_everything_due_and_records_each_attempt(
    store: Store, scripts: dict[str, Script]
) -> None:
    settings = settings_for({"a": {"platform": "scripted"}})
    posts = enqueue(store, settings, 25, "a")
    enqueue(store, settings, 2, "a", due=T0 + timedelta(minutes=5))  # not yet
    d = Dispatcher(store, settings, "w1", clock=Clock())
    assert d.run_pass() == 25
    assert d.close() is True
    assert statuses(store) == {"published": 25, "queued": 2}
    assert sorted(o.post_id for o in scripts["a"].calls) == posts  # each once
    for post_id in posts:
        [attempt] = store.attempts(post_id)
        assert (attempt.outcome, attempt.worker, attempt.dry_run) == ("published", "w1", False)
        assert attempt.remote_url == f"https://p.example/{attempt.delivery_id}"
    assert d.next_wake() == T0 + timedelta(minutes=5)


def test_a_dry_run_sends_nothing_and_marks_its_results(
    store: Store, scripts: dict[str, Script], caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for({"a": {"platform": "scripted", "pace": "3/1h"}})
    enqueue(store, settings, 5, "a")
    d = Dispatcher(store, settings, "demo", dry_run=True, clock=Clock())
    with caplog.at_level(logging.INFO, "postbot.dispatch"):
        assert d.run_pass() == 3  # a dry run keeps its own pace: it shows what would happen
    assert "a" not in scripts  # the platform was never called
    summary = store.status_summary()
    assert summary.counts == {"published": 3, "queued": 2}
    assert summary.dry_run == {"published": 3}
    assert all(a.dry_run for a in store.attempts())
    assert "would publish dry-run:" in caplog.text and "text='Beitrag a 0'" in caplog.text
    # The live budget is untouched: a live pass publishes right after the demo.
    assert store.pace_states({"a": Pace(3, timedelta(hours=1))}, T0)["a"].used == 0
    live = Dispatcher(store, settings, "w1", clock=Clock())
    assert live.run_pass() == 2
    assert len(scripts["a"].calls) == 2


def test_pacing_out_is_logged_with_the_next_slot_in_the_configured_zone(
    store: Store, scripts: dict[str, Script], caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for({"a": {"platform": "scripted", "pace": "2/1h"}})
    enqueue(store, settings, 5, "a")
    clock = Clock()
    d = Dispatcher(store, settings, "w1", clock=clock)
    with caplog.at_level(logging.INFO, "postbot.dispatch"):
        assert d.run_pass() == 2
        assert d.blocked == ["a"] and d.paced_until == T0 + timedelta(hours=1)
        assert d.next_wake() == T0 + timedelta(hours=1)
        clock.now = T0 + timedelta(minutes=30)
        assert d.run_pass() == 0  # left alone until its slot: not even a claim
        clock.now = T0 + timedelta(hours=1)
        assert d.run_pass() == 2  # the slot opens and is used at once: out again
        clock.now = T0 + timedelta(hours=2)
        assert d.run_pass() == 1  # the last one; budget is left
        assert d.blocked == [] and d.next_wake() is None
    lines = [r.getMessage() for r in caplog.records if "pace" in r.getMessage()]
    assert lines == [
        "a: paced out, 2 of 2 per 1h used; 3 due post(s) wait; next slot 2026-12-01 09:00:00 CET",
        "a: paced out, 2 of 2 per 1h used; 1 due post(s) wait; next slot 2026-12-01 10:00:00 CET",
        "a: pace slot open, 1 of 2 per 1h used",
    ]  # the pass in between said nothing new


def test_the_next_attempt_is_logged_in_the_configured_zone_to_the_second(
    store: Store, scripts: dict[str, Script], caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for({"a": {"platform": "scripted"}})
    scripts["a"] = Script()
    scripts["a"].answers.append(TransientError("503 Service Unavailable", http_status=503))
    [post_id] = enqueue(store, settings, 1, "a")
    with caplog.at_level(logging.INFO, "postbot.dispatch"):
        Dispatcher(store, settings, "w1", clock=Clock()).run_pass()
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # base_delay 60 s, equal jitter: between 30 and 60 s after 08:00:00 Berlin time.
    assert re.fullmatch(
        rf"post {post_id} -> a: queued \(attempt 1\): 503 Service Unavailable, "
        r"next attempt 2026-12-01 08:0[01]:\d\d CET",
        line,
    ), line
    [delivery] = store.get_post(post_id).deliveries
    assert (delivery.status, delivery.attempts) == (Status.QUEUED, 1)


def test_an_unknown_outcome_where_a_repeat_could_post_twice_is_never_resent(
    store: Store, scripts: dict[str, Script]
) -> None:
    settings = settings_for({"x": {"platform": "scripted-x", "pace": "off"}})
    scripts["x"] = Script()
    scripts["x"].answers.append(OutcomeUnknown("connection dropped after sending"))
    [post_id] = enqueue(store, settings, 1, "x")
    clock = Clock()
    d = Dispatcher(store, settings, "w1", clock=clock)
    d.run_pass()
    clock.now += timedelta(hours=3)
    assert d.run_pass() == 0
    [delivery] = store.get_post(post_id).deliveries
    assert delivery.status == Status.UNKNOWN and len(scripts["x"].calls) == 1


def _run_in_thread(d: Dispatcher) -> tuple[threading.Thread, list[int]]:
    handled: list[int] = []
    thread = threading.Thread(target=lambda: handled.append(d.run_pass()))
    thread.start()
    return thread, handled


@pytest.mark.parametrize(("platform", "most_claimed"), [("scripted-x", 2), ("scripted", 8)])
def test_accounts_without_duplicate_protection_are_claimed_only_into_free_slots(
    store: Store, scripts: dict[str, Script], platform: str, most_claimed: int
) -> None:
    """Concurrency 2, both publishes held: an X-like account has only those 2 claimed, so a
    crash leaves nothing claimed that was not being sent; another account is claimed ahead
    (up to 4 x concurrency in flight)."""
    settings = settings_for({"a": {"platform": platform, "pace": "off"}})
    scripts["a"] = Script()
    enqueue(store, settings, 12, "a")
    gate = scripts["a"].hold()
    d = Dispatcher(store, settings, "w1", clock=Clock())
    thread, handled = _run_in_thread(d)
    scripts["a"].wait_started(2)
    time.sleep(0.2)  # time enough for a (wrong) claim ahead
    claimed = statuses(store).get("publishing", 0)
    gate.set()
    thread.join(timeout=30)
    assert claimed == most_claimed
    assert handled == [12] and statuses(store) == {"published": 12}


def test_a_live_worker_requeues_a_dead_dry_runs_claims_without_asking_the_platform(
    store: Store, scripts: dict[str, Script]
) -> None:
    settings = settings_for({"x": {"platform": "scripted-x", "pace": "off"}})
    [post_id] = enqueue(store, settings, 1, "x")
    store.claim_due("dead-demo", T0, 10, timedelta(seconds=10), dry_run=True)
    live = Dispatcher(store, settings, "w1", clock=Clock(T0 + timedelta(seconds=11)))
    dry = Dispatcher(store, settings, "w2", dry_run=True, clock=Clock(T0 + timedelta(seconds=11)))
    store.claim_due("dead-live", T0, 10, timedelta(seconds=10))  # nothing left to claim
    assert live.recover() == 1
    [delivery] = store.get_post(post_id).deliveries
    assert delivery.status == Status.QUEUED  # an X post a dry run held is not `unknown`
    assert "x" not in scripts  # no lookup, no publish
    [attempt] = store.attempts(post_id)
    assert attempt.dry_run is True and "dry run" in (attempt.error_message or "")
    # A dry run takes over only what a dry run held: it cannot tell where a live post went.
    [other] = enqueue(store, settings, 1, "x")
    store.claim_due("dead-live", T0, 10, timedelta(seconds=10))
    assert dry.recover() == 0
    assert store.get_post(other).deliveries[0].lease_owner == "dead-live"


def test_leases_of_running_publishes_are_renewed(store: Store, scripts: dict[str, Script]) -> None:
    settings = settings_for({"a": {"platform": "scripted", "pace": "off"}})
    scripts["a"] = Script()
    gate = scripts["a"].hold()
    [post_id] = enqueue(store, settings, 1, "a")
    clock = Clock()
    d = Dispatcher(store, settings, "w1", clock=clock)
    thread, _ = _run_in_thread(d)
    scripts["a"].wait_started()
    clock.now = T0 + timedelta(seconds=50)
    d.renew_leases()
    [delivery] = store.get_post(post_id).deliveries
    assert delivery.lease_expires_at == T0 + timedelta(seconds=110)
    gate.set()
    thread.join(timeout=30)
    d.renew_leases()  # nothing held any more: nothing to renew
    assert store.get_post(post_id).deliveries[0].lease_expires_at is None


def test_close_waits_no_longer_than_its_timeout(
    store: Store, scripts: dict[str, Script], caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for({"a": {"platform": "scripted", "pace": "off"}})
    scripts["a"] = Script()
    gate = scripts["a"].hold()
    enqueue(store, settings, 1, "a")
    d = Dispatcher(store, settings, "w1", clock=Clock())
    thread, handled = _run_in_thread(d)
    scripts["a"].wait_started()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, "postbot.dispatch"):
        assert d.close(timeout=0.3) is False
    took = time.monotonic() - started
    assert 0.25 <= took < 2, took
    assert "1 publish(es) still running after 0.3 s; leaving them" in caplog.text
    gate.set()
    thread.join(timeout=30)
    assert handled == [1] and statuses(store) == {"published": 1}  # it still got recorded
    assert d.close(timeout=0.3) is True
