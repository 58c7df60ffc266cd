"""Posting slots and recurring series in SQL.

A slot is taken in the transaction that stores the delivery: the free-slot search looks up a
batch of candidate instants by key in `ix_delivery_account_due` (never scanning the queue),
and `uq_delivery_slot` refuses a slot another transaction took meanwhile (PostgreSQL, where
writers do not queue up: the search then runs again; SQLite's BEGIN IMMEDIATE lets one writer
in at a time). A series' occurrence is one post per (series, occurrence): `uq_post_occurrence`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from postbot.domain import Status
from postbot.errors import NotFound
from postbot.recurring import CANCELLABLE, OPEN, SeriesState
from postbot.slots import Schedule, first_free
from postbot.store import rules
from postbot.store.base import ConstraintError
from postbot.store.posts import DELIVERY, POST, post_record

if TYPE_CHECKING:
    from postbot.drafts import Plan

# The search's lookup, by key in ix_delivery_account_due: said to the driver directly, with
# the instants in the column's own stored form, because a statement per batch through the
# expression layer costs more than the lookups themselves (benchmark item 14).
_TAKEN_SQL = (
    "SELECT due_at FROM delivery WHERE account = {p} AND due_at IN ({times})"
    " AND status <> 'cancelled'"
)


def _taken_lookup(
    conn: Connection, account: str, skip: Sequence[int], times: list[datetime]
) -> list[datetime]:
    """Which of `times` a delivery of `account` (not cancelled, not one of `skip`) is due at."""
    dialect = conn.dialect
    process = DELIVERY.c.due_at.type.dialect_impl(dialect).bind_processor(dialect)
    stored = {(process(t) if process else t): t for t in times}
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = _TAKEN_SQL.format(p=mark, times=", ".join([mark] * len(stored)))
    if skip:
        sql += f" AND id NOT IN ({', '.join([mark] * len(skip))})"
    rows = conn.exec_driver_sql(sql, (account, *stored, *skip)).fetchall()
    found = []
    for (value,) in rows:
        if value in stored:
            found.append(stored[value])
        elif isinstance(value, datetime):  # a driver that hands back datetimes (psycopg)
            found.append(value.astimezone(UTC))
    return found


class SlotOps:
    """Mixed into SQLStore (after PostOps, whose inserts it uses)."""

    def write(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def _taken(
        self, conn: Connection, account: str, skip: Sequence[int], times: list[datetime]
    ) -> list[datetime]:
        return _taken_lookup(conn, account, skip, times)

    def enqueue_slotted(
        self, plan: Plan, schedules: Mapping[str, Schedule], now: datetime
    ) -> tuple[int, dict[str, datetime]]:
        for attempt in range(rules.SLOT_RETRIES):
            try:
                with self.write() as conn:
                    post_id = self._insert_post(conn, plan, now)  # type: ignore[attr-defined]
                    rows = rules.new_deliveries(post_id, plan.targets, now, now)
                    slots = {}
                    for row in rows:
                        account = row["account"]
                        taken = partial(self._taken, conn, account, ())
                        slots[account] = first_free(schedules[account], now, taken)
                        rules.take_slot(row, slots[account])
                    conn.execute(insert(DELIVERY), rows)
                    self._insert_parts(conn, [(post_id, plan.targets)])  # type: ignore[attr-defined]
                    self.notify_enqueued(conn)  # type: ignore[attr-defined]
                    return post_id, slots
            except ConstraintError as exc:
                if not rules.slot_clash(exc) or attempt == rules.SLOT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def reschedule_slotted(
        self, post_id: int, schedules: Mapping[str, Schedule], now: datetime
    ) -> dict[str, datetime]:
        for attempt in range(rules.SLOT_RETRIES):
            try:
                with self.write() as conn:
                    return self._reschedule_slotted(conn, post_id, schedules, now)
            except ConstraintError as exc:
                if not rules.slot_clash(exc) or attempt == rules.SLOT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _reschedule_slotted(
        self, conn: Connection, post_id: int, schedules: Mapping[str, Schedule], now: datetime
    ) -> dict[str, datetime]:
        rows = conn.execute(
            select(DELIVERY.c.id, DELIVERY.c.account, DELIVERY.c.status)
            .where(DELIVERY.c.post_id == post_id)
            .order_by(DELIVERY.c.id)
        ).all()
        if not rows:
            raise NotFound(f"no post with id {post_id}")
        change = rules.reschedule(now, now)
        movable = [r for r in rows if r.status in change.allowed]
        if not movable:
            raise change.refused(post_id, (r.status for r in rows))
        skip = [r.id for r in movable]  # the slots they hold are theirs to leave
        slots = {}
        for r in movable:
            taken = partial(self._taken, conn, r.account, skip)
            slot = first_free(schedules[r.account], now, taken)
            values = {**rules.reschedule(slot, now).values, "slot_at": slot}
            conn.execute(update(DELIVERY).where(DELIVERY.c.id == r.id).values(values))
            slots[r.account] = slot
        self.notify_enqueued(conn)  # type: ignore[attr-defined]
        return slots

    # -- recurring series ------------------------------------------------------------------
    def queue_occurrence(
        self, series_id: int, plan: Plan, due: datetime, now: datetime
    ) -> int | None:
        try:
            with self.write() as conn:
                head = conn.execute(
                    select(POST.c.series_stopped_at).where(POST.c.id == series_id)
                ).first()
                if head is None or head.series_stopped_at is not None:
                    return None
                there = conn.execute(
                    select(POST.c.id).where(
                        POST.c.series_id == series_id, POST.c.occurrence_at == due
                    )
                ).first()
                if there is not None:
                    return None
                row = rules.occurrence_post(plan, series_id, due, now)
                post_id: int = conn.execute(insert(POST).returning(POST.c.id), row).scalar_one()
                conn.execute(
                    insert(DELIVERY), rules.new_deliveries(post_id, plan.targets, due, now)
                )
                self._insert_parts(conn, [(post_id, plan.targets)])  # type: ignore[attr-defined]
                self.notify_enqueued(conn)  # type: ignore[attr-defined]
                return post_id
        except ConstraintError:  # another worker queued this occurrence first
            return None

    def active_series(self) -> list[SeriesState]:
        with self.read() as conn:
            # `every > ''` (a rule is never empty) reads the every index; SQLite answers
            # `every IS NOT NULL` by reading every post: a million of them every few seconds.
            heads = conn.execute(
                select(POST).where(POST.c.every > "", POST.c.series_stopped_at.is_(None))
            ).mappings().all()  # fmt: skip
            states = []
            for head in heads:
                last = conn.execute(
                    select(POST.c.id, POST.c.occurrence_at).where(POST.c.series_id == head["id"])
                    .order_by(POST.c.occurrence_at.desc()).limit(1)
                ).first()  # fmt: skip
                latest = last.id if last is not None else head["id"]
                deliveries = conn.execute(
                    select(DELIVERY.c.status, DELIVERY.c.due_at, DELIVERY.c.account).where(
                        DELIVERY.c.post_id == latest
                    )
                ).all()
                states.append(SeriesState(
                    post_record(head), latest,
                    max((d.due_at for d in deliveries), default=head["created_at"]),
                    any(d.status in OPEN for d in deliveries),
                    tuple(d.account for d in deliveries if d.status != Status.CANCELLED),
                    last.occurrence_at if last is not None else None,
                ))  # fmt: skip
            return states

    def stop_series(self, post_id: int, now: datetime) -> tuple[int, ...]:
        with self.write() as conn:
            row = conn.execute(
                select(POST.c.id, POST.c.every, POST.c.series_id).where(POST.c.id == post_id)
            ).first()
            if row is None:
                raise NotFound(f"no post with id {post_id}")
            head = row.series_id or (row.id if row.every else None)
            if head is None:
                return ()
            conn.execute(
                update(POST)
                .where(POST.c.id == head, POST.c.series_stopped_at.is_(None))
                .values(series_stopped_at=now)
            )
            members = select(POST.c.id).where((POST.c.id == head) | (POST.c.series_id == head))
            open_posts = conn.execute(
                select(func.distinct(DELIVERY.c.post_id)).where(
                    DELIVERY.c.post_id.in_(members), DELIVERY.c.status.in_(CANCELLABLE)
                )
            ).scalars()
            return tuple(sorted(open_posts))
