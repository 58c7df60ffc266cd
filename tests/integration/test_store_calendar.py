"""The calendar's read (`Store.posts_due_between`), over SQLite, PostgreSQL and the memory store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from postbot.domain import Status
from postbot.drafts import Plan
from postbot.store import Store
from tests.stores import force_delivery

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
MakePlan = Callable[..., Plan]


def test_a_span_holds_the_deliveries_due_in_it_each_with_its_post(
    store: Store, make_plan: MakePlan
) -> None:
    start, end = T0, T0 + timedelta(days=7)
    before = store.enqueue(make_plan("before", "Vorher"), start - timedelta(microseconds=1), T0)
    first = store.enqueue(make_plan("first", "Grüße zum Wochenstart"), start, T0)
    late = store.enqueue(
        make_plan("late", "Spät", targets=["a", "b"]), end - timedelta(hours=1), T0
    )
    early = store.enqueue(make_plan("early", "Früh"), start + timedelta(hours=1), T0)
    store.enqueue(make_plan("after", "Nachher"), end, T0)  # the end is not in the span
    # One of the late post's deliveries is moved out of the span: only the other stays.
    moved = store.get_post(late).deliveries[1]
    force_delivery(store, moved.id, Status.QUEUED, due_at=end + timedelta(days=1))
    force_delivery(store, store.get_post(early).deliveries[0].id, Status.FAILED)

    posts = store.posts_due_between(start, end)

    assert [p.id for p in posts] == [first, early, late]
    assert before not in [p.id for p in posts]
    assert posts[0].teaser == "Grüße zum Wochenstart"
    assert [len(p.deliveries) for p in posts] == [2, 2, 1]
    assert posts[2].deliveries[0].account == "a"
    assert {d.status for d in posts[1].deliveries} == {Status.FAILED, Status.QUEUED}
    for p in posts:
        for d in p.deliveries:
            assert start <= d.due_at < end
            assert d.due_at.utcoffset() == timedelta(0)
    assert [d.id for d in posts[0].deliveries] == sorted(d.id for d in posts[0].deliveries)


def test_an_empty_span_holds_nothing(store: Store, make_plan: MakePlan) -> None:
    store.enqueue(make_plan("p"), T0, T0)
    assert store.posts_due_between(T0 + timedelta(seconds=1), T0 + timedelta(days=1)) == []
