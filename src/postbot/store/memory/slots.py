"""The memory store's posting slots and recurring series, by the SQL stores' rules: a slot is
held by one delivery of an account that is not cancelled; one post per series and occurrence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from postbot.domain import Delivery, Status
from postbot.errors import NotFound
from postbot.recurring import CANCELLABLE, OPEN, SeriesState
from postbot.slots import Schedule, first_free
from postbot.store import rules
from postbot.store.base import ConstraintError
from postbot.store.memory.db import Database, as_utc, post_record
from postbot.store.memory.threads import MemoryThreadOps

if TYPE_CHECKING:
    from postbot.drafts import Plan


def _taken(db: Database, account: str, skip: Sequence[int], times: list[datetime]) -> set[datetime]:
    wanted = {t.astimezone(UTC) for t in times}
    return {
        d.due_at for d in db.deliveries.values()
        if d.account == account and d.due_at in wanted and d.status != Status.CANCELLED
        and d.id not in skip
    }  # fmt: skip


def _holds(db: Database, account: str, slot: datetime, skip: Sequence[int]) -> bool:
    """Another delivery holds this slot (the partial unique index of the SQL stores)."""
    return any(
        d.slot_at == slot and d.account == account and d.status != Status.CANCELLED
        and d.id not in skip
        for d in db.deliveries.values()
    )  # fmt: skip


class MemorySlotOps(MemoryThreadOps):
    def enqueue_slotted(
        self, plan: Plan, schedules: Mapping[str, Schedule], now: datetime
    ) -> tuple[int, dict[str, datetime]]:
        with self._write(undo=True) as db:
            post_id = self._insert_post(db, plan, now)  # type: ignore[attr-defined]
            slots: dict[str, datetime] = {}
            for row in rules.new_deliveries(post_id, plan.targets, now, now):
                account = row["account"]
                slot = first_free(schedules[account], now, partial(_taken, db, account, ()))
                if _holds(db, account, slot, ()):
                    raise ConstraintError("database refused the change: uq_delivery_slot")
                rules.take_slot(row, slot)
                delivery_id = db.new_id("delivery")
                db.deliveries[delivery_id] = Delivery(
                    id=delivery_id, lease_owner=None, lease_expires_at=None, remote_id=None,
                    remote_url=None, last_error=None, **as_utc(row),
                )  # fmt: skip
                slots[account] = slot.astimezone(UTC)
            self._insert_parts(db, post_id, plan.targets)
            return post_id, slots

    def reschedule_slotted(
        self, post_id: int, schedules: Mapping[str, Schedule], now: datetime
    ) -> dict[str, datetime]:
        with self._write() as db:
            rows = db.of_post(post_id)
            if not rows:
                raise NotFound(f"no post with id {post_id}")
            change = rules.reschedule(now, now)
            movable = [d for d in rows if d.status in change.allowed]
            if not movable:
                raise change.refused(post_id, (d.status for d in rows))
            skip = [d.id for d in movable]
            slots: dict[str, datetime] = {}
            for d in movable:
                slot = first_free(schedules[d.account], now, partial(_taken, db, d.account, skip))
                self._set(db, d.id, {**rules.reschedule(slot, now).values, "slot_at": slot})
                slots[d.account] = slot.astimezone(UTC)
            return slots

    def queue_occurrence(
        self, series_id: int, plan: Plan, due: datetime, now: datetime
    ) -> int | None:
        due = due.astimezone(UTC)
        with self._write(undo=True) as db:
            head = db.posts.get(series_id)
            if head is None or head.stopped_at is not None:
                return None
            if any(p.series_id == series_id and p.occurrence_at == due for p in db.posts.values()):
                return None
            row = as_utc(rules.occurrence_post(plan, series_id, due, now))
            if row["key"] in db.keys:
                return None
            post_id = db.new_id("post")
            db.posts[post_id] = post_record(post_id, row)
            db.keys[row["key"]] = post_id
            self._insert_deliveries(db, post_id, plan.targets, due, now)  # type: ignore[attr-defined]
            return post_id

    def active_series(self) -> list[SeriesState]:
        with self._read() as db:
            states = []
            for head in sorted(db.posts.values(), key=lambda p: p.id):
                if head.every is None or head.stopped_at is not None:
                    continue
                later = [p for p in db.posts.values() if p.series_id == head.id]
                latest = max(later, key=lambda p: p.occurrence_at or now_min(), default=head)
                deliveries = db.of_post(latest.id)
                states.append(SeriesState(
                    head, latest.id, max((d.due_at for d in deliveries), default=head.created_at),
                    any(d.status in OPEN for d in deliveries),
                    tuple(d.account for d in deliveries if d.status != Status.CANCELLED),
                    latest.occurrence_at,
                ))  # fmt: skip
            return states

    def stop_series(self, post_id: int, now: datetime) -> tuple[int, ...]:
        from dataclasses import replace

        with self._write() as db:
            post = db.posts.get(post_id)
            if post is None:
                raise NotFound(f"no post with id {post_id}")
            head = post.series_id or (post.id if post.every else None)
            if head is None:
                return ()
            if db.posts[head].stopped_at is None:
                db.posts[head] = replace(db.posts[head], stopped_at=now.astimezone(UTC))
            members = {i for i, p in db.posts.items() if i == head or p.series_id == head}
            return tuple(sorted({d.post_id for d in db.deliveries.values()
                                 if d.post_id in members and d.status in CANCELLABLE}))  # fmt: skip


def now_min() -> datetime:
    return datetime.min.replace(tzinfo=UTC)
