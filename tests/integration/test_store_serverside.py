"""The store contract for handovers to a server's scheduling, over SQLite, PostgreSQL and the
memory store (the `store` fixture): what a handover claim takes, what its record writes, and
changes to a scheduled delivery guarded by its scheduled id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postbot.domain import Handover, Outcome, Status
from postbot.drafts import Draft, PartCheck, Plan, Target
from postbot.platforms.limits import LimitCheck
from postbot.store import Store, rules
from tests.stores import force_delivery

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
LEASE = timedelta(minutes=5)
AFTER, UNTIL = T0 + timedelta(minutes=6), T0 + timedelta(hours=1)


def plan(key: str, *, thread: bool = False, account: str = "masto") -> Plan:
    texts = ("Teil 1", "Teil 2") if thread else (f"Text {key}",)
    checks = tuple(PartCheck(t, (LimitCheck("characters", len(t), 500),)) for t in texts)
    target = Target(account, "mastodon", texts[0], len(texts[0]), 500, checks[0].checks,
                    parts=checks if thread else ())  # fmt: skip
    return Plan(Draft(teaser=texts[0], parts=texts[1:], key=key), (target,))


def one(store: Store, post_id: int) -> int:
    [d] = store.get_post(post_id).deliveries
    return d.id


def test_a_handover_claim_takes_only_single_first_attempts_due_within_the_window(
    store: Store,
) -> None:
    wanted = store.enqueue(plan("wanted"), T0 + timedelta(minutes=20), T0)
    store.enqueue(plan("too-close"), T0 + timedelta(minutes=5), T0)
    store.enqueue(plan("too-far"), T0 + timedelta(hours=2), T0)
    store.enqueue(plan("thread", thread=True), T0 + timedelta(minutes=20), T0)
    store.enqueue(plan("other", account="x"), T0 + timedelta(minutes=20), T0)
    refused = store.enqueue(plan("refused"), T0 + timedelta(minutes=20), T0)
    force_delivery(store, one(store, refused), Status.QUEUED, handover_refused=True)
    retried = store.enqueue(plan("retried"), T0 + timedelta(minutes=20), T0)
    force_delivery(store, one(store, retried), Status.QUEUED, attempts=1)

    claimed = store.claim_handover("w1", T0, "masto", AFTER, UNTIL, 10, LEASE)
    assert [c.post_id for c in claimed] == [wanted]
    assert claimed[0].attempts == 0  # a handover is counted once the server took it
    d = store.get_delivery(claimed[0].delivery_id)
    assert (d.status, d.lease_owner, d.lease_expires_at) == (Status.PUBLISHING, "w1", T0 + LEASE)
    assert store.claim_handover("w2", T0, "masto", AFTER, UNTIL, 10, LEASE) == []


def test_a_handover_record_schedules_or_requeues_under_the_lease(store: Store) -> None:
    taken = store.enqueue(plan("taken"), T0 + timedelta(minutes=20), T0)
    refused = store.enqueue(plan("refused"), T0 + timedelta(minutes=21), T0)
    a, b = store.claim_handover("w1", T0, "masto", AFTER, UNTIL, 10, LEASE)
    later = T0 + timedelta(seconds=1)
    assert store.record_handover("w1", Handover(a.delivery_id, T0, later, "sched-1",
                                                detail={"scheduled_at": "x"}))  # fmt: skip
    d = store.get_delivery(a.delivery_id)
    assert (d.status, d.scheduled_id, d.attempts, d.lease_owner) == (
        Status.SCHEDULED, "sched-1", 1, None,
    )  # fmt: skip
    [attempt] = store.attempts(taken)
    assert (attempt.outcome, attempt.detail) == (
        Outcome.SCHEDULED, {"scheduled_at": "x", "scheduled_id": "sched-1"},
    )  # fmt: skip
    # Refused without asking (its limits counted here): queued, not offered again, no attempt.
    assert not store.record_handover("w2", Handover(b.delivery_id, T0, later, None))  # no lease
    assert store.record_handover("w1", Handover(b.delivery_id, T0, later, None, refused=True,
                                                sent=False, error_message="limit"))  # fmt: skip
    d = store.get_delivery(b.delivery_id)
    assert (d.status, d.handover_refused, d.last_error, d.attempts) == (
        Status.QUEUED, True, "limit", 0,
    )  # fmt: skip
    # Only the request of the worker that had lost the lease is logged (it changed nothing).
    assert [(x.worker, x.outcome) for x in store.attempts(refused)] == [("w2", Outcome.TRANSIENT)]
    assert [x.id for x in store.scheduled_of("masto")] == [a.delivery_id]
    assert store.scheduled_of("x") == []


def test_changes_to_a_scheduled_delivery_are_guarded_by_its_scheduled_id(store: Store) -> None:
    post_id = store.enqueue(plan("p"), T0 + timedelta(minutes=20), T0)
    [c] = store.claim_handover("w1", T0, "masto", AFTER, UNTIL, 1, LEASE)
    store.record_handover("w1", Handover(c.delivery_id, T0, T0, "sched-1"))
    done = rules.scheduled_published("status-9", "https://m.example/9", T0)
    assert not store.change_scheduled(c.delivery_id, "another", done)
    assert store.change_scheduled(c.delivery_id, "sched-1", done)
    assert not store.change_scheduled(c.delivery_id, "sched-1", done)  # once only
    d = store.get_delivery(c.delivery_id)
    assert (d.status, d.remote_id, d.remote_url, d.scheduled_id) == (
        Status.PUBLISHED, "status-9", "https://m.example/9", None,
    )  # fmt: skip
    assert len(store.attempts(post_id)) == 1  # the handover only


def test_withdrawn_and_reset_scheduled_deliveries_are_queued_as_new(store: Store) -> None:
    store.enqueue(plan("w"), T0 + timedelta(minutes=20), T0)
    [c] = store.claim_handover("w1", T0, "masto", AFTER, UNTIL, 1, LEASE)
    store.record_handover("w1", Handover(c.delivery_id, T0, T0, "sched-1"))
    assert store.change_scheduled(c.delivery_id, "sched-1", rules.unscheduled(T0))
    d = store.get_delivery(c.delivery_id)
    assert (d.status, d.scheduled_id, d.attempts) == (Status.QUEUED, None, 0)
    # A dry run's handover is put back by golive.
    store.enqueue(plan("dry"), T0 + timedelta(minutes=30), T0)
    [c] = store.claim_handover("demo", T0, "masto", AFTER, UNTIL, 1, LEASE, dry_run=True)
    store.record_handover("demo", Handover(c.delivery_id, T0, T0, "dry-run:2", dry_run=True))
    assert store.status_summary().dry_run == {"scheduled": 1}
    assert store.reset_dry_run(T0).by_status == {"scheduled": 1}
    d = store.get_delivery(c.delivery_id)
    assert (d.status, d.scheduled_id, d.dry_run) == (Status.QUEUED, None, False)
