"""The store contract: one suite, run unchanged against SQLite, PostgreSQL and the memory store.

Every test takes the `store` fixture (tests/conftest.py), which is parametrized over the three;
a test never branches on the database except where the contract itself differs (how the
change watcher is asked; the memory store lives in one process). No test reaches past the
store's API, but for `force_delivery` (tests/stores.py), which sets a state directly.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from postbot.domain import (
    Delivery,
    DryRunReset,
    MediaItem,
    Outcome,
    PaceState,
    QueueSummary,
    Status,
)
from postbot.drafts import Plan
from postbot.errors import NotFound, StateError
from postbot.pacing import Pace
from postbot.store import SCHEMA_HEAD, Claimed, ConstraintError, Result, Store, migrate, open_store
from tests.stores import force_delivery

pytestmark = pytest.mark.timeout(120)

# A fixed clock with microseconds: the store never reads the real time.
T0 = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
LEASE = timedelta(minutes=5)
MakePlan = Callable[..., Plan]


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def deliveries(store: Store, post_id: int) -> list[Delivery]:
    return list(store.get_post(post_id).deliveries)


def delivery(store: Store, delivery_id: int) -> Delivery:
    return store.get_delivery(delivery_id)


def set_status(store: Store, delivery_id: int, status: Status, **values: Any) -> None:
    force_delivery(store, delivery_id, status, **values)


def all_deliveries(store: Store) -> list[Delivery]:
    return [d for p in store.list_posts() for d in p.deliveries]


def result(
    delivery_id: int,
    outcome: Outcome,
    status: Status,
    finished: datetime = T0,
    **kwargs: Any,
) -> Result:
    return Result(delivery_id, outcome, finished - s(1), finished, status, **kwargs)


def assert_utc(value: datetime) -> None:
    assert value.tzinfo is not None, value
    assert value.utcoffset() == timedelta(0), value


def enqueue_one(
    store: Store, make_plan: MakePlan, key: str, due: datetime, account: str = "x-main"
) -> tuple[int, int]:
    """A post with one delivery; returns (post_id, delivery_id)."""
    post_id = store.enqueue(make_plan(key, f"Text {key}", targets=[(account, "x")]), due, T0)
    return post_id, deliveries(store, post_id)[0].id


# -- enqueue -----------------------------------------------------------------------------------
def test_enqueue_creates_one_post_and_one_queued_delivery_per_target(
    store: Store, make_plan: MakePlan
) -> None:
    plan = make_plan(
        "post-1",
        "Grüße aus Köln",
        targets=[("x-main", "x"), ("masto", "mastodon"), ("sky", "bluesky")],
        link="https://example.org/ä",
        language="de",
        headline="Überschrift",
        texts={"sky": "eigener Text für Bluesky"},
    )
    # Not UTC and with microseconds: stored as the same instant, read back as aware UTC.
    due = datetime(2031, 5, 6, 12, 0, 1, 654321, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    post_id = store.enqueue(plan, due, T0)

    post = store.get_post(post_id)
    assert post.key == "post-1"
    assert post.teaser == "Grüße aus Köln"
    assert post.headline == "Überschrift"
    assert post.link == "https://example.org/ä"
    assert post.language == "de"
    assert post.content_hash == plan.draft.content_hash()
    assert post.created_at == T0
    assert_utc(post.created_at)

    rows = post.deliveries
    assert [(d.account, d.platform) for d in rows] == [
        ("x-main", "x"),
        ("masto", "mastodon"),
        ("sky", "bluesky"),
    ]
    assert [d.text for d in rows] == [t.text for t in plan.targets]
    assert rows[2].text == "eigener Text für Bluesky"
    for d in rows:
        assert d.post_id == post_id
        assert d.status == Status.QUEUED
        assert d.attempts == 0
        assert d.lease_owner is None and d.lease_expires_at is None
        assert d.remote_id is None and d.remote_url is None and d.last_error is None
        assert d.due_at == due and d.next_attempt_at == due
        assert d.due_at.microsecond == 654321
        assert d.due_at.hour == 6 and d.due_at.minute == 30  # 12:00 at +05:30
        assert_utc(d.due_at)
        assert_utc(d.next_attempt_at)
        assert len(d.key) == 32
    assert len({d.key for d in rows}) == 3


def test_enqueue_without_key_gets_a_fresh_one(store: Store, make_plan: MakePlan) -> None:
    a = store.enqueue(make_plan(None), T0, T0)
    b = store.enqueue(make_plan(None), T0, T0)
    keys = {store.get_post(a).key, store.get_post(b).key}
    assert len(keys) == 2
    assert all(k.startswith("cli:") for k in keys)


def test_enqueue_many_is_one_transaction(store: Store, make_plan: MakePlan) -> None:
    items = [(make_plan(f"k{i}"), T0 + s(i)) for i in range(5)]
    ids = store.enqueue_many(items, T0)
    assert len(ids) == len(set(ids)) == 5
    assert len(store.list_posts()) == 5
    # A duplicate key anywhere refuses the whole batch.
    with pytest.raises(ConstraintError):
        store.enqueue_many([(make_plan("new"), T0), (make_plan("k0"), T0)], T0)
    assert store.find_post_by_key("new") is None
    assert len(store.list_posts()) == 5


def test_one_delivery_per_post_and_account(store: Store, make_plan: MakePlan) -> None:
    plan = make_plan("dup", targets=[("x-main", "x"), ("x-main", "x")])
    with pytest.raises(ConstraintError):
        store.enqueue(plan, T0, T0)
    # Nothing of the failed enqueue remains: not the post, not the first delivery.
    assert store.find_post_by_key("dup") is None
    assert store.list_posts() == []
    # The same account on two different posts is fine.
    store.enqueue(make_plan("a", targets=[("x-main", "x")]), T0, T0)
    store.enqueue(make_plan("b", targets=[("x-main", "x")]), T0, T0)
    assert len(store.list_posts()) == 2


def test_post_keys_are_unique(store: Store, make_plan: MakePlan) -> None:
    store.enqueue(make_plan("same"), T0, T0)
    with pytest.raises(ConstraintError):
        store.enqueue(make_plan("same"), T0, T0)
    assert len(store.list_posts()) == 1


def test_json_hashtags_and_media_round_trip_with_umlauts(store: Store, make_plan: MakePlan) -> None:
    hashtags = ("Müll", "Straße", "Ökologie", "日本")
    media = [("/srv/bilder/Bär ü.png", "Ein Bär über Äpfeln"), ("b.jpg", "„Zitat“ – ß")]
    post_id = store.enqueue(make_plan("json", hashtags=hashtags, media=media), T0, T0)

    post = store.get_post(post_id)
    assert list(post.hashtags) == list(hashtags)
    assert list(post.media) == [MediaItem(p, a) for p, a in media]
    assert list(store.find_post_by_key("json").hashtags) == list(hashtags)  # type: ignore[union-attr]

    claimed = store.claim_due("w1", T0, 10, LEASE)
    assert len(claimed) == 2
    for c in claimed:
        assert c.hashtags == hashtags
        assert c.media == tuple(MediaItem(p, a) for p, a in media)

    detail = {"text": "Grüße", "media": [{"alt": "Bär"}], "n": 1, "ok": True, "none": None}
    r = result(claimed[0].delivery_id, Outcome.PUBLISHED, Status.PUBLISHED, detail=detail)
    store.record("w1", [r])
    (attempt,) = store.attempts(post_id)
    assert attempt.detail == detail


def test_json_empty_lists(store: Store, make_plan: MakePlan) -> None:
    post_id = store.enqueue(make_plan("empty"), T0, T0)
    post = store.get_post(post_id)
    assert list(post.hashtags) == [] and list(post.media) == []
    (c, _) = store.claim_due("w1", T0, 10, LEASE)
    assert c.hashtags == () and c.media == ()


# -- import ------------------------------------------------------------------------------------
def test_import_same_plan_twice_is_unchanged(store: Store, make_plan: MakePlan) -> None:
    plan = make_plan("file:a.md", "Erster Entwurf", hashtags=("Köln",))
    (first,) = store.import_plans([(plan, T0 + s(60))], T0)
    assert first.action == "created" and first.key == "file:a.md"
    before = store.get_post(first.post_id)  # type: ignore[arg-type]

    (again,) = store.import_plans([(plan, T0 + s(60))], T0 + s(10))
    assert again.action == "unchanged"
    assert again.post_id == first.post_id
    assert store.get_post(first.post_id) == before  # type: ignore[arg-type]
    assert len(store.list_posts()) == 1


def test_import_without_due_creates_due_now(store: Store, make_plan: MakePlan) -> None:
    (r,) = store.import_plans([(make_plan("now"), None)], T0)
    assert [d.due_at for d in deliveries(store, r.post_id)] == [T0, T0]  # type: ignore[arg-type]


def test_import_changed_draft_updates_and_rerenders(store: Store, make_plan: MakePlan) -> None:
    due = T0 + s(3600)
    (created,) = store.import_plans([(make_plan("file:b.md", "Alt"), due)], T0)
    post_id = created.post_id
    assert post_id is not None

    changed = make_plan("file:b.md", "Neu und schöner", hashtags=("Änderung",))
    (r,) = store.import_plans([(changed, None)], T0 + s(5))
    assert r.action == "updated" and r.post_id == post_id

    post = store.get_post(post_id)
    assert post.teaser == "Neu und schöner"
    assert list(post.hashtags) == ["Änderung"]
    assert post.content_hash == changed.draft.content_hash()
    assert post.updated_at == T0 + s(5)
    assert post.created_at == T0
    assert [d.text for d in post.deliveries] == ["Neu und schöner #Änderung"] * 2
    for d in post.deliveries:
        assert d.status == Status.QUEUED
        assert d.due_at == due  # due None keeps the stored due time
        assert d.next_attempt_at == due

    # A new due time moves every delivery.
    (r2,) = store.import_plans([(make_plan("file:b.md", "Dritte Fassung"), T0 + s(7200))], T0)
    assert r2.action == "updated"
    assert {d.due_at for d in deliveries(store, post_id)} == {T0 + s(7200)}


def test_import_update_requeues_failed_delivery(store: Store, make_plan: MakePlan) -> None:
    (created,) = store.import_plans([(make_plan("file:f.md", "Alt"), T0)], T0)
    post_id = created.post_id
    assert post_id is not None
    d1, _ = deliveries(store, post_id)
    set_status(store, d1.id, Status.FAILED, last_error="boom")
    (r,) = store.import_plans([(make_plan("file:f.md", "Korrigiert"), None)], T0)
    assert r.action == "updated"
    row = delivery(store, d1.id)
    assert row.status == Status.QUEUED and row.last_error is None
    assert row.text == "Korrigiert"


@pytest.mark.parametrize("settled", [Status.PUBLISHED, Status.PUBLISHING, Status.UNKNOWN])
def test_import_change_after_publish_is_a_conflict(
    store: Store, make_plan: MakePlan, settled: Status
) -> None:
    (created,) = store.import_plans([(make_plan("file:c.md", "Original"), T0)], T0)
    post_id = created.post_id
    assert post_id is not None
    first, _second = deliveries(store, post_id)
    set_status(store, first.id, settled)
    before = store.get_post(post_id)

    changed = make_plan("file:c.md", "Geändert", targets=[("x-main", "x"), ("neu", "bluesky")])
    (r,) = store.import_plans([(changed, T0 + s(99))], T0 + s(1))
    assert r.action == "conflict"
    assert r.post_id == post_id
    assert str(post_id) in r.message
    # Nothing applied: post, texts, statuses, due times, no new delivery, nothing cancelled.
    assert store.get_post(post_id) == before


def test_an_edit_after_a_dry_run_is_applied_for_real(store: Store, make_plan: MakePlan) -> None:
    (created,) = store.import_plans([(make_plan("file:demo.md", "Entwurf"), T0)], T0)
    post_id = created.post_id
    assert post_id is not None
    store.claim_due("demo", T0, 10, LEASE, dry_run=True)
    store.record("demo", [
        result(d.id, Outcome.PUBLISHED, Status.PUBLISHED, remote_id=f"dry-run:{d.id}", dry_run=True)
        for d in deliveries(store, post_id)
    ])  # fmt: skip
    (r,) = store.import_plans([(make_plan("file:demo.md", "Endfassung"), None)], T0 + s(1))
    assert r.action == "updated"  # not a conflict: nothing of it was published for real
    for d in deliveries(store, post_id):
        assert (d.status, d.dry_run, d.text) == (Status.QUEUED, False, "Endfassung")
        assert (d.attempts, d.remote_id) == (0, None)


def test_import_conflict_does_not_block_other_items(store: Store, make_plan: MakePlan) -> None:
    (a,) = store.import_plans([(make_plan("a", "A"), T0)], T0)
    set_status(store, deliveries(store, a.post_id)[0].id, Status.PUBLISHED)  # type: ignore[arg-type]
    results = store.import_plans(
        [(make_plan("a", "A2"), None), (make_plan("b", "B"), T0), (make_plan("a", "A"), None)],
        T0,
    )
    assert [(r.key, r.action) for r in results] == [
        ("a", "conflict"),
        ("b", "created"),
        ("a", "unchanged"),
    ]


def test_import_removed_target_is_cancelled_and_new_target_added(
    store: Store, make_plan: MakePlan
) -> None:
    due = T0 + s(600)
    old = make_plan("file:d.md", "Hallo", targets=[("x-main", "x"), ("masto", "mastodon")])
    (created,) = store.import_plans([(old, due)], T0)
    post_id = created.post_id
    assert post_id is not None
    x_row, masto_row = deliveries(store, post_id)

    new = make_plan("file:d.md", "Hallo!", targets=[("x-main", "x"), ("sky", "bluesky")])
    (r,) = store.import_plans([(new, None)], T0 + s(1))
    assert r.action == "updated"

    rows = {d.account: d for d in deliveries(store, post_id)}
    assert set(rows) == {"x-main", "masto", "sky"}
    assert rows["x-main"].id == x_row.id
    assert rows["x-main"].key == x_row.key  # the idempotency key survives edits
    assert rows["x-main"].status == Status.QUEUED
    assert rows["x-main"].text == "Hallo!"
    assert rows["masto"].id == masto_row.id
    assert rows["masto"].status == Status.CANCELLED
    assert rows["masto"].text == "Hallo"
    assert rows["sky"].status == Status.QUEUED
    assert rows["sky"].platform == "bluesky"
    assert rows["sky"].text == "Hallo!"
    assert rows["sky"].due_at == T0 + s(1)  # no due given: a new target is due now
    assert store.next_due() == T0 + s(1)


# -- claims ------------------------------------------------------------------------------------
def test_claim_due_takes_only_due_queued_rows_oldest_first(
    store: Store, make_plan: MakePlan
) -> None:
    _, late = enqueue_one(store, make_plan, "late", T0 - s(10))
    _, oldest = enqueue_one(store, make_plan, "oldest", T0 - s(300))
    _, exact = enqueue_one(store, make_plan, "exact", T0)  # due exactly now counts
    _, future = enqueue_one(store, make_plan, "future", T0 + timedelta(microseconds=1))
    _, middle = enqueue_one(store, make_plan, "middle", T0 - s(60))
    _, cancelled = enqueue_one(store, make_plan, "cancelled", T0 - s(1000))
    set_status(store, cancelled, Status.CANCELLED)
    _, failed = enqueue_one(store, make_plan, "failed", T0 - s(1000))
    set_status(store, failed, Status.FAILED)

    first = store.claim_due("w1", T0, 2, LEASE)
    assert [c.delivery_id for c in first] == [oldest, middle]
    second = store.claim_due("w1", T0, 10, LEASE)
    assert [c.delivery_id for c in second] == [late, exact]
    assert store.claim_due("w1", T0, 10, LEASE) == []
    assert delivery(store, future).status == Status.QUEUED
    assert delivery(store, cancelled).status == Status.CANCELLED
    assert delivery(store, failed).status == Status.FAILED

    assert [c.delivery_id for c in store.claim_due("w1", T0 + s(1), 10, LEASE)] == [future]


def test_claim_due_sets_lease_and_counts_attempts(store: Store, make_plan: MakePlan) -> None:
    plan = make_plan("p", "Hallo", link="https://example.org", language="de", hashtags=("a",))
    post_id = store.enqueue(plan, T0 - s(5), T0 - s(100))
    claimed = store.claim_due("worker-1", T0, 10, LEASE)
    assert len(claimed) == 2
    rows = {d.id: d for d in deliveries(store, post_id)}
    for c in claimed:
        assert isinstance(c, Claimed)
        row = rows[c.delivery_id]
        assert c.post_id == post_id
        assert (c.account, c.platform, c.key, c.text) == (
            row.account,
            row.platform,
            row.key,
            row.text,
        )
        assert c.due_at == T0 - s(5)
        assert_utc(c.due_at)
        assert c.created_at == T0 - s(100)
        assert c.attempts == 1
        assert (c.language, c.link, c.hashtags) == ("de", "https://example.org", ("a",))
        assert row.status == Status.PUBLISHING
        assert row.lease_owner == "worker-1"
        assert row.lease_expires_at == T0 + LEASE
        assert_utc(row.lease_expires_at)
        assert row.attempts == 1
        assert row.updated_at == T0


def test_claim_due_respects_limit(store: Store, make_plan: MakePlan) -> None:
    store.enqueue_many([(make_plan(f"k{i}"), T0 - s(i)) for i in range(6)], T0)  # 12 rows
    sizes = []
    while batch := store.claim_due("w1", T0, 5, LEASE):
        sizes.append(len(batch))
    assert sizes == [5, 5, 2]
    assert store.claim_due("w1", T0, 0, LEASE) == []


def test_second_worker_gets_nothing_for_claimed_rows(store: Store, make_plan: MakePlan) -> None:
    enqueue_one(store, make_plan, "a", T0 - s(1))
    enqueue_one(store, make_plan, "b", T0 - s(2))
    got = store.claim_due("w1", T0, 10, LEASE)
    assert len(got) == 2
    assert store.claim_due("w2", T0, 10, LEASE) == []
    assert store.claim_due("w2", T0 + LEASE + s(1), 10, LEASE) == []  # claim_due never steals
    assert {delivery(store, c.delivery_id).lease_owner for c in got} == {"w1"}


def in_threads(n: int, work: Callable[[int], list[int]]) -> list[list[int]]:
    """`work(i)` in `n` threads started together (one store each, like separate daemons)."""
    barrier = threading.Barrier(n)
    out: list[list[int]] = [[] for _ in range(n)]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            out[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "threads hung"
    assert errors == []
    return out


def _claim_until_empty(store: Store, worker: str, limit: int) -> list[int]:
    ids: list[int] = []
    empty = 0
    while empty < 2:  # twice, in case another worker briefly held the last rows
        batch = store.claim_due(worker, T0, limit, LEASE)
        assert len(batch) <= limit
        ids.extend(c.delivery_id for c in batch)
        empty = 0 if batch else empty + 1
        # A real worker publishes between claims. Without the pause one SQLite writer can
        # re-take the lock back to back while the others sleep in the busy handler, and a
        # single worker ends up with everything: correct, but no contention was tested.
        time.sleep(0.002)
    return ids


def _enqueue_due(store: Store, make_plan: MakePlan, n: int) -> set[int]:
    store.enqueue_many(
        [(make_plan(f"c{i}", targets=[("x-main", "x")]), T0 - s(n - i)) for i in range(n)], T0
    )
    return {d.id for d in all_deliveries(store)}


def _assert_claimed_once(store: Store, all_ids: set[int], claims: list[list[int]]) -> None:
    flat = [i for claim in claims for i in claim]
    duplicates = [i for i, n in Counter(flat).items() if n > 1]
    assert duplicates == [], f"claimed more than once: {duplicates[:20]}"
    assert set(flat) == all_ids
    rows = all_deliveries(store)
    assert {(r.status, r.attempts) for r in rows} == {(Status.PUBLISHING, 1)}


def test_concurrent_threads_claim_every_delivery_exactly_once(
    store: Store, store_factory: Callable[[], Store], make_plan: MakePlan
) -> None:
    all_ids = _enqueue_due(store, make_plan, 500)
    assert len(all_ids) == 500
    n = 6
    stores = [store_factory() for _ in range(n)]  # one engine each, like separate daemons
    claims = in_threads(n, lambda i: _claim_until_empty(stores[i], f"thread-{i}", limit=7))
    _assert_claimed_once(store, all_ids, claims)
    # More than one worker got work: they really ran side by side.
    assert sum(1 for c in claims if c) >= 2, [len(c) for c in claims]


def _claim_in_process(url: str, worker: str, barrier: Any, queue: Any) -> None:
    store = open_store(url)
    try:
        barrier.wait(timeout=30)
        queue.put((worker, _claim_until_empty(store, worker, limit=5)))
    except BaseException as exc:
        queue.put((worker, repr(exc)))
    finally:
        store.dispose()


def test_concurrent_processes_claim_every_delivery_exactly_once(
    store: Store, db_url: str, make_plan: MakePlan
) -> None:
    if store.dialect == "memory":
        pytest.skip("the memory store lives in one process: threads share it (test above)")
    try:
        ctx = multiprocessing.get_context("fork")  # no re-import; the child opens its own store
    except ValueError:
        pytest.skip("needs the fork start method")
    all_ids = _enqueue_due(store, make_plan, 500)
    store.dispose()  # no pooled connection is shared with the children
    barrier = ctx.Barrier(2)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_claim_in_process, args=(db_url, f"proc-{i}", barrier, queue))
        for i in range(2)
    ]
    for p in procs:
        p.start()
    try:
        got = dict(queue.get(timeout=90) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    for worker, value in got.items():
        assert isinstance(value, list), f"{worker} failed: {value}"
    assert all(p.exitcode == 0 for p in procs)
    _assert_claimed_once(store, all_ids, list(got.values()))
    assert all(got.values()), {w: len(ids) for w, ids in got.items()}  # both really worked


# -- record ------------------------------------------------------------------------------------
def test_record_published_sets_remote_and_clears_lease(store: Store, make_plan: MakePlan) -> None:
    post_id, d = enqueue_one(store, make_plan, "p", T0 - s(1))
    store.claim_due("w1", T0, 10, LEASE)
    r = result(
        d, Outcome.PUBLISHED, Status.PUBLISHED, T0 + s(3),
        remote_id="1790000000000000042", remote_url="https://x.com/i/status/1790000000000000042",
        http_status=201,
    )  # fmt: skip
    assert store.record("w1", [r]) == 1
    row = delivery(store, d)
    assert row.status == Status.PUBLISHED
    assert row.remote_id == "1790000000000000042"
    assert row.remote_url == "https://x.com/i/status/1790000000000000042"
    assert row.lease_owner is None and row.lease_expires_at is None
    assert row.last_error is None
    assert row.attempts == 1
    assert row.updated_at == T0 + s(3)
    assert row.next_attempt_at == T0 - s(1)  # untouched when the result has none

    (attempt,) = store.attempts(post_id)
    assert attempt.delivery_id == d
    assert attempt.worker == "w1"
    assert attempt.outcome == Outcome.PUBLISHED
    assert attempt.http_status == 201
    assert attempt.remote_id == "1790000000000000042"
    assert attempt.started_at == T0 + s(2) and attempt.finished_at == T0 + s(3)
    assert_utc(attempt.finished_at)
    assert attempt.dry_run is False
    assert attempt.post_id == post_id and attempt.account == "x-main"
    assert attempt.platform == "x"

    assert store.claim_due("w1", T0 + s(3600), 10, LEASE) == []  # published stays published


def test_record_transient_requeues_for_later(store: Store, make_plan: MakePlan) -> None:
    _, d = enqueue_one(store, make_plan, "p", T0 - s(1))
    store.claim_due("w1", T0, 10, LEASE)
    retry_at = T0 + timedelta(seconds=90, microseconds=250)
    r = result(
        d, Outcome.TRANSIENT, Status.QUEUED, next_attempt_at=retry_at,
        error_class="TransientError", error_message="503 Dienst nicht verfügbar", http_status=503,
    )  # fmt: skip
    assert store.record("w1", [r]) == 1
    row = delivery(store, d)
    assert row.status == Status.QUEUED
    assert row.next_attempt_at == retry_at
    assert row.due_at == T0 - s(1)
    assert row.last_error == "503 Dienst nicht verfügbar"
    assert row.lease_owner is None and row.lease_expires_at is None
    assert row.remote_id is None

    assert store.next_due() == retry_at
    assert store.claim_due("w1", retry_at - timedelta(microseconds=1), 10, LEASE) == []
    (again,) = store.claim_due("w2", retry_at, 10, LEASE)
    assert again.delivery_id == d and again.attempts == 2


def test_record_by_a_worker_without_the_lease_changes_nothing(
    store: Store, make_plan: MakePlan
) -> None:
    post_id, d = enqueue_one(store, make_plan, "p", T0 - s(1))
    store.claim_due("w1", T0, 10, LEASE)
    before = delivery(store, d)
    stray = result(d, Outcome.PUBLISHED, Status.PUBLISHED, remote_id="stray", dry_run=True)
    assert store.record("w2", [stray]) == 0
    assert delivery(store, d) == before
    # ... but what w2 did is still logged.
    (attempt,) = store.attempts(post_id)
    assert attempt.worker == "w2" and attempt.remote_id == "stray"
    assert attempt.dry_run is True

    # After w1 recorded, a late duplicate from w1 itself changes nothing either.
    assert store.record("w1", [result(d, Outcome.PUBLISHED, Status.PUBLISHED)]) == 1
    settled = delivery(store, d)
    assert store.record("w1", [result(d, Outcome.TRANSIENT, Status.QUEUED)]) == 0
    assert delivery(store, d) == settled
    assert len(store.attempts(post_id)) == 3


def test_record_many_counts_only_applied(store: Store, make_plan: MakePlan) -> None:
    _, a = enqueue_one(store, make_plan, "a", T0 - s(3))
    _, b = enqueue_one(store, make_plan, "b", T0 - s(2))
    _, c = enqueue_one(store, make_plan, "c", T0 - s(1))
    store.claim_due("w1", T0, 2, LEASE)  # a, b
    store.claim_due("w2", T0, 2, LEASE)  # c
    results = [
        result(a, Outcome.PUBLISHED, Status.PUBLISHED, remote_id="ra"),
        result(b, Outcome.PERMANENT, Status.FAILED, error_message="zu lang"),
        result(c, Outcome.PUBLISHED, Status.PUBLISHED, remote_id="rc"),
    ]
    assert store.record("w1", results) == 2
    assert delivery(store, a).status == Status.PUBLISHED
    assert delivery(store, b).status == Status.FAILED
    assert delivery(store, b).last_error == "zu lang"
    assert delivery(store, c).status == Status.PUBLISHING
    assert delivery(store, c).remote_id is None
    assert store.record("w1", []) == 0


# -- leases ------------------------------------------------------------------------------------
def test_claim_expired_takes_only_expired_publishing_rows(
    store: Store, make_plan: MakePlan
) -> None:
    _, expired = enqueue_one(store, make_plan, "expired", T0 - s(30))
    store.claim_due("dead", T0 - s(30), 10, s(20))  # lease until T0 - 10 s
    _, running = enqueue_one(store, make_plan, "running", T0 - s(20))
    store.claim_due("alive", T0 - s(20), 10, s(60))  # lease until T0 + 40 s
    _, edge = enqueue_one(store, make_plan, "edge", T0 - s(15))
    store.claim_due("edge", T0 - s(15), 10, s(15))  # lease until exactly T0: not expired yet
    _, queued = enqueue_one(store, make_plan, "queued", T0 - s(100))

    taken = store.claim_expired("reaper", T0, 10, LEASE)
    assert [c.delivery_id for c in taken] == [expired]
    assert taken[0].attempts == 1  # taking over is not a new attempt
    row = delivery(store, expired)
    assert row.status == Status.PUBLISHING
    assert row.lease_owner == "reaper"
    assert row.lease_expires_at == T0 + LEASE
    assert row.attempts == 1
    assert delivery(store, running).lease_owner == "alive"
    assert delivery(store, edge).lease_owner == "edge"
    assert delivery(store, queued).status == Status.QUEUED
    assert store.claim_expired("reaper2", T0, 10, LEASE) == []

    # The old owner lost the row: its late record changes nothing.
    assert store.record("dead", [result(expired, Outcome.PUBLISHED, Status.PUBLISHED)]) == 0
    assert store.record("reaper", [result(expired, Outcome.UNKNOWN, Status.UNKNOWN)]) == 1
    assert delivery(store, expired).status == Status.UNKNOWN


def test_claim_expired_respects_limit_and_order(store: Store, make_plan: MakePlan) -> None:
    ids = [enqueue_one(store, make_plan, f"k{i}", T0 - s(100 - i))[1] for i in range(4)]
    store.claim_due("dead", T0 - s(50), 10, s(1))
    first = store.claim_expired("r", T0, 3, LEASE)
    assert [c.delivery_id for c in first] == ids[:3]
    assert [c.delivery_id for c in store.claim_expired("r", T0, 3, LEASE)] == ids[3:]


def test_renew_leases_extends_only_own_rows(store: Store, make_plan: MakePlan) -> None:
    _, mine = enqueue_one(store, make_plan, "mine", T0 - s(2))
    _, done = enqueue_one(store, make_plan, "done", T0 - s(1))
    store.claim_due("w1", T0, 10, LEASE)
    _, theirs = enqueue_one(store, make_plan, "theirs", T0)
    store.claim_due("w2", T0, 10, LEASE)
    store.record("w1", [result(done, Outcome.PUBLISHED, Status.PUBLISHED)])

    until = T0 + timedelta(minutes=20, microseconds=7)
    assert store.renew_leases("w1", [mine, done, theirs, 999_999], until) == 1
    assert delivery(store, mine).lease_expires_at == until
    assert delivery(store, theirs).lease_expires_at == T0 + LEASE
    assert delivery(store, theirs).lease_owner == "w2"
    assert delivery(store, done).lease_expires_at is None
    assert store.renew_leases("w1", [], until) == 0
    # A renewed lease is not expired at the old expiry time.
    assert store.claim_expired("reaper", T0 + LEASE + s(1), 10, LEASE)[0].delivery_id == theirs


# -- cancel / reschedule / retry ---------------------------------------------------------------
def test_cancel_only_queued(store: Store, make_plan: MakePlan) -> None:
    post_id = store.enqueue(make_plan("p"), T0 + s(60), T0)
    assert store.cancel(post_id, T0 + s(1)) == 2
    rows = deliveries(store, post_id)
    assert {d.status for d in rows} == {Status.CANCELLED}
    assert {d.updated_at for d in rows} == {T0 + s(1)}
    assert store.next_due() is None
    with pytest.raises(StateError, match="cancel"):
        store.cancel(post_id, T0)
    with pytest.raises(NotFound):
        store.cancel(424242, T0)


def test_cancel_leaves_settled_deliveries_alone(store: Store, make_plan: MakePlan) -> None:
    post_id = store.enqueue(make_plan("p"), T0 - s(1), T0)
    published, queued = (d.id for d in deliveries(store, post_id))
    set_status(store, published, Status.PUBLISHED)
    assert store.cancel(post_id, T0) == 1
    assert delivery(store, published).status == Status.PUBLISHED
    assert delivery(store, queued).status == Status.CANCELLED

    other, d = enqueue_one(store, make_plan, "publishing", T0 - s(1))
    store.claim_due("w1", T0, 10, LEASE)
    with pytest.raises(StateError):
        store.cancel(other, T0)
    assert delivery(store, d).status == Status.PUBLISHING


def test_reschedule(store: Store, make_plan: MakePlan) -> None:
    post_id = store.enqueue(make_plan("p"), T0 + s(60), T0)
    a, b = (d.id for d in deliveries(store, post_id))
    set_status(store, b, Status.MISSED)
    new_due = T0 + timedelta(days=1, microseconds=99)
    assert store.reschedule(post_id, new_due, T0) == 2
    for d in deliveries(store, post_id):
        assert d.status == Status.QUEUED
        assert d.due_at == new_due and d.next_attempt_at == new_due
    assert store.next_due() == new_due

    set_status(store, a, Status.PUBLISHED)
    set_status(store, b, Status.CANCELLED)
    with pytest.raises(StateError, match="reschedule"):
        store.reschedule(post_id, T0, T0)
    with pytest.raises(NotFound):
        store.reschedule(424242, T0, T0)


@pytest.mark.parametrize("status", [Status.FAILED, Status.UNKNOWN, Status.MISSED])
def test_retry_resets_to_queued(store: Store, make_plan: MakePlan, status: Status) -> None:
    post_id, d = enqueue_one(store, make_plan, "p", T0 - s(100))
    store.claim_due("w1", T0 - s(100), 10, LEASE)
    store.record("w1", [result(d, Outcome.PERMANENT, status, T0 - s(99), error_message="kaputt")])
    assert delivery(store, d).attempts == 1
    assert store.retry(post_id, T0) == 1
    row = delivery(store, d)
    assert row.status == Status.QUEUED
    assert row.attempts == 0
    assert row.last_error is None
    assert row.next_attempt_at == T0
    assert row.updated_at == T0
    assert [c.delivery_id for c in store.claim_due("w1", T0, 10, LEASE)] == [d]


@pytest.mark.parametrize(
    "status", [Status.QUEUED, Status.PUBLISHING, Status.PUBLISHED, Status.CANCELLED]
)
def test_retry_refuses_other_states(store: Store, make_plan: MakePlan, status: Status) -> None:
    post_id, d = enqueue_one(store, make_plan, "p", T0)
    set_status(store, d, status)
    with pytest.raises(StateError, match="retry"):
        store.retry(post_id, T0)
    assert delivery(store, d).status == status


def test_retry_unknown_post(store: Store) -> None:
    with pytest.raises(NotFound):
        store.retry(1, T0)


# -- reading -----------------------------------------------------------------------------------
def test_next_due(store: Store, make_plan: MakePlan) -> None:
    assert store.next_due() is None
    _, a = enqueue_one(store, make_plan, "a", T0 + s(30))
    enqueue_one(store, make_plan, "b", T0 + s(10))
    _, c = enqueue_one(store, make_plan, "c", T0 + s(20))
    assert store.next_due() == T0 + s(10)
    assert_utc(store.next_due())  # type: ignore[arg-type]
    store.claim_due("w1", T0 + s(10), 10, LEASE)  # b is publishing: not due anymore
    assert store.next_due() == T0 + s(20)
    set_status(store, c, Status.CANCELLED)
    assert store.next_due() == T0 + s(30)
    set_status(store, a, Status.PUBLISHED)
    assert store.next_due() is None


def test_list_posts(store: Store, make_plan: MakePlan) -> None:
    early = store.enqueue(make_plan("early"), T0, T0)
    late = store.enqueue(make_plan("late"), T0 + s(60), T0)
    d = deliveries(store, early)[0].id
    set_status(store, d, Status.FAILED)
    assert [p.id for p in store.list_posts()] == [late, early]
    assert [p.id for p in store.list_posts(limit=1)] == [late]
    failed = store.list_posts(status=Status.FAILED)
    assert [p.id for p in failed] == [early]
    assert [x.id for x in failed[0].deliveries] == [d]
    assert store.list_posts(status=Status.PUBLISHED) == []


def test_list_posts_by_key_prefix(store: Store, make_plan: MakePlan) -> None:
    example = store.enqueue(make_plan("example:posts/a.md"), T0, T0)
    store.enqueue(make_plan("examples-not:b"), T0, T0)  # the next key after the prefix's range
    store.enqueue(make_plan("exampld"), T0, T0)  # the key just before it
    settled = store.enqueue(make_plan("example:posts/c.md"), T0 + s(5), T0)
    for d in deliveries(store, settled):
        set_status(store, d.id, Status.FAILED)
    queued = store.list_posts(Status.QUEUED, key_prefix="example:")
    assert [p.id for p in queued] == [example]
    assert [p.id for p in store.list_posts(key_prefix="example:")] == [settled, example]


def test_attempts_in_order(store: Store, make_plan: MakePlan) -> None:
    post_id, d = enqueue_one(store, make_plan, "p", T0)
    other_post, o = enqueue_one(store, make_plan, "other", T0)
    for i in range(3):
        store.claim_due("w1", T0 + s(i), 10, LEASE)
        later = T0 + s(i + 1)
        store.record(
            "w1",
            [
                result(d, Outcome.TRANSIENT, Status.QUEUED, T0 + s(i), next_attempt_at=later,
                       error_message=f"try {i}"),
                result(o, Outcome.TRANSIENT, Status.QUEUED, T0 + s(i), next_attempt_at=later),
            ],
        )  # fmt: skip
    mine = store.attempts(post_id)
    assert [a.error_message for a in mine] == ["try 0", "try 1", "try 2"]
    assert [a.id for a in mine] == sorted(a.id for a in mine)
    assert {a.delivery_id for a in mine} == {d}
    assert len(store.attempts(other_post)) == 3
    everything = store.attempts()
    assert len(everything) == 6
    assert [a.id for a in everything] == sorted(a.id for a in everything)
    # A limit keeps the newest, still oldest first.
    assert [a.error_message for a in store.attempts(post_id, limit=2)] == ["try 1", "try 2"]
    assert store.attempts(424242) == []


def test_get_post_unknown(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_post(1)


# -- heartbeats and status -----------------------------------------------------------------------
def test_beat_forget_worker_and_status_summary(store: Store, make_plan: MakePlan) -> None:
    empty = store.status_summary()
    assert empty == QueueSummary(counts={}, next_due=None, workers=())

    store.enqueue(make_plan("a", targets=["one", "two", "three"]), T0 - s(5), T0)
    store.enqueue(make_plan("b", targets=["one"]), T0 + s(50), T0)
    c = store.enqueue(make_plan("c", targets=["one", "two"]), T0 + s(100), T0)
    store.claim_due("w1", T0, 2, LEASE)
    store.cancel(c, T0)

    store.beat("w1", "host-a", 101, False, T0)
    store.beat("w2", "host-b", 202, True, T0 + s(1))
    store.beat("w1", "host-a", 101, False, T0 + s(2))  # a second beat refreshes seen_at only

    summary = store.status_summary()
    assert summary.counts == {
        Status.PUBLISHING: 2,
        Status.QUEUED: 2,
        Status.CANCELLED: 2,
    }
    assert summary.next_due == T0 - s(5)
    workers = summary.workers
    assert [w.worker for w in workers] == ["w1", "w2"]  # most recently seen first
    assert store.workers() == workers
    w1, w2 = workers
    assert (w1.host, w1.pid, w1.dry_run) == ("host-a", 101, False)
    assert (w1.started_at, w1.seen_at) == (T0, T0 + s(2))
    assert (w2.host, w2.pid, w2.dry_run) == ("host-b", 202, True)
    assert w2.dry_run is True and w1.dry_run is False
    assert_utc(w1.seen_at)

    store.forget_worker("w1")
    store.forget_worker("nobody")
    assert [w.worker for w in store.status_summary().workers] == ["w2"]


# -- pace budgets ------------------------------------------------------------------------------
PACE = Pace(3, timedelta(hours=1))


def test_claim_paced_takes_only_what_the_budget_leaves(store: Store, make_plan: MakePlan) -> None:
    ids = [enqueue_one(store, make_plan, f"a{i}", T0 - s(10 - i), "a")[1] for i in range(5)]
    other = enqueue_one(store, make_plan, "b", T0 - s(20), "b")[1]

    first = store.claim_paced("w1", T0, "a", PACE, 10, LEASE)
    assert [c.delivery_id for c in first.claimed] == ids[:3]  # oldest first, the budget's worth
    assert first.state == PaceState("a", 3, timedelta(hours=1), 3, T0 + timedelta(hours=1), 2)
    assert first.state.paced_out
    again = store.claim_paced("w2", T0 + s(1), "a", PACE, 10, LEASE)
    assert again.claimed == () and again.state.next_slot == T0 + timedelta(hours=1)
    assert delivery(store, other).status == Status.QUEUED  # another account: not touched

    # Recorded attempts count from when they started (here a second before T0).
    store.record("w1", [result(i, Outcome.PUBLISHED, Status.PUBLISHED) for i in ids[:3]])
    slot = T0 - s(1) + timedelta(hours=1)
    assert store.claim_paced("w1", slot - s(1), "a", PACE, 10, LEASE).claimed == ()
    later = store.claim_paced("w1", slot, "a", PACE, 10, LEASE)
    assert [c.delivery_id for c in later.claimed] == ids[3:]
    assert (later.state.used, later.state.paced_out, later.state.waiting) == (2, False, 0)


def test_claim_paced_counts_publishes_running_and_respects_the_limit(
    store: Store, make_plan: MakePlan
) -> None:
    ids = [enqueue_one(store, make_plan, f"a{i}", T0 - s(10 - i), "a")[1] for i in range(5)]
    store.claim_due("w1", T0, 2, LEASE, only=["a"])  # running: two of the three slots
    got = store.claim_paced("w2", T0, "a", PACE, 10, LEASE)
    assert [c.delivery_id for c in got.claimed] == [ids[2]]
    assert got.state.used == 3 and got.state.waiting == 2
    fresh = store.claim_paced("w2", T0 + timedelta(hours=2), "a", PACE, 1, LEASE)
    assert [c.delivery_id for c in fresh.claimed] == [ids[3]]  # a limit below the budget
    assert fresh.state.used == 1  # the running ones were claimed two hours before


def test_live_and_dry_run_budgets_are_apart(store: Store, make_plan: MakePlan) -> None:
    ids = [enqueue_one(store, make_plan, f"a{i}", T0 - s(10 - i), "a")[1] for i in range(8)]
    dry = store.claim_paced("demo", T0, "a", PACE, 10, LEASE, dry_run=True)
    assert len(dry.claimed) == 3 and all(c.dry_run for c in dry.claimed)
    store.record(
        "demo", [result(c.delivery_id, Outcome.PUBLISHED, Status.PUBLISHED, dry_run=True)
                 for c in dry.claimed],
    )  # fmt: skip
    assert store.pace_states({"a": PACE}, T0, dry_run=True)["a"].paced_out
    live = store.pace_states({"a": PACE}, T0)["a"]
    assert (live.used, live.paced_out, live.waiting) == (0, False, 5)
    got = store.claim_paced("w1", T0, "a", PACE, 10, LEASE)
    assert [c.delivery_id for c in got.claimed] == ids[3:6]
    assert not any(c.dry_run for c in got.claimed)


def test_pace_states_read_every_paced_account(store: Store, make_plan: MakePlan) -> None:
    for i in range(4):
        enqueue_one(store, make_plan, f"a{i}", T0 - s(10 - i), "a")
    enqueue_one(store, make_plan, "later", T0 + s(60), "a")
    store.claim_paced("w1", T0, "a", PACE, 10, LEASE)
    before = store.status_summary()
    states = store.pace_states({"a": PACE, "quiet": Pace(5, timedelta(minutes=5))}, T0 + s(5))
    assert states["a"] == PaceState("a", 3, timedelta(hours=1), 3, T0 + timedelta(hours=1), 1)
    assert states["quiet"] == PaceState("quiet", 5, timedelta(minutes=5), 0, None, 0)
    assert store.status_summary() == before  # a read: nothing changed


def test_concurrent_paced_claims_never_exceed_the_budget(
    store: Store, store_factory: Callable[[], Store], make_plan: MakePlan
) -> None:
    store.enqueue_many(
        [(make_plan(f"p{i}", targets=[("x-main", "x")]), T0 - s(100 - i)) for i in range(60)], T0
    )
    pace = Pace(10, timedelta(hours=1))
    n = 6
    stores = [store_factory() for _ in range(n)]

    def claim(i: int) -> list[int]:
        got: list[int] = []
        for _ in range(20):
            paced = stores[i].claim_paced(f"w{i}", T0, "x-main", pace, 2, LEASE)
            got += [c.delivery_id for c in paced.claimed]
            time.sleep(0.001)
        return got

    claims = in_threads(n, claim)
    flat = [i for c in claims for i in c]
    assert len(flat) == len(set(flat)) == 10, [len(c) for c in claims]
    assert Counter(d.status for d in all_deliveries(store)) == {
        Status.PUBLISHING: 10, Status.QUEUED: 50,
    }  # fmt: skip


# -- dry run kept apart --------------------------------------------------------------------------
def test_a_dry_run_marks_what_it_claims_and_records(store: Store, make_plan: MakePlan) -> None:
    _, dry = enqueue_one(store, make_plan, "dry", T0 - s(2))
    _, live = enqueue_one(store, make_plan, "live", T0 - s(1))
    (c,) = store.claim_due("demo", T0, 1, LEASE, dry_run=True)
    assert c.delivery_id == dry and c.dry_run is True
    assert delivery(store, dry).dry_run is True
    (other,) = store.claim_due("w1", T0, 1, LEASE)
    assert (other.delivery_id, other.dry_run, delivery(store, live).dry_run) == (live, False, False)
    store.record("demo", [result(dry, Outcome.PUBLISHED, Status.PUBLISHED, dry_run=True,
                                 remote_id=f"dry-run:{dry}")])  # fmt: skip
    store.record("w1", [result(live, Outcome.PUBLISHED, Status.PUBLISHED, remote_id="1")])
    assert (delivery(store, dry).status, delivery(store, dry).dry_run) == (Status.PUBLISHED, True)
    assert delivery(store, live).dry_run is False
    summary = store.status_summary()
    assert summary.counts == {Status.PUBLISHED: 2}
    assert summary.dry_run == {Status.PUBLISHED: 1}
    # Missed in a dry run is a dry run's doing too.
    _, stale = enqueue_one(store, make_plan, "stale", T0 - timedelta(hours=3))
    assert store.mark_missed("x-main", T0 - timedelta(hours=2), T0, dry_run=True) == 1
    assert delivery(store, stale).dry_run is True
    assert store.status_summary().dry_run == {Status.PUBLISHED: 1, Status.MISSED: 1}
    # A person's retry is live again.
    store.retry(store.get_delivery(stale).post_id, T0)
    assert delivery(store, stale).dry_run is False


def test_claim_expired_keeps_the_dead_workers_mark_and_a_dry_run_takes_only_its_own(
    store: Store, make_plan: MakePlan
) -> None:
    _, dry = enqueue_one(store, make_plan, "dry", T0 - s(60))
    store.claim_due("dead-demo", T0 - s(60), 1, s(10), dry_run=True)
    _, live = enqueue_one(store, make_plan, "live", T0 - s(50))
    store.claim_due("dead-live", T0 - s(50), 1, s(10))
    (mine,) = store.claim_expired("demo", T0, 10, LEASE, dry_run=True)
    assert (mine.delivery_id, mine.dry_run) == (dry, True)
    assert delivery(store, live).lease_owner == "dead-live"
    (taken,) = store.claim_expired("w1", T0, 10, LEASE)
    assert (taken.delivery_id, taken.dry_run) == (live, False)


def test_reset_dry_run_requeues_what_a_dry_run_did(store: Store, make_plan: MakePlan) -> None:
    due = T0 - s(30)
    p1 = store.enqueue(make_plan("p1", targets=[("a", "x"), ("b", "mastodon")]), due, T0 - s(99))
    a, b = (d.id for d in deliveries(store, p1))
    _, live = enqueue_one(store, make_plan, "p2", T0 - s(20), "c")
    p3, stale = enqueue_one(store, make_plan, "p3", T0 - timedelta(hours=3), "d")
    p4, running = enqueue_one(store, make_plan, "p4", T0 - s(10), "e")
    store.claim_due("demo", T0, 2, LEASE, only=["a", "b"], dry_run=True)
    store.record("demo", [
        result(a, Outcome.PUBLISHED, Status.PUBLISHED, remote_id=f"dry-run:{a}", dry_run=True),
        result(b, Outcome.PUBLISHED, Status.PUBLISHED, remote_id=f"dry-run:{b}", dry_run=True),
    ])  # fmt: skip
    store.claim_due("w1", T0, 1, LEASE, only=["c"])
    store.record("w1", [result(live, Outcome.PUBLISHED, Status.PUBLISHED, remote_id="live-1")])
    store.mark_missed("d", T0 - timedelta(hours=2), T0, dry_run=True)
    store.claim_due("demo", T0, 1, s(60), only=["e"], dry_run=True)  # a dry run at work
    before = store.status_summary()

    with pytest.raises(StateError, match="dry run is publishing 1 delivery"):
        store.reset_dry_run(T0 + s(1))
    assert store.status_summary() == before

    reset = store.reset_dry_run(T0 + s(61))  # that dry-run worker's lease ran out: it died
    assert reset == DryRunReset(4, (p1, p3, p4), {"published": 2, "missed": 1, "publishing": 1})
    for d in (a, b, stale, running):
        row = delivery(store, d)
        assert (row.status, row.dry_run, row.attempts) == (Status.QUEUED, False, 0), row
        assert row.next_attempt_at == row.due_at
        assert row.remote_id is row.remote_url is row.last_error is row.lease_owner is None
        assert row.updated_at == T0 + s(61)
    assert delivery(store, live).status == Status.PUBLISHED
    assert delivery(store, live).remote_id == "live-1"
    assert [x.dry_run for x in store.attempts(p1)] == [True, True]  # the log keeps the demo
    assert store.status_summary().dry_run == {}
    assert store.reset_dry_run(T0 + s(62)) == DryRunReset(0, (), {})
    assert {c.delivery_id for c in store.claim_due("w1", T0 + s(62), 10, LEASE)} == {
        a, b, stale, running,
    }  # fmt: skip


# -- small reads and refusals --------------------------------------------------------------------
def test_get_delivery(store: Store, make_plan: MakePlan) -> None:
    post_id, d = enqueue_one(store, make_plan, "p", T0)
    assert delivery(store, d) == deliveries(store, post_id)[0]
    with pytest.raises(NotFound, match="no delivery with id 424242"):
        store.get_delivery(424242)


def test_next_due_by_account(store: Store, make_plan: MakePlan) -> None:
    assert store.next_due_by_account() == {}
    enqueue_one(store, make_plan, "a1", T0 + s(30), "a")
    enqueue_one(store, make_plan, "a2", T0 + s(10), "a")
    _, b = enqueue_one(store, make_plan, "b", T0 + s(20), "b")
    enqueue_one(store, make_plan, "c", T0 + s(5), "c")
    store.claim_due("w1", T0 + s(5), 10, LEASE)  # c is publishing: not queued
    set_status(store, b, Status.CANCELLED)
    assert store.next_due_by_account() == {"a": T0 + s(10)}


def test_record_for_a_delivery_that_does_not_exist_is_refused(
    store: Store, make_plan: MakePlan
) -> None:
    post_id, d = enqueue_one(store, make_plan, "p", T0)
    store.claim_due("w1", T0, 1, LEASE)
    with pytest.raises(ConstraintError):
        store.record("w1", [result(d, Outcome.PUBLISHED, Status.PUBLISHED),
                            result(424242, Outcome.PUBLISHED, Status.PUBLISHED)])  # fmt: skip
    assert store.attempts(post_id) == []
    assert delivery(store, d).status == Status.PUBLISHING


# -- schema ------------------------------------------------------------------------------------
def test_ensure_schema_on_current_database_is_a_noop(
    store: Store, make_plan: MakePlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert store.schema_version() == SCHEMA_HEAD == migrate.head_revision()
    post_id = store.enqueue(make_plan("keep"), T0, T0)

    def no_upgrade(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("ensure_schema ran migrations on a current database")

    monkeypatch.setattr(migrate, "upgrade", no_upgrade)
    store.ensure_schema()
    store.ensure_schema()
    assert store.schema_version() == SCHEMA_HEAD
    assert store.get_post(post_id).key == "keep"
    assert [p.id for p in store.list_posts()] == [post_id]


# -- change watcher ------------------------------------------------------------------------------
def _saw_change(store: Store, watcher: Any, within: float = 1.0) -> bool:
    """Ask the watcher the way the daemon does on this database; True if it saw a change."""
    if store.dialect == "postgresql":
        started = time.monotonic()
        got = bool(watcher.wait(2))
        return got and time.monotonic() - started <= within
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if watcher.changed():
            return True
        time.sleep(0.02)
    return False


def _saw_nothing(store: Store, watcher: Any) -> bool:
    if store.dialect == "postgresql":
        return not watcher.wait(0.3)
    return not watcher.changed()


def test_change_watcher_sees_enqueue_by_another_connection(
    store: Store, store_factory: Callable[[], Store], make_plan: MakePlan
) -> None:
    watcher = store.change_watcher()
    other = store_factory()
    try:
        assert _saw_nothing(store, watcher)
        other.enqueue(make_plan("a"), T0, T0)
        assert _saw_change(store, watcher)
        assert _saw_nothing(store, watcher)  # reported once

        # A burst of writes wakes the watcher (at least once), then it is quiet again.
        for i in range(3):
            other.enqueue(make_plan(f"burst{i}"), T0, T0)
        assert _saw_change(store, watcher)
        time.sleep(0.1)
        watcher.changed()
        assert _saw_nothing(store, watcher)

        # A rolled-back write is no change (PostgreSQL: NOTIFY is sent only on commit).
        with pytest.raises(ConstraintError):
            other.enqueue(make_plan("a"), T0, T0)
        assert _saw_nothing(store, watcher)

        # Reads are no change.
        other.list_posts()
        other.next_due()
        assert _saw_nothing(store, watcher)

        # Anything that makes work available wakes it: import, retry, reschedule.
        other.import_plans([(make_plan("imp"), T0)], T0)
        assert _saw_change(store, watcher)
        found = other.find_post_by_key("a")
        assert found is not None
        other.reschedule(found.id, T0 + s(5), T0)
        assert _saw_change(store, watcher)
    finally:
        watcher.close()


def test_change_watcher_wait_times_out_without_changes(store: Store) -> None:
    watcher = store.change_watcher()
    try:
        watcher.changed()
        started = time.monotonic()
        assert watcher.wait(0.3) is False
        elapsed = time.monotonic() - started
        assert 0.25 <= elapsed < 2
    finally:
        watcher.close()
