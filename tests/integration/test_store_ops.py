"""The store contract for operations (postbot.ops): the write probe, the gauges, incidents and the
rate of alert messages. Runs over SQLite, PostgreSQL and the memory store (`store` fixture)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from postbot.domain import Status
from postbot.drafts import Plan
from postbot.operations import IncidentKind, NewIncident
from postbot.pacing import Pace
from postbot.store import Store
from tests.stores import force_delivery

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
MakePlan = Callable[..., Plan]
RATE = Pace(3, timedelta(hours=1))


def failed(delivery_id: int) -> NewIncident:
    return NewIncident(f"failed:{delivery_id}:1", IncidentKind.FAILED, f"delivery {delivery_id}",
                       account="x-main", delivery_id=delivery_id)  # fmt: skip


def credentials(account: str = "x-main") -> NewIncident:
    return NewIncident(f"credentials:{account}", IncidentKind.CREDENTIALS, "token refused",
                       account=account, condition=True)  # fmt: skip


def test_probe_write_passes_and_changes_nothing(store: Store, make_plan: MakePlan) -> None:
    store.enqueue(make_plan("a"), T0, T0)
    before = store.status_summary()
    store.probe_write()
    assert store.status_summary() == before
    assert store.schema_version() is not None


def test_queue_gauges_count_the_live_part_of_the_queue(store: Store, make_plan: MakePlan) -> None:
    due = store.enqueue(make_plan("due", targets=[("x-main", "x"), ("masto", "mastodon")]),
                        T0 - timedelta(minutes=1), T0)  # fmt: skip
    store.enqueue(make_plan("later", targets=[("x-main", "x")]), T0 + timedelta(hours=1), T0)
    gone = store.enqueue(make_plan("gone", targets=[("x-main", "x"), ("masto", "mastodon")]),
                         T0 - timedelta(hours=1), T0)  # fmt: skip
    ids = [d.id for d in store.get_post(gone).deliveries]
    force_delivery(store, ids[0], Status.PUBLISHING, lease_owner="dead",
                   lease_expires_at=T0 - timedelta(seconds=30))  # fmt: skip
    force_delivery(store, ids[1], Status.UNKNOWN)
    store.beat("w1", "host", 1, False, T0)

    gauges = store.queue_gauges(T0)

    assert gauges.due == {"x-main": 1, "masto": 1}
    assert gauges.next_due == store.get_post(due).deliveries[0].next_attempt_at
    assert (gauges.publishing, gauges.stale, gauges.unknown) == (1, 1, 1)
    assert gauges.stale_since == T0 - timedelta(seconds=30)
    assert [w.worker for w in gauges.workers] == ["w1"]
    # Queued deliveries are not counted by state: those due now are `due`, and a million
    # queued for later must not be read at every scrape.
    assert gauges.by_state == {("publishing", "x-main"): 1, ("unknown", "masto"): 1}
    assert store.workers() == gauges.workers
    # A lease still running is in flight, not stale.
    assert store.queue_gauges(T0 - timedelta(minutes=1)).stale == 0


def test_an_incident_opens_once_per_key_and_counts_repeats(store: Store) -> None:
    first = store.open_incident(failed(7), T0)
    assert first is not None and first.seen == 1 and first.sent_at is None
    assert first.kind == IncidentKind.FAILED and first.delivery_id == 7
    assert store.open_incident(failed(7), T0 + timedelta(seconds=1)) is None
    # Events are never open conditions, and never resolved.
    assert store.open_incidents() == []
    assert store.resolve_incidents([first.key], T0) == 0
    assert store.open_incident(failed(7), T0 + timedelta(seconds=2)) is None


def test_a_condition_resolves_and_may_open_again(store: Store) -> None:
    opened = store.open_incident(credentials(), T0)
    assert opened is not None
    assert store.open_incident(credentials(), T0 + timedelta(seconds=5)) is None
    [open_one] = store.open_incidents(IncidentKind.CREDENTIALS)
    assert open_one.id == opened.id and open_one.seen == 2
    assert open_one.last_seen_at == T0 + timedelta(seconds=5)
    assert store.open_incidents(IncidentKind.HEARTBEAT) == []

    assert store.resolve_incidents([opened.key], T0 + timedelta(minutes=1)) == 1
    assert store.open_incidents() == []
    again = store.open_incident(credentials(), T0 + timedelta(minutes=2))
    assert again is not None and again.id != opened.id


def test_alerts_are_taken_once_within_the_rate(store: Store) -> None:
    for n in range(5):
        store.open_incident(failed(n), T0)
    first = store.take_alerts(T0, RATE, limit=2)
    assert [i.delivery_id for i in first] == [0, 1]
    assert all(i.sent_at == T0 for i in first)
    second = store.take_alerts(T0, RATE)
    assert [i.delivery_id for i in second] == [2, 3, 4]
    assert store.take_alerts(T0, RATE) == []  # nothing pending
    store.open_incident(failed(5), T0)
    assert [i.delivery_id for i in store.take_alerts(T0, RATE)] == [5]
    store.open_incident(failed(6), T0)
    assert store.take_alerts(T0, RATE) == []  # 3 messages within the hour: the rate is used
    later = T0 + RATE.period + timedelta(seconds=1)
    assert [i.delivery_id for i in store.take_alerts(later, RATE)] == [6]


def test_released_alerts_are_pending_again_and_do_not_count(store: Store) -> None:
    store.open_incident(failed(1), T0)
    taken = store.take_alerts(T0, Pace(1, timedelta(hours=1)))
    assert len(taken) == 1
    store.release_alerts([i.id for i in taken])
    again = store.take_alerts(T0, Pace(1, timedelta(hours=1)))
    assert [i.id for i in again] == [taken[0].id]


def test_two_stores_open_an_incident_once_and_keep_the_rate_together(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    others = [store, *(store_factory() for _ in range(3))]
    opened: list[object] = []
    taken: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(others))

    def work(s: Store) -> None:
        barrier.wait()
        got = s.open_incident(credentials(), T0)
        batch = s.take_alerts(T0, Pace(1, timedelta(hours=1)))
        with lock:
            opened.append(got)
            taken.extend(i.id for i in batch)

    threads = [threading.Thread(target=work, args=(s,)) for s in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(1 for o in opened if o is not None) == 1
    assert len(taken) == 1
    [incident] = store.open_incidents()
    assert incident.seen == len(others)
