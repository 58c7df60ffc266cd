"""The store contract for drafts and review: a draft is never claimed, approval queues it (with
an edit, re-rendered) and rejection cancels it, each recorded. Over SQLite, PostgreSQL and the
memory store (`store` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from postbot.domain import Status
from postbot.drafts import Plan
from postbot.errors import NotFound, StateError
from postbot.feeds.records import ItemWrite, PollResult, PollWrite
from postbot.reviews import Decision
from postbot.store import Store
from postbot.store.base import ConstraintError
from tests.stores import force_delivery

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
MakePlan = Callable[..., Plan]


def held(plan: Plan) -> Plan:
    return replace(plan, draft=replace(plan.draft, hold=True))


def test_a_draft_is_stored_as_draft_and_never_claimed(store: Store, make_plan: MakePlan) -> None:
    post_id = store.enqueue(held(make_plan("d1")), T0 - timedelta(minutes=5), T0)

    assert {d.status for d in store.get_post(post_id).deliveries} == {Status.DRAFT}
    assert store.claim_due("w1", T0 + timedelta(hours=1), 10, timedelta(minutes=1)) == []
    assert store.next_due() is None
    assert [p.id for p in store.list_posts(Status.DRAFT)] == [post_id]


def test_approve_queues_at_due_and_records_who_when_what(store: Store, make_plan: MakePlan) -> None:
    post_id = store.enqueue(held(make_plan("d1", "Grüße aus Köln")), T0, T0)
    due = T0 + timedelta(minutes=30)

    review = store.approve(post_id, due, T0 + timedelta(seconds=1), "anna")

    post = store.get_post(post_id)
    assert {(d.status, d.due_at, d.next_attempt_at) for d in post.deliveries} == {
        (Status.QUEUED, due, due)
    }
    assert review.decision == Decision.APPROVED and review.by == "anna"
    assert review.detail["texts"] == {"x-main": "Grüße aus Köln", "masto": "Grüße aus Köln"}
    assert review.detail["due"] == due.isoformat()
    assert review.detail["edited"] is False
    assert store.reviews(post_id) == [review]
    assert store.reviews(post_id)[0].at == T0 + timedelta(seconds=1)
    claimed = store.claim_due("w1", due, 10, timedelta(minutes=1))
    assert {c.post_id for c in claimed} == {post_id}


def test_approve_with_an_edit_rerenders_the_draft(store: Store, make_plan: MakePlan) -> None:
    post_id = store.enqueue(held(make_plan("d1", "alt")), T0, T0)
    edited = make_plan("d1", "Neu: Gipfel beginnt")

    review = store.approve(post_id, T0, T0, "desk", edited)

    post = store.get_post(post_id)
    assert post.teaser == "Neu: Gipfel beginnt"
    assert {d.text for d in post.deliveries} == {"Neu: Gipfel beginnt"}
    assert {d.status for d in post.deliveries} == {Status.QUEUED}
    assert review.detail["edited"] is True
    assert review.detail["teaser"] == "Neu: Gipfel beginnt"


def test_reject_cancels_and_is_recorded(store: Store, make_plan: MakePlan) -> None:
    post_id = store.enqueue(held(make_plan("d1")), T0, T0)

    review = store.reject(post_id, T0, "bernd")

    assert {d.status for d in store.get_post(post_id).deliveries} == {Status.CANCELLED}
    assert review.decision == Decision.REJECTED
    assert review.detail["texts"] == {"x-main": "Hallo Welt", "masto": "Hallo Welt"}
    assert [r.decision for r in store.reviews(post_id)] == [Decision.REJECTED]


def test_only_a_draft_is_decided_on(store: Store, make_plan: MakePlan) -> None:
    queued = store.enqueue(make_plan("q1"), T0, T0)
    with pytest.raises(StateError, match="not a draft"):
        store.approve(queued, T0, T0, "anna")
    with pytest.raises(StateError, match="not a draft"):
        store.reject(queued, T0, "anna")
    with pytest.raises(NotFound):
        store.approve(999, T0, T0, "anna")
    draft = store.enqueue(held(make_plan("d1")), T0, T0)
    store.approve(draft, T0, T0, "anna")
    with pytest.raises(StateError):
        store.approve(draft, T0, T0, "anna")  # approved once
    assert len(store.reviews(draft)) == 1
    assert store.reviews(queued) == []


def test_reimport_of_a_held_file_keeps_it_a_draft(store: Store, make_plan: MakePlan) -> None:
    plan = held(make_plan("file:posts/a.md", "eins"))
    [first] = store.import_plans([(plan, T0)], T0)
    changed = held(make_plan("file:posts/a.md", "zwei"))
    [second] = store.import_plans([(changed, None)], T0)

    assert (first.action, second.action) == ("created", "updated")
    post = store.get_post(first.post_id or 0)
    assert {(d.status, d.text) for d in post.deliveries} == {(Status.DRAFT, "zwei")}
    # The flag removed in a reviewed commit: queued, as a merged change is an approval.
    [third] = store.import_plans([(make_plan("file:posts/a.md", "zwei"), None)], T0)
    assert third.action == "updated"
    assert {d.status for d in store.get_post(first.post_id or 0).deliveries} == {Status.QUEUED}


# -- feeds: a poll in one transaction ----------------------------------------------------------
def _poll(*items: ItemWrite, result: PollResult = PollResult.OK) -> PollWrite:
    return PollWrite("politik", "https://e.de/rss", T0, result, T0 + timedelta(minutes=5),
                     items=items)  # fmt: skip


def test_a_poll_stores_keys_and_posts_once(store: Store, make_plan: MakePlan) -> None:
    new = ItemWrite(("i:a", "l:https://e.de/a"), "h1", "A", "https://e.de/a",
                    make_plan("feed:politik:a"), T0)  # fmt: skip
    seen = ItemWrite(("i:b",), "h2", "B", None)
    twice = ItemWrite(("i:a",), "h1", "A again", None)
    outcomes = store.record_poll(_poll(new, seen, twice), T0)

    assert [o.action for o in outcomes] == ["created", "seen", "unchanged"]
    post_id = outcomes[0].post_id
    assert post_id is not None and len(store.list_posts()) == 1
    known = store.known_feed_items("politik", ["i:a", "l:https://e.de/a", "i:b", "i:x"])
    assert set(known) == {"i:a", "l:https://e.de/a", "i:b"}
    assert known["i:a"].article == known["l:https://e.de/a"].article != known["i:b"].article
    assert known["l:https://e.de/a"].post_id == post_id and known["i:b"].post_id is None
    [state] = store.feed_states()
    assert (state.items_seen, state.posts_created, state.watched_since) == (2, 1, T0)
    # Again, with a new GUID for the same link: the same article, its new key remembered.
    again = ItemWrite(("i:a2", "l:https://e.de/a"), "h1", "A", "https://e.de/a",
                      make_plan("feed:politik:a2"), T0)  # fmt: skip
    [outcome] = store.record_poll(_poll(again), T0)
    assert (outcome.action, outcome.post_id) == ("unchanged", post_id)
    assert store.known_feed_items("politik", ["i:a2"])["i:a2"].post_id == post_id
    assert len(store.list_posts()) == 1
    assert store.known_feed_items("other", ["i:a"]) == {}


def test_an_edit_updates_a_live_post_and_never_a_settled_or_rejected_one(
    store: Store, make_plan: MakePlan
) -> None:
    first = ItemWrite(("i:a",), "h1", "A", None, make_plan("feed:p:a", "eins"), T0)
    [made] = store.record_poll(_poll(first), T0)
    edit = ItemWrite(("i:a",), "h2", "A", None, make_plan("feed:p:a", "zwei"), T0)
    assert store.record_poll(_poll(edit), T0)[0].action == "updated"
    assert store.get_post(made.post_id or 0).teaser == "zwei"
    delivery = store.get_post(made.post_id or 0).deliveries[0]
    force_delivery(store, delivery.id, Status.PUBLISHED, remote_id="1")
    later = ItemWrite(("i:a",), "h3", "A", None, make_plan("feed:p:a", "drei"), T0)
    assert store.record_poll(_poll(later), T0)[0].action == "conflict"
    assert store.get_post(made.post_id or 0).teaser == "zwei"

    draft = ItemWrite(("i:d",), "h1", "D", None, held(make_plan("feed:p:d", "d1")), T0)
    [d] = store.record_poll(_poll(draft), T0)
    store.reject(d.post_id or 0, T0, "anna")
    edited = ItemWrite(("i:d",), "h2", "D", None, held(make_plan("feed:p:d", "d2")), T0)
    assert store.record_poll(_poll(edited), T0)[0].action == "kept"
    assert {x.status for x in store.get_post(d.post_id or 0).deliveries} == {Status.CANCELLED}


def test_a_failed_poll_keeps_the_etag_and_a_failing_write_keeps_nothing(
    store: Store, make_plan: MakePlan
) -> None:
    store.record_poll(replace(_poll(), etag='"v1"', last_modified="Tue"), T0)
    store.record_poll(replace(_poll(result=PollResult.ERROR), failures=1, error="HTTP 500"), T0)
    [state] = store.feed_states()
    assert (state.etag, state.result, state.failures, state.error) == (
        '"v1"', PollResult.ERROR, 1, "HTTP 500",
    )  # fmt: skip
    store.enqueue(make_plan("feed:p:taken"), T0, T0)
    clash = ItemWrite(("i:z",), "h", "Z", None, make_plan("feed:p:taken"), T0)
    with pytest.raises(ConstraintError):
        store.record_poll(_poll(ItemWrite(("i:y",), "h", "Y", None), clash), T0)
    assert store.known_feed_items("politik", ["i:y", "i:z"]) == {}
    assert store.feed_states()[0].items_seen == 0


def test_a_draft_can_be_cancelled_as_a_deleted_draft_file_does(
    store: Store, make_plan: MakePlan
) -> None:
    post_id = store.enqueue(held(make_plan("file:posts/weg.md")), T0, T0)
    assert store.cancel(post_id, T0) == 2
    assert {d.status for d in store.get_post(post_id).deliveries} == {Status.CANCELLED}
    assert store.reviews(post_id) == []  # a cancel is no editor's decision
