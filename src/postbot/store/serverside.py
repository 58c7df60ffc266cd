"""Handing deliveries to a server's own scheduling, in SQL: the handover claim, its record, the
deliveries the server holds and the guarded changes to them (`Store` contract, base.py)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection

from postbot.domain import Claimed, Delivery, Handover, Outcome, Status
from postbot.store import rules
from postbot.store.posts import ATTEMPT, DELIVERY, delivery_record
from postbot.store.queue import QueueOps


class ServerSideOps(QueueOps):
    """Mixed into SQLStore before QueueOps; relies on its transactions and dialect hooks."""

    def write(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def claim_lock_clause(self) -> str:  # provided by SQLStore
        raise NotImplementedError

    def notify_enqueued(self, conn: Connection) -> None:  # provided by SQLStore
        raise NotImplementedError

    def claim_handover(
        self,
        worker: str,
        now: datetime,
        account: str,
        after: datetime,
        until: datetime,
        limit: int,
        lease: timedelta,
        *,
        dry_run: bool = False,
    ) -> list[Claimed]:
        wanted = (
            select(DELIVERY.c.id)
            .where(
                DELIVERY.c.status == Status.QUEUED,
                DELIVERY.c.account == account,
                DELIVERY.c.attempts == 0,
                DELIVERY.c.handover_refused.is_(False),
                or_(DELIVERY.c.part_count.is_(None), DELIVERY.c.part_count <= 1),
                DELIVERY.c.next_attempt_at > after,
                DELIVERY.c.next_attempt_at <= until,
            )
            .order_by(DELIVERY.c.next_attempt_at, DELIVERY.c.id)
            .limit(limit)
        )
        if self.claim_lock_clause():
            wanted = wanted.with_for_update(skip_locked=True)
        with self.write() as conn:
            ids = list(conn.execute(wanted).scalars())
            if not ids:
                return []
            rows = conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id.in_(ids), DELIVERY.c.status == Status.QUEUED)
                .values(
                    status=Status.PUBLISHING,
                    lease_owner=worker,
                    lease_expires_at=now + lease,
                    dry_run=dry_run,
                    updated_at=now,
                )
                .returning(
                    DELIVERY.c.id,
                    DELIVERY.c.post_id,
                    DELIVERY.c.account,
                    DELIVERY.c.platform,
                    DELIVERY.c.key,
                    DELIVERY.c.text,
                    DELIVERY.c.due_at,
                    DELIVERY.c.attempts,
                    DELIVERY.c.created_at,
                    DELIVERY.c.dry_run,
                    DELIVERY.c.part_count,
                )
            ).all()
            return self._claimed(conn, rows)

    def record_handover(self, worker: str, handover: Handover) -> bool:
        with self.write() as conn:
            if handover.sent:
                conn.execute(insert(ATTEMPT), handover_attempt(worker, handover))
            values: dict[str, Any] = rules.handed_over(handover)
            if handover.scheduled_id is not None:
                values["attempts"] = DELIVERY.c.attempts + 1
            return bool(
                conn.execute(
                    update(DELIVERY)
                    .where(
                        DELIVERY.c.id == handover.delivery_id,
                        DELIVERY.c.status == Status.PUBLISHING,
                        DELIVERY.c.lease_owner == worker,
                    )
                    .values(values)
                ).rowcount
            )

    def scheduled_of(self, account: str) -> list[Delivery]:
        with self.read() as conn:
            rows = conn.execute(
                select(DELIVERY)
                .where(DELIVERY.c.status == Status.SCHEDULED, DELIVERY.c.account == account)
                .order_by(DELIVERY.c.due_at, DELIVERY.c.id)
            ).mappings()
            return [delivery_record(r) for r in rows]

    def change_scheduled(
        self, delivery_id: int, scheduled_id: str, values: Mapping[str, Any]
    ) -> bool:
        with self.write() as conn:
            changed = conn.execute(
                update(DELIVERY)
                .where(
                    DELIVERY.c.id == delivery_id,
                    DELIVERY.c.status == Status.SCHEDULED,
                    DELIVERY.c.scheduled_id == scheduled_id,
                )
                .values(dict(values))
            ).rowcount
            if changed and values.get("status") == Status.QUEUED:
                self.notify_enqueued(conn)
            return bool(changed)


def handover_attempt(worker: str, h: Handover) -> dict[str, Any]:
    """The attempt row of a handover: `scheduled` when the server took it."""
    if h.scheduled_id is not None:
        outcome = Outcome.SCHEDULED
    else:
        outcome = Outcome.PERMANENT if h.refused else Outcome.TRANSIENT
    return {
        "delivery_id": h.delivery_id,
        "worker": worker,
        "started_at": h.started_at,
        "finished_at": h.finished_at,
        "outcome": outcome,
        "error_class": h.error_class,
        "error_message": h.error_message,
        "http_status": h.http_status,
        "remote_id": None,
        "remote_url": None,
        "dry_run": h.dry_run,
        "detail": {**h.detail, **({"scheduled_id": h.scheduled_id} if h.scheduled_id else {})},
    }
