"""The guards' reads and claims in SQL: earlier deliveries of the same text (duplicate guard),
an account's billed texts of a month, and a claim within a monthly budget (X cost guard).

The budget claim runs as a paced claim does (queue.py): in one transaction, under the
account's lock (PostgreSQL: an advisory lock; SQLite: writers queue up anyway), it reads the
month's spend and what is in flight, decides with `costs.fits` how many due deliveries fit,
and claims exactly those. So any number of workers together stay within the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, cast

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.engine import Connection

from postbot.costs import (
    IN_FLIGHT,
    Budget,
    BudgetClaim,
    SpendTexts,
    budget_state,
    cost_of,
    fits,
    month_bounds,
)
from postbot.domain import Status
from postbot.duplicates import Earlier
from postbot.pacing import pace_after, pace_room
from postbot.store.posts import DELIVERY, POST
from postbot.store.queue import QueueOps
from postbot.store.threads import PART

if TYPE_CHECKING:
    from postbot.pacing import Pace

_SINGLE = or_(DELIVERY.c.part_count.is_(None), DELIVERY.c.part_count <= 1)
_SAME_TEXT = (
    select(DELIVERY.c.post_id, POST.c.key, DELIVERY.c.account, DELIVERY.c.status,
           DELIVERY.c.created_at, DELIVERY.c.updated_at, DELIVERY.c.text_hash,
           DELIVERY.c.dry_run)
    .join(POST, POST.c.id == DELIVERY.c.post_id)
    .where(DELIVERY.c.account == bindparam("account"),
           DELIVERY.c.text_hash.in_(bindparam("digests", expanding=True)))
)  # fmt: skip
# An account's billed texts of a month (`month_texts`), each statement built once.
_MINE = and_(DELIVERY.c.account == bindparam("account"), DELIVERY.c.dry_run == bindparam("dry_run"))
_IN_MONTH = and_(
    DELIVERY.c.updated_at >= bindparam("start", type_=DELIVERY.c.updated_at.type),
    DELIVERY.c.updated_at < bindparam("end", type_=DELIVERY.c.updated_at.type),
)
_SINGLES_PUBLISHED = select(DELIVERY.c.text).where(
    _MINE, _SINGLE, DELIVERY.c.status == Status.PUBLISHED, _IN_MONTH
)
_SINGLES_IN_FLIGHT = select(DELIVERY.c.text).where(
    _MINE, _SINGLE, DELIVERY.c.status.in_(IN_FLIGHT), _IN_MONTH
)
_PARTS_PUBLISHED = (
    select(PART.c.text)
    .join(DELIVERY, DELIVERY.c.id == PART.c.delivery_id)
    .where(
        DELIVERY.c.account == bindparam("account"), PART.c.dry_run == bindparam("dry_run"),
        PART.c.published_at >= bindparam("start", type_=PART.c.published_at.type),
        PART.c.published_at < bindparam("end", type_=PART.c.published_at.type),
    )
)  # fmt: skip
_PARTS_IN_FLIGHT = (
    select(PART.c.text)
    .join(DELIVERY, DELIVERY.c.id == PART.c.delivery_id)
    .where(_MINE, DELIVERY.c.status.in_(IN_FLIGHT), DELIVERY.c.part_count > 1,
           PART.c.remote_id.is_(None))
)  # fmt: skip
_CHOSEN = "status = :queued AND next_attempt_at <= :now AND id IN :ids"


class GuardOps(QueueOps):
    """Mixed into SQLStore."""

    def same_text(self, wanted: Sequence[tuple[str, str]]) -> list[Earlier]:
        by_account: dict[str, list[str]] = {}
        for account, digest in dict.fromkeys(wanted):
            by_account.setdefault(account, []).append(digest)
        found: list[Earlier] = []
        with self.read() as conn:
            # One account at a time: `account = ? AND text_hash IN (...)` seeks the index on
            # (account, text_hash); a row-value IN over both columns would scan it instead.
            for account, digests in by_account.items():
                rows = conn.execute(_SAME_TEXT, {"account": account, "digests": digests})
                found += [
                    Earlier(r.post_id, r.key, r.account, Status(r.status), r.created_at,
                            r.updated_at, r.text_hash, bool(r.dry_run))
                    for r in rows
                ]  # fmt: skip
        return found

    def month_texts(
        self, account: str, start: datetime, end: datetime, *, dry_run: bool = False
    ) -> SpendTexts:
        with self.read() as conn:
            return self._month_texts(conn, account, start, end, dry_run)

    def _month_texts(
        self, conn: Connection, account: str, start: datetime, end: datetime, dry_run: bool
    ) -> SpendTexts:
        mine = {"account": account, "dry_run": dry_run}
        month = {**mine, "start": start, "end": end}
        texts = [
            tuple(conn.execute(statement, params).scalars())
            for statement, params in (
                (_SINGLES_PUBLISHED, month), (_PARTS_PUBLISHED, month),
                (_SINGLES_IN_FLIGHT, month), (_PARTS_IN_FLIGHT, mine),
            )
        ]  # fmt: skip
        return SpendTexts(texts[0] + texts[1], texts[2] + texts[3])

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
        start, end = month_bounds(now, budget.zone)
        with self.write() as conn:
            self.lock_pace(conn, account, dry_run)
            starts: list[datetime] = []
            take = limit
            if pace is not None:
                starts = self._starts(conn, account, pace, now, dry_run)
                take = pace_room(account, pace, starts, now, limit)
            spent = self._month_texts(conn, account, start, end, dry_run).committed(budget.prices)
            ids, costs = self._due_costs(conn, account, now, budget, max(take, 1))
            fit = fits(spent, costs, budget.amount)
            n = min(take, fit)
            # Exactly the deliveries whose cost was counted (none other may slip in between);
            # `_claim` binds them as an expanding parameter (typed for account names there).
            claimed = (
                self._claim(conn, worker, now, n, lease, _CHOSEN, "attempts + 1", ":dry_run",
                            dry_run, {"ids": cast(list[str], ids[:n])})
                if n else []
            )  # fmt: skip
            spent += sum(costs[:n], Decimal(0))
            due = partial(self._due, conn, account, now)
            state = budget_state(account, budget, spent, end, costs, fit, due)
            paced = (
                pace_after(account, pace, starts, len(claimed), now, due)
                if pace is not None
                else None
            )
        return BudgetClaim(tuple(claimed), state, paced)

    def _due_costs(
        self, conn: Connection, account: str, now: datetime, budget: Budget, limit: int
    ) -> tuple[list[int], list[Decimal]]:
        """The first `limit` due deliveries of `account` in claim order, and what each costs
        (a thread: only its parts not yet published)."""
        rows = conn.execute(
            select(DELIVERY.c.id, DELIVERY.c.text, DELIVERY.c.part_count)
            .where(DELIVERY.c.status == Status.QUEUED, DELIVERY.c.account == account,
                   DELIVERY.c.next_attempt_at <= now)
            .order_by(DELIVERY.c.next_attempt_at, DELIVERY.c.id)
            .limit(limit)
        ).all()  # fmt: skip
        threads = [r.id for r in rows if r.part_count is not None and r.part_count > 1]
        left: dict[int, list[str]] = {i: [] for i in threads}
        if threads:
            for delivery_id, text in conn.execute(
                select(PART.c.delivery_id, PART.c.text).where(
                    PART.c.delivery_id.in_(threads), PART.c.remote_id.is_(None)
                )
            ):
                left[delivery_id].append(text)
        return [r.id for r in rows], [
            cost_of(left.get(r.id, [r.text]), budget.prices) for r in rows
        ]
