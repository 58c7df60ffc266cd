"""Threads through the real adapters (Mastodon.py, atproto, tweepy over real HTTP) and the real
dispatcher on SQLite, against the local fake servers: the reply chain each platform is sent,
one idempotency key or record key per part, and the reconcile of the one part in doubt after a
worker died mid-thread. (The SIGKILL of a real daemon: tests/acceptance/test_threads_cli.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postbot.config import Settings, parse_settings
from postbot.dispatch import Dispatcher
from postbot.dispatch.publisher import outgoing_for
from postbot.dispatch.thread import outgoing_of
from postbot.domain import Delivery, Status
from postbot.drafts import Draft, plan
from postbot.platforms import platform_for
from postbot.platforms.bluesky.record import record_key
from postbot.store import Store, open_store
from tests.fakes.bluesky_server import FakeBluesky
from tests.fakes.mastodon_server import FakeMastodon
from tests.fakes.x_server import FakeX

pytestmark = pytest.mark.timeout(60)

ENV = {
    "MASTODON_TOKEN": "masto-token-Secret-1",
    "BSKY_HANDLE": "postbot.test",
    "BSKY_PASSWORD": "bsky-Secret-app-password",
    "X_CK": "ck-Secret",
    "X_CS": "cs-Secret",
    "X_AT": "1-at-Secret",
    "X_ATS": "ats-Secret",
}
TEASER = "Teil 1: Xi Jinping übernimmt den Vorsitz der SOZ"
PARTS = ("Teil 2: Putin und Modi reisen an", "Teil 3: Was das für Europa heißt")
LINK = "https://example.org/soz"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[FakeMastodon, FakeBluesky, FakeX]]:
    mastodon = FakeMastodon(token=ENV["MASTODON_TOKEN"])
    bluesky = FakeBluesky(handle=ENV["BSKY_HANDLE"], password=ENV["BSKY_PASSWORD"])
    x = FakeX()
    with mastodon, bluesky, x:
        yield mastodon, bluesky, x


@pytest.fixture
def settings(servers: tuple[FakeMastodon, FakeBluesky, FakeX], tmp_path: Path) -> Settings:
    mastodon, bluesky, x = servers
    accounts: dict[str, Any] = {
        "masto": {"platform": "mastodon", "base_url": mastodon.base_url, "timeout": 2,
                  "credentials": {"access_token": "MASTODON_TOKEN"}, "pace": "off"},
        "sky": {"platform": "bluesky", "base_url": bluesky.base_url, "timeout": 2,
                "session_file": str(tmp_path / "bsky.session"), "pace": "off",
                "credentials": {"handle": "BSKY_HANDLE", "app_password": "BSKY_PASSWORD"}},
        "x": {"platform": "x", "base_url": x.base_url, "timeout": 2, "pace": "off",
              "credentials": {"consumer_key": "X_CK", "consumer_secret": "X_CS",
                              "access_token": "X_AT", "access_token_secret": "X_ATS"}},
    }  # fmt: skip
    raw = {
        "timezone": "Europe/Berlin",
        "retry": {"max_attempts": 3, "base_delay": 1, "max_delay": 5},
        "daemon": {"lease_seconds": 30, "concurrency": 2},
        "accounts": accounts,
    }
    return parse_settings(raw, tmp_path / "postbot.toml", {})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path}/threads.db")
    store.ensure_schema()
    yield store
    store.dispose()


def enqueue(store: Store, settings: Settings, to: str, clock: Clock, suffix: str = "") -> int:
    parts = tuple(p + suffix for p in PARTS)
    draft = Draft(teaser=TEASER + suffix, parts=parts, link=LINK, hashtags=("SOZ",), to=(to,))
    return store.enqueue(plan(draft, settings), clock.now, clock.now)


def delivery(store: Store, post_id: int) -> Delivery:
    [d] = store.get_post(post_id).deliveries
    return d


def run(store: Store, settings: Settings, clock: Clock, worker: str = "w1") -> Dispatcher:
    d = Dispatcher(store, settings, worker, environ=ENV, clock=clock)
    d.run_pass()
    return d


def die_after_sending_part_2(store: Store, settings: Settings, clock: Clock) -> None:
    """A worker that published part 1 (and recorded it), sent part 2, and died before
    recording it: what SIGKILL between the platform's answer and the store write leaves."""
    [claimed] = store.claim_due("dead", clock.now, 1, timedelta(seconds=30))
    platform = platform_for(settings.account(claimed.account), ENV)
    parts = claimed.parts
    base = outgoing_for(claimed)
    head = platform.publish(outgoing_of(base, parts, 0))
    done = replace(parts[0], remote_id=head.remote_id, remote_url=head.url, ref=head.ref,
                   published_at=clock.now)  # fmt: skip
    assert store.record_part("dead", claimed.delivery_id, done, clock.now, {"part": 1})
    platform.publish(outgoing_of(base, (done, *parts[1:]), 1))  # out, never recorded
    platform.close()
    clock.now += timedelta(seconds=31)  # its lease runs out


# -- Mastodon ---------------------------------------------------------------------------------
def test_mastodon_thread_is_a_reply_chain_with_a_key_per_part(
    db: Store, settings: Settings, servers: Any
) -> None:
    mastodon = servers[0]
    clock = Clock()
    post_id = enqueue(db, settings, "masto", clock)
    run(db, settings, clock).close()
    statuses = mastodon.statuses
    assert [s["status"] for s in statuses] == [f"{TEASER} {LINK} #SOZ", *PARTS]
    assert [s["in_reply_to_id"] for s in statuses] == [None, statuses[0]["id"], statuses[1]["id"]]
    assert [s["entity"]["in_reply_to_id"] for s in statuses[1:]] == [
        statuses[0]["id"], statuses[1]["id"],
    ]  # fmt: skip
    row = delivery(db, post_id)
    keys = [s["idempotency_key"] for s in statuses]
    assert keys == [f"postbot-{row.key}", f"postbot-{row.key}-2", f"postbot-{row.key}-3"]
    assert row.status == Status.PUBLISHED
    assert [(p.remote_id, p.remote_url) for p in row.parts] == [
        (s["id"], s["entity"]["url"]) for s in statuses
    ]
    assert (row.remote_id, row.remote_url) == (statuses[0]["id"], statuses[0]["entity"]["url"])


