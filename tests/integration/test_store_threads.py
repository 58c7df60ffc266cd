"""The store contract for threads, over SQLite, PostgreSQL and the memory store (the `store`
fixture): a delivery's parts written with its post, read with it and with its claim, recorded
one by one under the lease, forgotten where a dry run "published" them, resolved by a person."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from postbot.domain import Outcome, Part, Status
from postbot.drafts import Draft, PartCheck, Plan, Target
from postbot.errors import StateError
from postbot.platforms.limits import LimitCheck
from postbot.store import Result, Store
from tests.stores import force_delivery

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
LEASE = timedelta(minutes=5)
TEXTS = ("Teil 1 https://example.org #SOZ", "Teil 2", "Teil 3")


def target(account: str, texts: tuple[str, ...]) -> Target:
    checks = [PartCheck(t, (LimitCheck("characters", len(t), 500),)) for t in texts]
    first = checks[0]
    parts = tuple(checks) if len(texts) > 1 else ()
    return Target(account, "mastodon", first.text, first.count, 500, first.checks, parts=parts)


def thread_plan(
    key: str = "thread", texts: tuple[str, ...] = TEXTS, teaser: str = "Teil 1"
) -> Plan:
    draft = Draft(teaser=teaser, parts=texts[1:], key=key, source="posts/t.md")
    return Plan(draft, (target("masto", texts), target("single", ("Nur einer",))))


def published(part: Part, n: int, *, dry_run: bool = False) -> Part:
    return replace(part, remote_id=f"r{n}", remote_url=f"https://m.example/{n}",
                   ref=f"cid{n}", published_at=T0, dry_run=dry_run)  # fmt: skip


def test_parts_are_stored_with_the_post_and_read_with_it_and_its_claim(store: Store) -> None:
    post_id = store.enqueue(thread_plan(), T0, T0)
    post = store.get_post(post_id)
    assert (post.teaser, post.parts) == ("Teil 1", TEXTS[1:])
    masto, single = post.deliveries
    assert (masto.part_count, [(p.index, p.text) for p in masto.parts]) == (
        3, [(1, TEXTS[0]), (2, "Teil 2"), (3, "Teil 3")],
    )  # fmt: skip
    assert masto.text == TEXTS[0]
    assert {p.published for p in masto.parts} == {False}
    assert (single.part_count, single.parts) == (1, ())
    assert store.get_delivery(masto.id).parts == masto.parts
    assert [d.parts for p in store.list_posts() for d in p.deliveries] == [masto.parts, ()]
    claimed = {c.account: c for c in store.claim_due("w1", T0, 10, LEASE)}
    assert claimed["masto"].parts == masto.parts and claimed["masto"].part_count == 3
    assert (claimed["single"].parts, claimed["single"].part_count) == ((), 1)
    # Many at once (the bulk import path) store them too.
    [other] = store.enqueue_many([(thread_plan("other"), T0)], T0)
    assert [len(d.parts) for d in store.get_post(other).deliveries] == [3, 0]


def test_a_part_is_recorded_under_the_lease_and_part_one_is_the_deliverys(store: Store) -> None:
    post_id = store.enqueue(thread_plan(), T0, T0)
    [claimed] = store.claim_due("w1", T0, 1, LEASE, only=["masto"])
    first = published(claimed.parts[0], 1)
    assert store.record_part("w1", claimed.delivery_id, first, T0, {"part": 1}, 200)
    second = published(claimed.parts[1], 2)
    assert store.record_part("w1", claimed.delivery_id, second, T0, {"part": 2}, 200)
    d = store.get_delivery(claimed.delivery_id)
    assert (d.status, d.remote_id, d.remote_url) == (Status.PUBLISHING, "r1", "https://m.example/1")
    assert [(p.remote_id, p.ref, p.published_at) for p in d.parts] == [
        ("r1", "cid1", T0), ("r2", "cid2", T0), (None, None, None),
    ]  # fmt: skip
    attempts = store.attempts(post_id)
    assert [(a.outcome, a.remote_id, a.http_status, a.detail) for a in attempts] == [
        (Outcome.PUBLISHED, "r1", 200, {"part": 1}), (Outcome.PUBLISHED, "r2", 200, {"part": 2}),
    ]  # fmt: skip
    # Another worker's record changes no part, but its attempt is in the log.
    third = published(claimed.parts[2], 3)
    assert not store.record_part("w2", claimed.delivery_id, third, T0, {"part": 3})
    assert store.get_delivery(claimed.delivery_id).parts[2].remote_id is None
    assert len(store.attempts(post_id)) == 3
    # The last part's result settles the delivery without a second attempt for that part.
    assert store.record_part("w1", claimed.delivery_id, third, T0, {"part": 3})
    done = Result(claimed.delivery_id, Outcome.PUBLISHED, T0, T0, Status.PUBLISHED,
                  remote_id="r1", remote_url="https://m.example/1", logged=False)  # fmt: skip
    assert store.record("w1", [done]) == 1
    assert store.get_delivery(claimed.delivery_id).status == Status.PUBLISHED
    assert len(store.attempts(post_id)) == 4


def test_a_part_of_a_delivery_without_part_rows_is_written_when_recorded(store: Store) -> None:
    store.enqueue(thread_plan(), T0, T0)
    [claimed] = store.claim_due("w1", T0, 1, LEASE, only=["single"])
    reply = Part(2, "https://example.org", "r9", "https://m.example/9", published_at=T0)
    assert store.record_part("w1", claimed.delivery_id, reply, T0, {})
    force_delivery(store, claimed.delivery_id, Status.PUBLISHING, part_count=None)
    assert [(p.index, p.remote_id) for p in store.get_delivery(claimed.delivery_id).parts] == [
        (2, "r9")
    ]


def test_a_changed_post_with_a_part_out_for_real_is_a_conflict(store: Store) -> None:
    post_id = store.enqueue(thread_plan(), T0, T0)
    [claimed] = store.claim_due("w1", T0, 1, LEASE, only=["masto"])
    store.record_part("w1", claimed.delivery_id, published(claimed.parts[0], 1), T0, {})
    failed = Result(claimed.delivery_id, Outcome.PERMANENT, T0, T0, Status.FAILED,
                    error_message="refused")  # fmt: skip
    store.record("w1", [failed])  # failed, but part 1 is out
    changed = thread_plan(texts=(TEXTS[0], "Teil 2, neu", "Teil 3"), teaser="Teil 1 neu")
    [result] = store.import_plans([(changed, None)], T0)
    assert (result.action, result.post_id) == ("conflict", post_id)
    assert store.get_post(post_id).parts == TEXTS[1:]


def test_a_changed_post_rewrites_its_parts_and_dry_run_parts_are_forgotten(store: Store) -> None:
    post_id = store.enqueue(thread_plan(), T0, T0)
    [claimed] = store.claim_due("demo", T0, 1, LEASE, only=["masto"], dry_run=True)
    part = published(claimed.parts[0], 1, dry_run=True)
    assert store.record_part("demo", claimed.delivery_id, part, T0, {})
    # golive: what the dry run "published" of the thread is forgotten with it.
    store.record("demo", [Result(claimed.delivery_id, Outcome.PUBLISHED, T0, T0,
                                 Status.PUBLISHED, dry_run=True)])  # fmt: skip
    assert store.reset_dry_run(T0).requeued == 1
    assert {p.published for p in store.get_delivery(claimed.delivery_id).parts} == {False}

    changed = thread_plan(texts=(TEXTS[0], "Teil 2, neu"), teaser="Teil 1 neu")
    [result] = store.import_plans([(changed, None)], T0)
    assert result.action == "updated"
    post = store.get_post(post_id)
    assert post.parts == ("Teil 2, neu",)
    masto = post.deliveries[0]
    assert masto.part_count == 2
    assert [p.text for p in masto.parts] == [TEXTS[0], "Teil 2, neu"]
    # ... and back to a single post: no parts left.
    single = Plan(Draft(teaser="Einer", key="thread", source="posts/t.md"),
                  (target("masto", ("Einer",)),))  # fmt: skip
    store.import_plans([(single, None)], T0)
    [masto] = [d for d in store.get_post(post_id).deliveries if d.account == "masto"]
    assert (masto.part_count, masto.parts) == (1, ())


def test_a_person_resolves_the_unknown_part_and_the_thread_goes_on(store: Store) -> None:
    post_id = store.enqueue(thread_plan(), T0, T0)
    [claimed] = store.claim_due("w1", T0, 1, LEASE, only=["masto"])
    store.record_part("w1", claimed.delivery_id, published(claimed.parts[0], 1), T0, {})
    store.record("w1", [Result(claimed.delivery_id, Outcome.UNKNOWN, T0, T0, Status.UNKNOWN,
                               error_message="part 2 of 3: timed out")])  # fmt: skip
    later = T0 + timedelta(hours=1)
    found = published(claimed.parts[1], 2)
    assert store.resolve_part(claimed.delivery_id, found, later, remaining=1) == Status.QUEUED
    d = store.get_delivery(claimed.delivery_id)
    assert (d.status, d.next_attempt_at, d.attempts, d.last_error) == (
        Status.QUEUED, later, 0, None,
    )  # fmt: skip
    assert [p.remote_id for p in d.parts] == ["r1", "r2", None]
    assert store.attempts(post_id)[-1].worker == "postbot resolve"
    with pytest.raises(StateError):
        store.resolve_part(claimed.delivery_id, found, later, remaining=1)
    # The last part resolved: published.
    force_delivery(store, claimed.delivery_id, Status.UNKNOWN)
    last = published(claimed.parts[2], 3)
    assert store.resolve_part(claimed.delivery_id, last, later, remaining=0) == Status.PUBLISHED
    assert store.get_delivery(claimed.delivery_id).remote_id == "r1"
