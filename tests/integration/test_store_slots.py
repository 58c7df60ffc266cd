"""The store contract for posting slots and recurring series, over SQLite, PostgreSQL and the
memory store (the `store` fixture): each account's first free slot, taken once across
concurrent writers, freed by cancel and reschedule; one post per series and occurrence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from postbot.domain import Status
from postbot.drafts import Plan
from postbot.errors import StateError
from postbot.slots import Schedule, parse_slots
from postbot.store import ConstraintError, Store
from tests.integration.test_store_contract import in_threads
from tests.stores import force_delivery

pytestmark = pytest.mark.timeout(120)

BERLIN = ZoneInfo("Europe/Berlin")
# Wednesday 2 December 2026, 06:00 Berlin: the next slots are 07:30, 12:00, Thursday 07:30 ...
T0 = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
SCHEDULE = Schedule(parse_slots(["mon-fri 07:30", "mon-fri 12:00"]), BERLIN, "queues.desk")
MakePlan = Callable[..., Plan]


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def both(plan: Plan) -> dict[str, Schedule]:
    return {t.account: SCHEDULE for t in plan.targets}


def test_each_target_takes_its_own_first_free_slot(store: Store, make_plan: MakePlan) -> None:
    # x-main already has a post at 07:30 (given with --at): that slot is filled for x-main only.
    store.enqueue(make_plan("given", targets=[("x-main", "x")]), at(2, 7, 30), T0)
    plan = make_plan("slotted")
    post_id, slots = store.enqueue_slotted(plan, both(plan), T0)
    assert slots == {"x-main": at(2, 12, 0), "masto": at(2, 7, 30)}
    got = {
        d.account: (d.due_at, d.next_attempt_at, d.slot_at)
        for d in store.get_post(post_id).deliveries
    }
    assert got == {
        "x-main": (at(2, 12, 0), at(2, 12, 0), at(2, 12, 0)),
        "masto": (at(2, 7, 30), at(2, 7, 30), at(2, 7, 30)),
    }


def test_slots_fill_in_order_and_cancel_frees_one(store: Store, make_plan: MakePlan) -> None:
    ids = []
    for i in range(3):
        plan = make_plan(f"p{i}", targets=[("masto", "mastodon")])
        ids.append(store.enqueue_slotted(plan, both(plan), T0))
    assert [s["masto"] for _, s in ids] == [at(2, 7, 30), at(2, 12, 0), at(3, 7, 30)]
    store.cancel(ids[0][0], T0)
    plan = make_plan("p3", targets=[("masto", "mastodon")])
    assert store.enqueue_slotted(plan, both(plan), T0)[1] == {"masto": at(2, 7, 30)}


def test_reschedule_frees_the_slot_and_next_slot_moves_it(
    store: Store, make_plan: MakePlan
) -> None:
    first = make_plan("a", targets=[("masto", "mastodon")])
    second = make_plan("b", targets=[("masto", "mastodon")])
    a, _ = store.enqueue_slotted(first, both(first), T0)
    b, _ = store.enqueue_slotted(second, both(second), T0)
    store.reschedule(a, at(10, 9, 0), T0)  # a time given: a's slot (07:30) is free again
    [moved] = store.get_post(a).deliveries
    assert (moved.due_at, moved.slot_at) == (at(10, 9, 0), None)
    assert store.reschedule_slotted(a, both(first), T0) == {"masto": at(2, 7, 30)}
    # b, moved to the next slot: its own (12:00) counts as free, 07:30 is a's.
    assert store.reschedule_slotted(b, both(second), T0) == {"masto": at(2, 12, 0)}
    [row] = store.get_post(b).deliveries
    assert (row.status, row.due_at, row.slot_at) == (Status.QUEUED, at(2, 12, 0), at(2, 12, 0))


def test_reschedule_slotted_refuses_what_is_settled(store: Store, make_plan: MakePlan) -> None:
    plan = make_plan("a", targets=[("masto", "mastodon")])
    post_id, _ = store.enqueue_slotted(plan, both(plan), T0)
    [d] = store.get_post(post_id).deliveries
    force_delivery(store, d.id, Status.PUBLISHED)
    with pytest.raises(StateError, match="cannot reschedule"):
        store.reschedule_slotted(post_id, both(plan), T0)


def test_a_slot_is_held_once_by_the_database(store: Store, make_plan: MakePlan) -> None:
    if store.dialect == "memory":
        pytest.skip("the memory store checks it at insert (enqueue_slotted): no index to test")
    plan = make_plan("a", targets=[("masto", "mastodon")])
    a, _ = store.enqueue_slotted(plan, both(plan), T0)
    other = make_plan("b", targets=[("masto", "mastodon")])
    b, _ = store.enqueue_slotted(other, both(other), T0)
    [d] = store.get_post(b).deliveries
    with pytest.raises(ConstraintError):  # uq_delivery_slot
        force_delivery(store, d.id, Status.QUEUED, slot_at=at(2, 7, 30))
    force_delivery(store, store.get_post(a).deliveries[0].id, Status.CANCELLED)
    force_delivery(store, d.id, Status.QUEUED, slot_at=at(2, 7, 30))  # a cancelled one holds none


def test_concurrent_enqueues_never_take_one_slot(
    store: Store, store_factory: Callable[[], Store], make_plan: MakePlan
) -> None:
    n, each = 4, 6
    stores = [store_factory() for _ in range(n)]

    def work(i: int) -> list[int]:
        ids = []
        for j in range(each):
            plan = make_plan(f"w{i}-{j}", targets=[("masto", "mastodon")])
            ids.append(stores[i].enqueue_slotted(plan, both(plan), T0)[0])
        return ids

    in_threads(n, work)
    slots = [d.slot_at for p in store.list_posts() for d in p.deliveries]
    assert len(slots) == n * each
    assert [s for s, k in Counter(slots).items() if k > 1] == []
    assert sorted(slots) == SCHEDULE.between(T0, at(31, 0, 0))[: n * each]  # type: ignore[type-var]


def test_approving_a_draft_into_slots_never_shares_one(
    store: Store, store_factory: Callable[[], Store], make_plan: MakePlan
) -> None:
    # 07:30 taken for masto by an enqueue: the approved draft's masto takes 12:00, x-main 07:30.
    store.enqueue_slotted(
        make_plan("first", targets=[("masto", "mastodon")]), both(make_plan("a")), T0
    )
    draft = make_plan("draft")
    post_id = store.enqueue(replace(draft, draft=replace(draft.draft, hold=True)), T0, T0)
    review = store.approve(post_id, T0, T0, "anna", schedules=both(draft))
    slots = {d.account: (d.status, d.due_at, d.slot_at) for d in store.get_post(post_id).deliveries}
    assert slots == {"masto": (Status.QUEUED, at(2, 12, 0), at(2, 12, 0)),
                     "x-main": (Status.QUEUED, at(2, 7, 30), at(2, 7, 30))}  # fmt: skip
    assert review.detail["due"] == at(2, 7, 30).isoformat()
    # With a changed text: the new text, and the slot after.
    edited = make_plan("edited", targets=[("masto", "mastodon")])
    again = store.enqueue(replace(edited, draft=replace(edited.draft, hold=True)), T0, T0)
    store.approve(again, T0, T0, "anna", make_plan("edited", "Neu: Grüße",
                  targets=[("masto", "mastodon")]), {"masto": SCHEDULE})  # fmt: skip
    [d] = store.get_post(again).deliveries
    assert (d.status, d.slot_at, d.text) == (Status.QUEUED, at(3, 7, 30), "Neu: Grüße")
    # Drafts approved while others enqueue, from other connections: every slot held once.
    drafts = []
    for i in range(4):
        plan = make_plan(f"d{i}", targets=[("masto", "mastodon")])
        drafts.append(store.enqueue(replace(plan, draft=replace(plan.draft, hold=True)), T0, T0))
    stores = [store_factory() for _ in range(2)]
    one = {"masto": SCHEDULE}

    def work(i: int) -> list[int]:
        if i == 0:
            return [stores[0].approve(d, T0, T0, "anna", schedules=one).post_id for d in drafts]
        return [stores[1].enqueue_slotted(make_plan(f"e{j}", targets=[("masto", "mastodon")]),
                                          one, T0)[0] for j in range(4)]  # fmt: skip

    in_threads(2, work)
    held = [d.slot_at for p in store.list_posts() for d in p.deliveries if d.account == "masto"]
    assert len(held) == 11 and None not in held
    assert [s for s, k in Counter(held).items() if k > 1] == []


def test_no_free_slot_is_refused(store: Store, make_plan: MakePlan) -> None:
    tiny = replace(SCHEDULE, slots=parse_slots(["mon 07:30"]))
    # Fill the next 4096 Monday slots directly (plain enqueues at those times).
    times = tiny.between(T0, T0 + timedelta(weeks=4100))[:4096]
    store.enqueue_many(
        [(make_plan(f"f{i}", targets=[("masto", "mastodon")]), t) for i, t in enumerate(times)], T0
    )
    plan = make_plan("late", targets=[("masto", "mastodon")])
    with pytest.raises(StateError, match="slots are all taken"):
        store.enqueue_slotted(plan, {"masto": tiny}, T0)
    assert store.find_post_by_key("late") is None


# -- recurring series ---------------------------------------------------------------------------
def series_plan(make_plan: MakePlan, key: str = "file:posts/evergreen.md") -> Plan:
    plan = make_plan(key, targets=[("masto", "mastodon")], source="posts/evergreen.md")
    return replace(plan, draft=replace(plan.draft, every="mon 09:00"))


def test_each_occurrence_is_queued_once(store: Store, make_plan: MakePlan) -> None:
    plan = series_plan(make_plan)
    head = store.enqueue(plan, at(7, 9, 0), T0)
    [state] = store.active_series()
    assert (state.head.id, state.head.every, state.latest, state.open) == (
        head,
        "mon 09:00",
        head,
        True,
    )
    assert state.last_due == at(7, 9, 0)
    force_delivery(store, store.get_post(head).deliveries[0].id, Status.PUBLISHED)
    [state] = store.active_series()
    assert not state.open and state.accounts == ("masto",)
    second = store.queue_occurrence(head, plan, at(14, 9, 0), T0)
    assert second is not None
    assert store.queue_occurrence(head, plan, at(14, 9, 0), T0) is None  # once
    post = store.get_post(second)
    assert (post.series_id, post.occurrence_at, post.key) == (
        head,
        at(14, 9, 0),
        f"file:posts/evergreen.md@every:{at(14, 9, 0).isoformat()}",
    )
    assert [d.due_at for d in post.deliveries] == [at(14, 9, 0)]
    [state] = store.active_series()
    assert (state.latest, state.open, state.last_due) == (second, True, at(14, 9, 0))
    assert state.occurrence == at(14, 9, 0)


def test_concurrent_workers_queue_an_occurrence_once(
    store: Store, store_factory: Callable[[], Store], make_plan: MakePlan
) -> None:
    plan = series_plan(make_plan)
    head = store.enqueue(plan, at(7, 9, 0), T0)
    stores = [store_factory() for _ in range(4)]
    got = in_threads(4, lambda i: [stores[i].queue_occurrence(head, plan, at(14, 9, 0), T0) or 0])
    assert len([x for [x] in got if x]) == 1
    assert len(store.list_posts()) == 2


def test_stopping_a_series(store: Store, make_plan: MakePlan) -> None:
    plan = series_plan(make_plan)
    head = store.enqueue(plan, at(7, 9, 0), T0)
    force_delivery(store, store.get_post(head).deliveries[0].id, Status.PUBLISHED)
    second = store.queue_occurrence(head, plan, at(14, 9, 0), T0)
    assert store.stop_series(second or 0, T0) == (second,)  # still queued: the caller cancels
    assert store.active_series() == []
    assert store.get_post(head).stopped_at == T0
    assert store.queue_occurrence(head, plan, at(21, 9, 0), T0) is None
    single = store.enqueue(make_plan("single"), at(7, 9, 0), T0)
    assert store.stop_series(single, T0) == ()


def test_the_free_slot_search_looks_slots_up_by_index(store: Store, make_plan: MakePlan) -> None:
    if store.dialect != "sqlite":
        pytest.skip("the query plan is read on SQLite (PostgreSQL's depends on table sizes)")
    from postbot.store.slots import _TAKEN_SQL
    from postbot.store.sql import SQLStore

    assert isinstance(store, SQLStore)
    sql = _TAKEN_SQL.format(p="?", times=", ".join("?" * 16))
    with store.read() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", ("masto", *["x"] * 16)).all()
    detail = " ".join(str(row[-1]) for row in plan)
    assert "ix_delivery_account_due" in detail, detail
    assert "SCAN delivery" not in detail.replace("USING INDEX", ""), detail


def test_next_slot_across_the_change_to_summer_time(store: Store, make_plan: MakePlan) -> None:
    # Friday 26 March 2027, after 07:30: the next mon-fri 07:30 slot is Monday 29 March, the
    # day after the clocks went forward: 07:30 CEST is 05:30 UTC (it was 06:30 UTC on Friday).
    friday = datetime(2027, 3, 26, 7, 0, tzinfo=UTC)
    schedule = replace(SCHEDULE, slots=parse_slots(["mon-fri 07:30"]))
    first = make_plan("fri", targets=[("masto", "mastodon")])
    _, slots = store.enqueue_slotted(first, {"masto": schedule}, friday - timedelta(hours=2))
    assert slots == {"masto": datetime(2027, 3, 26, 6, 30, tzinfo=UTC)}
    plan = make_plan("mon", targets=[("masto", "mastodon")])
    _, slots = store.enqueue_slotted(plan, {"masto": schedule}, friday)
    assert slots == {"masto": datetime(2027, 3, 29, 5, 30, tzinfo=UTC)}


def test_a_changed_file_with_a_time_frees_its_slot(store: Store, make_plan: MakePlan) -> None:
    plan = make_plan("file:posts/a.md", targets=[("masto", "mastodon")])
    post_id, _ = store.enqueue_slotted(plan, both(plan), T0)
    changed = make_plan("file:posts/a.md", "Neuer Text", targets=[("masto", "mastodon")])
    [result] = store.import_plans([(changed, at(10, 9, 0))], T0)
    assert result.action == "updated"
    [d] = store.get_post(post_id).deliveries
    assert (d.due_at, d.slot_at) == (at(10, 9, 0), None)
    other = make_plan("b", targets=[("masto", "mastodon")])
    assert store.enqueue_slotted(other, both(other), T0)[1] == {"masto": at(2, 7, 30)}
    kept = make_plan("file:posts/a.md", "Noch einmal", targets=[("masto", "mastodon")])
    store.import_plans([(kept, None)], T0)  # no time given: it stays where it is
    [d] = store.get_post(post_id).deliveries
    assert d.due_at == at(10, 9, 0)