def test_mastodon_part_in_doubt_is_found_by_lookup_and_never_posted_twice(
    db: Store, settings: Settings, servers: Any
) -> None:
    mastodon = servers[0]
    clock = Clock()
    post_id = enqueue(db, settings, "masto", clock)
    die_after_sending_part_2(db, settings, clock)
    d = Dispatcher(db, settings, "w2", environ=ENV, clock=clock)
    assert d.recover() == 1
    row = delivery(db, post_id)
    assert row.status == Status.QUEUED and "part 2 of 3 is out" in (row.last_error or "")
    d.run_pass()
    d.close()
    statuses = mastodon.statuses
    assert [s["status"] for s in statuses] == [f"{TEASER} {LINK} #SOZ", *PARTS]  # once each
    assert statuses[2]["in_reply_to_id"] == statuses[1]["id"]
    row = delivery(db, post_id)
    assert row.status == Status.PUBLISHED
    assert [p.remote_id for p in row.parts] == [s["id"] for s in statuses]
    recovered = [a for a in db.attempts(post_id) if a.detail.get("recovered")]
    assert [(a.detail["part"], a.remote_id) for a in recovered] == [(2, statuses[1]["id"])]


# -- Bluesky ----------------------------------------------------------------------------------
def test_bluesky_thread_replies_with_root_and_parent_refs_and_a_record_key_per_part(
    db: Store, settings: Settings, servers: Any
) -> None:
    bluesky = servers[1]
    clock = Clock()
    post_id = enqueue(db, settings, "sky", clock)
    run(db, settings, clock).close()
    row = delivery(db, post_id)
    rkeys = [p.remote_id.rsplit("/", 1)[-1] for p in row.parts if p.remote_id]
    assert len(set(rkeys)) == 3
    # Part 1 keeps a single post's record key; part n is the delivery's time n - 1 us later.
    claimed_like = replace(outgoing_for_delivery(row), part=1)
    assert rkeys == [record_key(replace(claimed_like, part=n)) for n in (1, 2, 3)]
    records = [bluesky.records[k] for k in rkeys]
    assert [r["text"] for r in records] == [f"{TEASER} {LINK} #SOZ", *PARTS]
    assert "reply" not in records[0]
    root = {"uri": bluesky.post_uri(rkeys[0]), "cid": bluesky.cid_of(rkeys[0])}
    for n in (1, 2):
        parent = {"uri": bluesky.post_uri(rkeys[n - 1]), "cid": bluesky.cid_of(rkeys[n - 1])}
        reply = records[n]["reply"]
        refs = {k: {"uri": reply[k]["uri"], "cid": reply[k]["cid"]} for k in ("root", "parent")}
        assert refs == {"root": root, "parent": parent}
    assert [p.ref for p in row.parts] == [bluesky.cid_of(k) for k in rkeys]


def test_bluesky_part_in_doubt_is_read_back_by_its_record_key(
    db: Store, settings: Settings, servers: Any
) -> None:
    bluesky = servers[1]
    clock = Clock()
    post_id = enqueue(db, settings, "sky", clock)
    die_after_sending_part_2(db, settings, clock)
    d = Dispatcher(db, settings, "w2", environ=ENV, clock=clock)
    assert d.recover() == 1
    d.run_pass()
    d.close()
    assert sorted(r["text"] for r in bluesky.records.values()) == sorted(
        [f"{TEASER} {LINK} #SOZ", *PARTS]
    )
    row = delivery(db, post_id)
    assert row.status == Status.PUBLISHED
    third = bluesky.records[row.parts[2].remote_id.rsplit("/", 1)[-1]]  # type: ignore[union-attr]
    assert third["reply"]["parent"]["uri"] == row.parts[1].remote_id


# -- X ----------------------------------------------------------------------------------------
def test_x_thread_replies_in_turn_and_a_part_in_doubt_waits_for_a_person(
    db: Store, settings: Settings, servers: Any
) -> None:
    x = servers[2]
    clock = Clock()
    post_id = enqueue(db, settings, "x", clock)
    run(db, settings, clock).close()
    ids = x.tweet_ids
    assert [t.get("reply") for t in x.tweets] == [
        None, {"in_reply_to_tweet_id": ids[0]}, {"in_reply_to_tweet_id": ids[1]},
    ]  # fmt: skip
    assert [p.remote_id for p in delivery(db, post_id).parts] == ids

    other = enqueue(db, settings, "x", clock, suffix=" (Update)")  # X refuses a repeat
    die_after_sending_part_2(db, settings, clock)
    d = Dispatcher(db, settings, "w2", environ=ENV, clock=clock)
    assert d.recover() == 1
    d.close()
    row = delivery(db, other)
    assert row.status == Status.UNKNOWN
    assert "worker stopped mid-thread at part 2 of 3; outcome unknown" in (row.last_error or "")
    assert len(x.tweets) == 5  # the part in doubt is not sent again on X's word alone


def outgoing_for_delivery(row: Delivery) -> Any:
    from postbot.platforms.base import Outgoing

    return Outgoing(row.id, row.post_id, row.account, row.text, created_at=row.created_at)
