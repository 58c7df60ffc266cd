"""The memory store's guards: earlier deliveries of the same text, an account's billed texts of
a month, a claim within a monthly budget; by the same rules as the SQL stores' (guards.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from postbot.costs import (
    BILLED,
    IN_FLIGHT,
    Budget,
    BudgetClaim,
    SpendTexts,
    budget_state,
    cost_of,
    fits,
    month_bounds,
)
from postbot.domain import Delivery, Status
from postbot.duplicates import Earlier
from postbot.pacing import pace_after, pace_room
from postbot.store.memory.db import Database
from postbot.store.memory.queue import MemoryQueueOps

if TYPE_CHECKING:
    from postbot.pacing import Pace


def _single(d: Delivery) -> bool:
    return d.part_count is None or d.part_count <= 1


class MemoryGuardOps(MemoryQueueOps):
    def same_text(self, wanted: Sequence[tuple[str, str]]) -> list[Earlier]:
        pairs = set(wanted)
        with self._read() as db:
            return [
                Earlier(d.post_id, db.posts[d.post_id].key, d.account, d.status, d.created_at,
                        d.updated_at, d.text_hash, d.dry_run)
                for d in db.deliveries.values()
                if (d.account, d.text_hash) in pairs
            ]  # fmt: skip

    def month_texts(
        self, account: str, start: datetime, end: datetime, *, dry_run: bool = False
    ) -> SpendTexts:
        with self._read() as db:
            return self._month_texts(db, account, start, end, dry_run)

    def _month_texts(
        self, db: Database, account: str, start: datetime, end: datetime, dry_run: bool
    ) -> SpendTexts:
        mine = [d for d in db.deliveries.values() if d.account == account]
        singles = [
            d for d in mine
            if d.dry_run == dry_run and _single(d) and d.status in BILLED
            and start <= d.updated_at < end
        ]  # fmt: skip
        parts = [
            p.text for d in mine for p in db.parts.get(d.id, ())
            if p.dry_run == dry_run and p.published_at is not None
            and start <= p.published_at < end
        ]  # fmt: skip
        pending = [
            p.text for d in mine
            if d.dry_run == dry_run and d.status in IN_FLIGHT and (d.part_count or 1) > 1
            for p in db.parts.get(d.id, ()) if p.remote_id is None
        ]  # fmt: skip
        return SpendTexts(
            tuple(d.text for d in singles if d.status == Status.PUBLISHED) + tuple(parts),
            tuple(d.text for d in singles if d.status != Status.PUBLISHED) + tuple(pending),
        )

    def claim_budgeted(
        self,
        worker: str,
        now: datetime,
        account: str,
        budget: Budget,
        limit: int,
        lease: timedelta,
        *,
        pace: Pace | None = None,
        dry_run: bool = False,
    ) -> BudgetClaim:
        now = now.astimezone(UTC)
        start, end = month_bounds(now, budget.zone)
        with self._write() as db:
            starts: list[datetime] = []
            take = limit
            if pace is not None:
                starts = self._starts(db, account, pace, now, dry_run)
                take = pace_room(account, pace, starts, now, limit)
            spent = self._month_texts(db, account, start, end, dry_run).committed(budget.prices)
            costs = self._due_costs(db, account, now, budget, max(take, 1))
            fit = fits(spent, costs, budget.amount)
            n = min(take, fit)
            claimed = self._claim_due(db, worker, now, n, lease, [account], (), dry_run)
            spent += sum(costs[:n], Decimal(0))
            due = partial(self._due, db, account, now)
            state = budget_state(account, budget, spent, end, costs, fit, due)
            paced = (
                pace_after(account, pace, starts, len(claimed), now, due)
                if pace is not None
                else None
            )
        return BudgetClaim(tuple(claimed), state, paced)

    def _due_costs(
        self, db: Database, account: str, now: datetime, budget: Budget, limit: int
    ) -> list[Decimal]:
        rows = sorted(
            (d for d in db.deliveries.values() if d.status == Status.QUEUED
             and d.account == account and d.next_attempt_at <= now),
            key=lambda d: (d.next_attempt_at, d.id),
        )[:limit]  # fmt: skip
        costs = []
        for d in rows:
            if d.part_count is not None and d.part_count > 1:
                texts = [p.text for p in db.parts.get(d.id, ()) if p.remote_id is None]
            else:
                texts = [d.text]
            costs.append(cost_of(texts, budget.prices))
        return costs
