"""The store contract for the guards, over SQLite, PostgreSQL and the memory store (the `store`
fixture): earlier deliveries of a text found by (account, text hash); an account's billed texts
of a month; claims within a monthly budget, decided in the claim transaction, so that several
workers at once never exceed it, and held deliveries released in the next month."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from postbot.costs import Budget, Prices
from postbot.domain import Outcome, Status
from postbot.drafts import Plan
from postbot.duplicates import text_hash
from postbot.store import Result, Store
from tests.stores import force_delivery

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
LEASE = timedelta(minutes=5)
BERLIN = ZoneInfo("Europe/Berlin")
MakePlan = Callable[..., Plan]


def budget(amount: str) -> Budget:
    return Budget(Decimal(amount), Prices(), BERLIN)


def one(store: Store, make_plan: MakePlan, key: str, text: str, account: str = "x-main") -> int:
    """A post with one delivery to `account`, due at T0; returns the delivery id."""
    post_id = store.enqueue(make_plan(key, text, targets=[(account, "x")]), T0, T0)
    return store.get_post(post_id).deliveries[0].id


def publish(store: Store, worker: str, delivery_id: int, at: datetime) -> None:
    result = Result(delivery_id, Outcome.PUBLISHED, at, at, Status.PUBLISHED, remote_id="r1")
    changed = store.record(worker, [result])
    assert changed == 1


# -- duplicate guard ---------------------------------------------------------------------------
def test_same_text_finds_earlier_deliveries_by_account_and_normalised_hash(
    store: Store, make_plan: MakePlan
) -> None:
    first = one(store, make_plan, "a", "Der Gipfel https://example.org/soz?utm_source=x")
    one(store, make_plan, "b", "Der Gipfel https://example.org/soz", account="other")
    force_delivery(store, first, Status.PUBLISHED)
    wanted = text_hash("der gipfel  https://EXAMPLE.org/soz#top")
    assert store.get_delivery(first).text_hash == wanted
    [found] = store.same_text([("x-main", wanted)])
    assert (found.post_key, found.account, found.status) == ("a", "x-main", Status.PUBLISHED)
    assert found.created_at == T0 and found.text_hash == wanted
    assert store.same_text([("x-main", text_hash("Ein anderer Text"))]) == []
    assert store.same_text([]) == []
    assert {e.account for e in store.same_text([("x-main", wanted), ("other", wanted)])} == {
        "x-main", "other",
    }  # fmt: skip


def test_an_updated_post_file_is_hashed_again(store: Store, make_plan: MakePlan) -> None:
    store.import_plans([(make_plan("f", "Alter Text", targets=[("x-main", "x")]), None)], T0)
    store.import_plans([(make_plan("f", "Neuer Text", targets=[("x-main", "x")]), None)], T0)
    assert [e.post_key for e in store.same_text([("x-main", text_hash("neuer text"))])] == ["f"]
    assert store.same_text([("x-main", text_hash("alter text"))]) == []


# -- an account's month -------------------------------------------------------------------------
def test_month_texts_are_what_was_published_then_and_what_is_in_flight(
    store: Store, make_plan: MakePlan
) -> None:
    start, end = T0 - timedelta(days=5), T0 + timedelta(days=20)
    done = one(store, make_plan, "done", "Schon draußen https://example.org/1")
    old = one(store, make_plan, "old", "Letzten Monat")
    running = one(store, make_plan, "running", "Läuft gerade")
    one(store, make_plan, "waiting", "Wartet noch")
    other = one(store, make_plan, "other", "Anderes Konto", account="other")
    claimed = store.claim_due("w1", T0, 10, LEASE)
    assert {c.delivery_id for c in claimed} >= {done, old, running, other}
    publish(store, "w1", done, T0)
    publish(store, "w1", old, start - timedelta(seconds=1))
    publish(store, "w1", other, T0)
    texts = store.month_texts("x-main", start, end)
    assert texts.published == ("Schon draußen https://example.org/1",)
    assert set(texts.in_flight) == {"Läuft gerade", "Wartet noch"}  # both claimed just now
    assert texts.spent(Prices()) == Decimal("0.200")
    assert store.month_texts("x-main", start, end, dry_run=True).published == ()


# -- a claim within the budget ------------------------------------------------------------------
def test_a_claim_takes_what_fits_and_holds_the_rest_until_the_next_month(
    store: Store, make_plan: MakePlan
) -> None:
    first = one(store, make_plan, "1", "Eins https://example.org/1")
    second = one(store, make_plan, "2", "Zwei https://example.org/2")
    one(store, make_plan, "3", "Drei ohne Link")
    got = store.claim_budgeted("w1", T0, "x-main", budget("0.25"), 10, LEASE)
    assert [c.delivery_id for c in got.claimed] == [first]
    # Held: the second would exceed it, and the cheap third does not jump the queue.
    assert got.state.out and got.state.held == 2 and got.state.next_cost == Decimal("0.200")
    assert got.state.spent == Decimal("0.200")
    publish(store, "w1", first, T0)
    again = store.claim_budgeted("w1", T0 + timedelta(minutes=1), "x-main", budget("0.25"), 10,
                                 LEASE)  # fmt: skip
    assert again.claimed == () and again.state.held == 2
    assert store.get_delivery(second).status == Status.QUEUED  # held, never dropped
    # A raised budget lets it go; so does the next month (Berlin's), with the spend at 0.
    raised = store.claim_budgeted("w1", T0, "x-main", budget("0.40"), 1, LEASE)
    assert [c.delivery_id for c in raised.claimed] == [second] and not raised.state.out
    month = store.claim_budgeted("w1", datetime(2031, 5, 31, 22, 0, tzinfo=UTC), "x-main",
                                 budget("0.25"), 10, LEASE)  # fmt: skip
    assert len(month.claimed) == 1 and month.state.spent == Decimal("0.015")


def test_a_claim_for_none_tells_the_state_and_takes_nothing(
    store: Store, make_plan: MakePlan
) -> None:
    held = one(store, make_plan, "1", "Eins https://example.org/1")
    got = store.claim_budgeted("status", T0, "x-main", budget("0.10"), 0, LEASE)
    assert got.claimed == () and got.state.out and got.state.held == 1
    assert "more than the monthly budget of $0.10" in got.state.reason()
    assert store.get_delivery(held).status == Status.QUEUED
    fine = store.claim_budgeted("status", T0, "x-main", budget("1"), 0, LEASE)
    assert fine.claimed == () and not fine.state.out


def test_workers_together_never_exceed_the_budget(store: Store, make_plan: MakePlan) -> None:
    for n in range(12):
        one(store, make_plan, f"p{n}", f"Beitrag {n} https://example.org/{n}")
    taken: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            for _ in range(6):
                got = store.claim_budgeted(name, T0, "x-main", budget("1.00"), 2, LEASE)
                with lock:
                    taken.extend(c.delivery_id for c in got.claimed)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    # $1.00 at $0.20 a post: five posts, each claimed once, whoever claimed them.
    assert len(taken) == len(set(taken)) == 5
