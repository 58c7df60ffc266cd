"""PostgreSQL row locks under several writers: a worker's lease renewal and its own records
never deadlock, renewal never waits for a row someone else holds, and a transaction the
database aborts as a deadlock is run again.

Found by four daemons on one database (tests/acceptance/test_guarantees.py): a record writing
its results in completion order and a renewal in id order took the same rows in opposite
orders, PostgreSQL aborted the record, and its deliveries sat in `publishing` until their
leases ran out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from postbot.domain import Outcome, Status
from postbot.drafts import Plan
from postbot.store import Result, Store, open_store

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.fixture
def pg_store(pg_url: str, _pg_truncator: Callable[[], None]) -> Iterator[Store]:
    _pg_truncator()
    store = open_store(pg_url)
    yield store
    store.dispose()


def _libpq(url: str) -> str:
    u = make_url(url)
    return f"host={u.host} port={u.port or 5432} dbname={u.database} user={u.username or ''}"


def claimed_ids(store: Store, make_plan: Callable[..., Plan], n: int) -> list[int]:
    for i in range(n):
        store.enqueue(make_plan(f"k{i}", f"Text {i}", targets=[("x-main", "x")]), T0, T0)
    return [c.delivery_id for c in store.claim_due("w1", T0, n, LEASE)]


def test_renewal_skips_a_row_another_transaction_holds_without_waiting(
    pg_store: Store, pg_url: str, make_plan: Callable[..., Plan]
) -> None:
    ids = claimed_ids(pg_store, make_plan, 3)
    with psycopg.connect(_libpq(pg_url)) as other:
        other.execute("SELECT id FROM delivery WHERE id = %s FOR UPDATE", (ids[1],))
        started = time.monotonic()
        renewed = pg_store.renew_leases("w1", ids, T0 + 2 * LEASE)
        took = time.monotonic() - started
    assert renewed == 2  # the held row is left to whoever holds it
    assert took < 5, f"renewal waited {took:.1f} s for a locked row"
    leases = [pg_store.get_delivery(i).lease_expires_at for i in ids]
    assert leases == [T0 + 2 * LEASE, T0 + LEASE, T0 + 2 * LEASE]


def test_records_in_any_order_and_renewals_side_by_side_never_deadlock(
    pg_store: Store, pg_url: str, make_plan: Callable[..., Plan]
) -> None:
    ids = claimed_ids(pg_store, make_plan, 300)
    failures: list[BaseException] = []
    recording = threading.Event()

    def renew() -> None:
        other = open_store(pg_url)
        try:
            while not recording.is_set():
                other.renew_leases("w1", ids, T0 + 2 * LEASE)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)
        finally:
            other.dispose()

    renewer = threading.Thread(target=renew)
    renewer.start()
    try:
        # Results arrive in completion order, highest id first here: the opposite of the
        # renewal's order, which is what deadlocked before records were written in id order.
        for batch in range(0, len(ids), 20):
            chunk = sorted(ids[batch : batch + 20], reverse=True)
            results = [Result(i, Outcome.PUBLISHED, T0, T0, Status.PUBLISHED) for i in chunk]
            assert pg_store.record("w1", results) == len(chunk)
    finally:
        recording.set()
        renewer.join()
    assert failures == []
    assert pg_store.status_summary().counts == {"published": len(ids)}


def test_a_transaction_aborted_as_a_deadlock_is_run_again(
    pg_store: Store, pg_url: str, make_plan: Callable[..., Plan]
) -> None:
    first, second = claimed_ids(pg_store, make_plan, 2)
    runs: list[int] = []
    mine_locked, theirs_locked = threading.Event(), threading.Event()

    def rival() -> None:
        # Takes `second`, waits until the work below holds `first`, then asks for `first`:
        # one of the two must be aborted by PostgreSQL's deadlock detector.
        with psycopg.connect(_libpq(pg_url), options="-c deadlock_timeout=100ms") as conn:
            try:
                conn.execute("SELECT 1 FROM delivery WHERE id = %s FOR UPDATE", (second,))
                theirs_locked.set()
                mine_locked.wait(10)
                conn.execute("SELECT 1 FROM delivery WHERE id = %s FOR UPDATE", (first,))
                time.sleep(0.5)  # hold both, so the work's first try is the one aborted
            except psycopg.errors.DeadlockDetected:
                pass

    def work(conn) -> int:  # type: ignore[no-untyped-def]
        runs.append(1)
        lock = "SELECT 1 FROM delivery WHERE id = :id FOR UPDATE"
        conn.execute(text(lock), {"id": first})
        if len(runs) == 1:
            conn.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
            mine_locked.set()
            theirs_locked.wait(10)
        conn.execute(text(lock), {"id": second})
        return int(
            conn.execute(
                text("UPDATE delivery SET attempts = attempts + 10 WHERE id IN (:a, :b)"),
                {"a": first, "b": second},
            ).rowcount
        )

    thread = threading.Thread(target=rival)
    thread.start()
    try:
        assert pg_store.write_retried(work) == 2  # type: ignore[attr-defined]
    finally:
        thread.join()
    assert len(runs) == 2  # aborted once as a deadlock, then run again and committed
    assert pg_store.get_delivery(first).attempts == pg_store.get_delivery(second).attempts == 11
