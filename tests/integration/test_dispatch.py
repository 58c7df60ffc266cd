"""The dispatcher: claim -> publish -> record, retries, failures, unknown outcomes, recovery.

Published through the real X adapter (tweepy over HTTP) against the local fake X, and the
dry-run adapter; a controllable clock stands in for waiting.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postbot.config import Settings, parse_settings
from postbot.dispatch import Dispatcher
from postbot.domain import Delivery, Status
from postbot.drafts import Draft, plan
from postbot.retry import RetryStrategy
from postbot.store import Store, open_store
from tests.fakes.x_server import FakeX, Fault

ENV = {
    "X_CK": "ck-Secret-Consumer-4711",
    "X_CS": "cs-Secret-Consumer-0815",
    "X_AT": "1790000000000000001-at-Secret-Access-42",
    "X_ATS": "ats-Secret-Access-Token-99",
}
T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    with FakeX() as server:
        yield server


@pytest.fixture
def settings(fake_x: FakeX) -> Settings:
    raw: dict[str, Any] = {
        "timezone": "Europe/Berlin",
        "retry": {"max_attempts": 3, "base_delay": 60, "max_delay": 600},
        "daemon": {"lease_seconds": 60, "concurrency": 4},
        "accounts": {
            "x": {
                "platform": "x",
                "base_url": fake_x.base_url,
                "timeout": 1,
                "credentials": {
                    "consumer_key": "X_CK",
                    "consumer_secret": "X_CS",
                    "access_token": "X_AT",
                    "access_token_secret": "X_ATS",
                },
            },
            "staging": {"platform": "dryrun"},
        },
    }
    return parse_settings(raw, Path("test.toml"), {})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path}/dispatch.db")
    store.ensure_schema()
    yield store
    store.dispose()


def enqueue(store: Store, settings: Settings, text: str, to: str = "x") -> int:
    return store.enqueue(plan(Draft(teaser=text, to=(to,), language="de"), settings), T0, T0)


def dispatcher(store: Store, settings: Settings, clock: Clock, worker: str = "w1") -> Dispatcher:
    return Dispatcher(store, settings, worker, environ=ENV, clock=clock)


def delivery(store: Store, post_id: int) -> Delivery:
    [d] = store.get_post(post_id).deliveries
    return d


def test_publishes_through_x_and_records_the_attempt(
    db: Store, settings: Settings, fake_x: FakeX
) -> None:
    post_id = enqueue(db, settings, "Gipfel in Astana: Xi übernimmt den Vorsitz #SOZGipfel")
    d = dispatcher(db, settings, Clock(T0))
    assert d.run_pass() == 1
    d.close()
    [tweet] = fake_x.tweets
    assert tweet["text"] == "Gipfel in Astana: Xi übernimmt den Vorsitz #SOZGipfel"
    row = delivery(db, post_id)
    assert row.status == Status.PUBLISHED
    assert row.remote_id == fake_x.tweet_ids[0]
    assert (row.remote_url or "").endswith(f"/status/{fake_x.tweet_ids[0]}")
    [attempt] = db.attempts(post_id)
    assert attempt.outcome == "published" and attempt.http_status == 201
    # A second pass finds nothing to do: nothing is published twice.
    d2 = dispatcher(db, settings, Clock(T0 + timedelta(minutes=5)))
    assert d2.run_pass() == 0
    assert len(fake_x.tweets) == 1


def test_transient_error_is_retried_later_then_published(
    db: Store, settings: Settings, fake_x: FakeX
) -> None:
    post_id = enqueue(db, settings, "Erst 503, dann klappt es")
    fake_x.inject("/2/tweets", Fault.server_error(503))
    clock = Clock(T0)
    d = dispatcher(db, settings, clock)
    d.run_pass()
    row = delivery(db, post_id)
    assert row.status == Status.QUEUED and row.attempts == 1
    assert T0 + timedelta(seconds=30) <= row.next_attempt_at <= T0 + timedelta(seconds=60)
    assert "503" in (row.last_error or "") or row.last_error
    assert d.run_pass() == 0  # not yet due again
    clock.now = row.next_attempt_at
    assert d.run_pass() == 1
    assert delivery(db, post_id).status == Status.PUBLISHED
    outcomes = [a.outcome for a in db.attempts(post_id)]
    assert outcomes == ["transient", "published"]
    assert len(fake_x.tweets) == 1


def test_rate_limit_retry_waits_for_the_platform_reset(
    db: Store, settings: Settings, fake_x: FakeX
) -> None:
    post_id = enqueue(db, settings, "Zu viele Anfragen")
    reset = int((T0 + timedelta(hours=1)).timestamp())
    fake_x.inject("/2/tweets", Fault.rate_limited(reset))
    dispatcher(db, settings, Clock(T0)).run_pass()
    row = delivery(db, post_id)
    assert row.status == Status.QUEUED
    assert row.next_attempt_at >= datetime.fromtimestamp(reset, UTC)
    [attempt] = db.attempts(post_id)
    assert attempt.http_status == 429


def test_permanent_error_fails_at_once_with_the_platform_message(
    db: Store, settings: Settings, fake_x: FakeX
) -> None:
    post_id = enqueue(db, settings, "Doppelt gemoppelt")
    fake_x.inject("/2/tweets", Fault.duplicate())
    dispatcher(db, settings, Clock(T0)).run_pass()
    row = delivery(db, post_id)
    assert row.status == Status.FAILED and row.attempts == 1
    assert "duplicate" in (row.last_error or "")
    [attempt] = db.attempts(post_id)
    assert attempt.outcome == "permanent" and attempt.http_status == 403
    for secret in ENV.values():
        assert secret not in (row.last_error or "")


def test_attempts_run_out(db: Store, settings: Settings, fake_x: FakeX) -> None:
    post_id = enqueue(db, settings, "Immer 500")
    fake_x.inject("/2/tweets", Fault.server_error(500), times=3)
    clock = Clock(T0)
    d = dispatcher(db, settings, clock)
    for _ in range(3):
        d.run_pass()
        clock.now += timedelta(hours=1)
    row = delivery(db, post_id)
    assert row.status == Status.FAILED and row.attempts == 3
    assert "gave up after 3 attempts" in (row.last_error or "")
    assert len(fake_x.tweets) == 0


def test_unknown_outcome_on_x_is_not_retried_until_a_person_says_so(
    db: Store, settings: Settings, fake_x: FakeX
) -> None:
    post_id = enqueue(db, settings, "Verbindung weg nach dem Speichern")
    fake_x.inject("/2/tweets", Fault.drop(store=True))
    clock = Clock(T0)
    d = dispatcher(db, settings, clock)
    d.run_pass()
    assert delivery(db, post_id).status == Status.UNKNOWN
    clock.now += timedelta(hours=2)
    assert d.run_pass() == 0
    assert len(fake_x.tweets) == 1  # it did go out; we did not send it again
    db.retry(post_id, clock.now)
    assert delivery(db, post_id).status == Status.QUEUED


def test_recovery_after_a_worker_died(db: Store, settings: Settings, fake_x: FakeX) -> None:
    on_x = enqueue(db, settings, "X: Ausgang ungewiss", "x")
    dry = enqueue(db, settings, "Probelauf", "staging")
    # Worker w1 claims both and dies before publishing or recording anything.
    claimed = db.claim_due("w1", T0, 10, timedelta(seconds=60))
    assert len(claimed) == 2
    later = Clock(T0 + timedelta(seconds=30))
    survivor = dispatcher(db, settings, later, worker="w2")
    assert survivor.recover() == 0  # leases still running: hands off
    later.now = T0 + timedelta(seconds=61)
    assert survivor.recover() == 2
    # X cannot tell us whether it went out: unknown. Dry run never sent it: queued again.
    assert delivery(db, on_x).status == Status.UNKNOWN
    assert delivery(db, dry).status == Status.QUEUED
    assert survivor.run_pass() == 1
    assert delivery(db, dry).status == Status.PUBLISHED
    assert len(fake_x.tweets) == 0


def test_a_worker_that_lost_its_lease_changes_nothing(db: Store, settings: Settings) -> None:
    post_id = enqueue(db, settings, "Zu spät", "staging")
    db.claim_due("slow", T0, 10, timedelta(seconds=60))
    late = dispatcher(db, settings, Clock(T0 + timedelta(seconds=61)), worker="fast")
    assert late.recover() == 1  # requeued: the slow worker's lease had expired
    assert late.run_pass() == 1
    from postbot.domain import Outcome
    from postbot.store import Result

    stale = Result(delivery(db, post_id).id, Outcome.PUBLISHED, T0, T0, Status.PUBLISHED)
    assert db.record("slow", [stale]) == 0
    assert delivery(db, post_id).status == Status.PUBLISHED


def test_retry_policy_backs_off_with_jitter_and_respects_reset() -> None:
    policy = RetryStrategy(max_attempts=5, base_delay=30, max_delay=300)

    def next_attempt(n: int, not_before: datetime | None = None) -> datetime | None:
        decision = policy.decide(n, T0, jitter=random.random(), not_before=not_before)
        return decision.retry_at if decision else None

    delays = [(next_attempt(n) - T0).total_seconds() for n in (1, 2, 3, 4)]  # type: ignore[operator]
    assert 15 <= delays[0] <= 30 and 30 <= delays[1] <= 60 and 60 <= delays[2] <= 120
    assert 120 <= delays[3] <= 240
    assert next_attempt(5) is None
    reset = T0 + timedelta(hours=2)
    assert next_attempt(1, reset) == reset


def paced_settings(pace: str, max_lateness: str | None = None) -> Settings:
    staging: dict[str, Any] = {"platform": "dryrun", "pace": pace}
    if max_lateness:
        staging["max_lateness"] = max_lateness
    return parse_settings({"accounts": {"staging": staging}}, Path("test.toml"), {})


def test_posts_overdue_beyond_max_lateness_are_missed_not_published(db: Store) -> None:
    settings = paced_settings("off", "2h")
    stale = enqueue(db, settings, "Von gestern", "staging")
    clock = Clock(T0 + timedelta(hours=2, seconds=1))
    fresh = db.enqueue(
        plan(Draft(teaser="Von eben", to=("staging",)), settings), T0 + timedelta(hours=1), T0
    )
    d = Dispatcher(db, settings, "w1", clock=clock)
    assert d.run_pass() == 1
    assert delivery(db, stale).status == Status.MISSED
    assert "max_lateness" in (delivery(db, stale).last_error or "")
    assert delivery(db, fresh).status == Status.PUBLISHED  # 1 h late: still sent
    assert db.status_summary().counts["missed"] == 1
    # A person can publish a missed post on purpose.
    db.retry(stale, clock.now)
    assert d.run_pass() == 1
    assert delivery(db, stale).status == Status.PUBLISHED


def test_pace_keeps_an_account_under_its_posting_limit(db: Store) -> None:
    settings = paced_settings("2/1h")
    posts = [enqueue(db, settings, f"Beitrag {i}", "staging") for i in range(5)]
    clock = Clock(T0)
    d = Dispatcher(db, settings, "w1", clock=clock)
    assert d.run_pass() == 2
    assert d.blocked == ["staging"]
    assert d.paced_until == T0 + timedelta(hours=1)
    assert d.next_wake() == T0 + timedelta(hours=1)  # sleeps until a slot frees up
    clock.now = T0 + timedelta(minutes=30)
    assert d.run_pass() == 0
    clock.now = T0 + timedelta(hours=1, seconds=1)
    assert d.run_pass() == 2
    statuses = [delivery(db, p).status for p in posts]
    assert statuses.count(Status.PUBLISHED) == 4 and statuses.count(Status.QUEUED) == 1


def test_pace_settings_are_checked() -> None:
    from postbot.errors import ConfigError

    with pytest.raises(ConfigError, match="pace '300 per day'"):
        Dispatcher(None, paced_settings("300 per day"), "w1")  # type: ignore[arg-type]


def test_a_person_resolves_an_unknown_x_delivery(
    db: Store, settings: Settings, fake_x: FakeX
) -> None:
    from postbot.errors import StateError

    post_id = enqueue(db, settings, "Ging das raus?")
    fake_x.inject("/2/tweets", Fault.drop(store=True))
    dispatcher(db, settings, Clock(T0)).run_pass()
    assert delivery(db, post_id).status == Status.UNKNOWN
    url = f"https://x.com/newsroom/status/{fake_x.tweet_ids[0]}"
    db.resolve(post_id, url, T0)
    row = delivery(db, post_id)
    assert row.status == Status.PUBLISHED and row.remote_id == fake_x.tweet_ids[0]
    assert db.attempts(post_id)[-1].detail == {"resolved_by": "a person"}
    with pytest.raises(StateError, match="no delivery in state unknown"):
        db.resolve(post_id, url, T0)


# -- X's link reply: a thread's part (moved from test_platform_x.py) ----------------------------
TEASER = (
    "Gipfeltreffen in Tianjin: Xi Jinping empfängt Staats- und Regierungschefs, "
    "Putin und Modi kommen – Größere Bühne für Chinas Außenpolitik?"
)
LINK = "https://example.org/politik/soz-gipfel-tianjin-2025"


def reply_settings(settings: Settings) -> Settings:
    from dataclasses import replace

    x = settings.account("x")
    accounts = {
        **settings.accounts,
        "x": replace(x, options={**x.options, "link_placement": "reply"}),
    }
    return replace(settings, accounts=accounts)  # fmt: skip


def test_link_as_first_reply(db: Store, settings: Settings, fake_x: FakeX) -> None:
    settings = reply_settings(settings)
    draft = Draft(teaser=TEASER, link=LINK, hashtags=("XiJinping", "SOZGipfel"), to=("x",))
    post_id = db.enqueue(plan(draft, settings), T0, T0)
    text = f"{TEASER} #XiJinping #SOZGipfel"
    assert LINK not in text

    d = dispatcher(db, settings, Clock(T0))
    assert d.run_pass() == 1
    d.close()

    main_id, reply_id = fake_x.tweet_ids
    assert fake_x.tweets == [
        {"text": text},
        {"text": LINK, "reply": {"in_reply_to_tweet_id": main_id}},
    ]
    row = delivery(db, post_id)
    assert (row.status, row.remote_id) == (Status.PUBLISHED, main_id)
    assert [(p.text, p.remote_id) for p in row.parts] == [(text, main_id), (LINK, reply_id)]


def test_failed_link_reply_keeps_the_published_post(
    db: Store, settings: Settings, fake_x: FakeX
) -> None:
    settings = reply_settings(settings)
    fake_x.inject("/2/tweets", Fault.passthrough())  # the post goes through ...
    fake_x.inject("/2/tweets", Fault.server_error(503))  # ... its reply does not
    post_id = db.enqueue(plan(Draft(teaser=TEASER, link=LINK, to=("x",)), settings), T0, T0)
    clock = Clock(T0)
    d = dispatcher(db, settings, clock)
    assert d.run_pass() == 1

    assert fake_x.tweets == [{"text": TEASER}]
    row = delivery(db, post_id)
    assert row.remote_id == fake_x.tweet_ids[0]
    assert "503" in str(row.last_error)
    # The reply is retried on its own, as a part: the post itself is never sent again.
    assert row.status == Status.QUEUED
    clock.now = row.next_attempt_at
    assert d.run_pass() == 1
    d.close()
    main_id = fake_x.tweet_ids[0]
    assert fake_x.tweets[1:] == [{"text": LINK, "reply": {"in_reply_to_tweet_id": main_id}}]
    assert delivery(db, post_id).status == Status.PUBLISHED


def test_an_x_delivery_queued_before_threads_still_gets_its_link_reply(
    db: Store, settings: Settings, fake_x: FakeX
) -> None:
    """Queued by an earlier postbot (part_count NULL): the link reply it was promised is
    posted, through the same plumbing, and recorded as its part 2."""
    settings = reply_settings(settings)
    post_id = db.enqueue(plan(Draft(teaser=TEASER, link=LINK, to=("x",)), settings), T0, T0)
    from sqlalchemy import delete, update

    from postbot.store.sql import SQLStore
    from postbot.store.threads import DELIVERY, PART

    assert isinstance(db, SQLStore)
    with db.write() as conn:  # what a database from before migration 0004 holds
        conn.execute(delete(PART))
        conn.execute(update(DELIVERY).values(part_count=None))
    d = dispatcher(db, settings, Clock(T0))
    assert d.run_pass() == 1
    d.close()
    main_id, reply_id = fake_x.tweet_ids
    assert fake_x.tweets == [
        {"text": TEASER},
        {"text": LINK, "reply": {"in_reply_to_tweet_id": main_id}},
    ]
    row = delivery(db, post_id)
    assert (row.status, row.remote_id) == (Status.PUBLISHED, main_id)
    assert [(p.index, p.remote_id) for p in row.parts] == [(1, main_id), (2, reply_id)]
