"""Server-side scheduling on Mastodon, through the real Mastodon.py over real HTTP against the
fake Mastodon's scheduled statuses, and the real dispatcher on SQLite with a clock of the test's
own (the fake's clock moves with `advance`): handed over within the lead, published by the
server and recorded once, the server's rules respected (too close, its limits: postbot publishes
it itself), an unknown outcome and a dead worker's handover looked up before anything is sent
again, and a scheduled status withdrawn on the server left to a person."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postbot.config import Settings, parse_settings
from postbot.dispatch import Dispatcher
from postbot.dispatch.publisher import outgoing_for
from postbot.dispatch.serverside import SETTLE_GRACE
from postbot.domain import Delivery, Status
from postbot.drafts import Draft, plan
from postbot.platforms import platform_for
from postbot.store import Store, open_store
from tests.fakes.mastodon_server import FakeMastodon, Fault

pytestmark = pytest.mark.timeout(60)

ENV = {"MASTODON_TOKEN": "masto-token-Secret-1"}


class Clock:
    """The test's time: starts at the fake's, moves with it."""

    def __init__(self, fake: FakeMastodon) -> None:
        self.fake = fake

    def __call__(self) -> datetime:
        return self.fake.now()


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon(token=ENV["MASTODON_TOKEN"]) as server:
        yield server


@pytest.fixture
def settings(fake: FakeMastodon, tmp_path: Path) -> Settings:
    account = {"platform": "mastodon", "base_url": fake.base_url, "timeout": 2, "pace": "off",
               "credentials": {"access_token": "MASTODON_TOKEN"}, "server_side": True,
               "server_side_lead": "1h", "server_side_check": "1s"}  # fmt: skip
    raw: dict[str, Any] = {
        "timezone": "Europe/Berlin",
        "retry": {"max_attempts": 3, "base_delay": 1, "max_delay": 5},
        "daemon": {"lease_seconds": 30},
        "accounts": {"masto": account},
    }
    return parse_settings(raw, tmp_path / "postbot.toml", {})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path}/serverside.db")
    store.ensure_schema()
    yield store
    store.dispose()


def enqueue(store: Store, settings: Settings, text: str, due: datetime) -> int:
    return store.enqueue(
        plan(Draft(teaser=text, to=("masto",)), settings), due, due - timedelta(hours=2)
    )


def delivery(store: Store, post_id: int) -> Delivery:
    [d] = store.get_post(post_id).deliveries
    return d


def dispatcher(db: Store, settings: Settings, fake: FakeMastodon, worker: str = "w1") -> Dispatcher:
    return Dispatcher(db, settings, worker, environ=ENV, clock=Clock(fake))


def in_(fake: FakeMastodon, minutes: float) -> datetime:
    return (fake.now() + timedelta(minutes=minutes)).replace(microsecond=0)


def test_handed_over_within_the_lead_published_by_the_server_and_recorded_once(
    db: Store, settings: Settings, fake: FakeMastodon
) -> None:
    due = in_(fake, 20)
    post_id = enqueue(db, settings, "Gipfel in Astana: der Teaser", due)
    later = enqueue(db, settings, "Noch nicht: in zwei Stunden", in_(fake, 120))
    d = dispatcher(db, settings, fake)
    assert d.hand_over() == 1
    [held] = fake.scheduled
    assert held["params"]["text"] == "Gipfel in Astana: der Teaser"
    assert held["scheduled_at"] == due.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert set(held) == {"id", "scheduled_at", "params", "media_attachments"}
    row = delivery(db, post_id)
    assert (row.status, row.scheduled_id, row.attempts) == (Status.SCHEDULED, held["id"], 1)
    [attempt] = db.attempts(post_id)
    assert (attempt.outcome, attempt.detail["scheduled_id"]) == ("scheduled", held["id"])
    [request] = fake.requests_to("/api/v1/statuses", "POST")
    assert request.headers["idempotency-key"] == f"postbot-{row.key}"
    assert delivery(db, later).status == Status.QUEUED  # beyond the lead: not yet
    assert d.run_pass() == 0  # nothing for postbot itself to publish

    fake.advance(21 * 60)  # the server publishes it at its time
    [status] = fake.statuses
    assert status["entity"]["created_at"].startswith(due.strftime("%Y-%m-%dT%H:%M:%S"))
    assert fake.published_from(held["id"]) == status["id"]
    assert d.hand_over() == 1
    row = delivery(db, post_id)
    assert (row.status, row.remote_id, row.remote_url, row.scheduled_id) == (
        Status.PUBLISHED, status["id"], status["entity"]["url"], None,
    )  # fmt: skip
    # A second worker, or a second look, records nothing twice.
    d2 = dispatcher(db, settings, fake, "w2")
    fake.advance(2)
    assert d2.hand_over() == 0
    assert len(db.attempts(post_id)) == 1
    assert len(fake.statuses) == 1


def test_too_close_for_the_server_or_refused_by_it_postbot_publishes_it_itself(
    db: Store, settings: Settings, fake: FakeMastodon
) -> None:
    close = enqueue(db, settings, "In drei Minuten", in_(fake, 3))
    fake.daily_limit = 0  # the server takes nothing more for that day
    refused = enqueue(db, settings, "In zwanzig Minuten", in_(fake, 20))
    d = dispatcher(db, settings, fake)
    assert d.hand_over() == 1  # only the one far enough ahead is offered
    assert fake.scheduled == []
    row = delivery(db, refused)
    assert (row.status, row.handover_refused) == (Status.QUEUED, True)
    assert "the server would not take it" in (row.last_error or "")
    assert "limit of 0 scheduled posts for that day" in (row.last_error or "")
    assert delivery(db, close).status == Status.QUEUED
    fake.advance(4 * 60)
    assert d.run_pass() == 1  # the close one, at its time, by postbot
    fake.daily_limit = 25
    fake.advance(17 * 60)
    assert d.hand_over() == 0  # refused once: not offered again
    assert d.run_pass() == 1
    assert [s["status"] for s in fake.statuses] == ["In drei Minuten", "In zwanzig Minuten"]


def test_the_servers_limits_are_counted_before_asking(
    db: Store, settings: Settings, fake: FakeMastodon
) -> None:
    due = in_(fake, 30)
    first = enqueue(db, settings, "Erster am Tag", due)
    d = dispatcher(db, settings, fake)
    d.hand_over()
    assert delivery(db, first).status == Status.SCHEDULED
    # 24 more for that day, put on the server by another client: the day is full.
    platform = platform_for(settings.account("masto"), ENV)
    for n in range(24):
        from postbot.platforms.base import Outgoing

        platform.schedule(Outgoing(1000 + n, 0, "masto", f"Web {n}"), due + timedelta(seconds=n))
    second = enqueue(db, settings, "Zweiter am Tag", due + timedelta(minutes=1))
    requests = len(fake.requests_to("/api/v1/statuses", "POST"))
    d.hand_over()
    row = delivery(db, second)
    assert (row.status, row.handover_refused) == (Status.QUEUED, True)
    assert "25 scheduled posts on the server for" in (row.last_error or "")
    assert len(fake.requests_to("/api/v1/statuses", "POST")) == requests  # not even asked
    platform.close()


def test_an_unknown_outcome_is_looked_up_and_never_scheduled_twice(
    db: Store, settings: Settings, fake: FakeMastodon
) -> None:
    post_id = enqueue(db, settings, "Antwort verloren", in_(fake, 20))
    fake.inject("/api/v1/statuses", Fault.drop(store=True))  # stored, the answer is lost
    d = dispatcher(db, settings, fake)
    d.hand_over()
    [held] = fake.scheduled
    row = delivery(db, post_id)
    assert (row.status, row.scheduled_id) == (Status.SCHEDULED, held["id"])
    assert len(fake.requests_to("/api/v1/statuses", "POST")) == 1


def test_a_worker_that_died_mid_handover_is_reconciled_by_what_the_server_holds(
    db: Store, settings: Settings, fake: FakeMastodon
) -> None:
    due = in_(fake, 20)
    post_id = enqueue(db, settings, "Halb übergeben", due)
    now = fake.now()
    [claimed] = db.claim_handover("dead", now, "masto", now + timedelta(minutes=6),
                                  now + timedelta(hours=1), 1, timedelta(seconds=30))  # fmt: skip
    platform = platform_for(settings.account("masto"), ENV)
    taken = platform.schedule(outgoing_for(claimed), due)  # then the worker died
    platform.close()
    fake.advance(31)  # its lease runs out
    d = dispatcher(db, settings, fake)
    assert d.recover() == 1
    row = delivery(db, post_id)
    assert (row.status, row.scheduled_id) == (Status.SCHEDULED, taken.scheduled_id)  # type: ignore[union-attr]
    assert len(fake.scheduled) == 1 and len(fake.requests_to("/api/v1/statuses", "POST")) == 1
    assert d.run_pass() == 0


def test_a_scheduled_status_withdrawn_on_the_server_fails_for_a_person(
    db: Store, settings: Settings, fake: FakeMastodon
) -> None:
    post_id = enqueue(db, settings, "Im Web gelöscht", in_(fake, 20))
    d = dispatcher(db, settings, fake)
    d.hand_over()
    sid = delivery(db, post_id).scheduled_id
    platform = platform_for(settings.account("masto"), ENV)
    assert platform.cancel_scheduled(str(sid))  # someone deleted it in the web interface
    assert not platform.cancel_scheduled(str(sid))  # gone: 404
    platform.close()
    fake.advance(21 * 60)
    d.hand_over()
    assert delivery(db, post_id).status == Status.SCHEDULED  # the server may just be late
    fake.advance(SETTLE_GRACE.total_seconds())
    d.hand_over()
    row = delivery(db, post_id)
    assert row.status == Status.FAILED
    assert f"no longer holds scheduled status {sid}" in (row.last_error or "")
    assert fake.statuses == []


def test_a_dry_run_goes_through_the_handover_and_sends_nothing(
    db: Store, settings: Settings, fake: FakeMastodon
) -> None:
    post_id = enqueue(db, settings, "Nur zum Zeigen", in_(fake, 20))
    d = Dispatcher(db, settings, "demo", dry_run=True, environ=ENV, clock=Clock(fake))
    d.hand_over()
    row = delivery(db, post_id)
    assert (row.status, row.scheduled_id, row.dry_run) == (
        Status.SCHEDULED,
        f"dry-run:{row.id}",
        True,
    )
    [attempt] = db.attempts(post_id)
    assert attempt.dry_run and attempt.detail["scheduled_at"].startswith(
        row.due_at.isoformat()[:19]
    )
    fake.advance(21 * 60)
    d.hand_over()
    assert (delivery(db, post_id).status, delivery(db, post_id).dry_run) == (Status.PUBLISHED, True)
    assert fake.requests == []  # nothing reached the server
    assert db.reset_dry_run(fake.now()).requeued == 1
    assert delivery(db, post_id).scheduled_id is None


def test_handovers_keep_to_the_pace(db: Store, settings: Settings, fake: FakeMastodon) -> None:
    from dataclasses import replace

    account = settings.account("masto")
    options = {**account.options, "pace": "2/1h"}
    paced = replace(settings, accounts={"masto": replace(account, options=options)})
    for n in range(3):
        enqueue(db, paced, f"Nummer {n}", in_(fake, 20 + n))
    d = dispatcher(db, paced, fake)
    assert d.hand_over() == 2
    assert len(fake.scheduled) == 2
    # The third waits for a slot; the two handovers are attempts its pace counts.
    assert [d.status for p in db.list_posts() for d in p.deliveries].count(Status.QUEUED) == 1
