"""The memory store's handovers to a server's own scheduling, by `rules.py`'s rules (as
store/serverside.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from postbot.domain import Claimed, Delivery, Handover, Outcome, Result, Status
from postbot.store import rules
from postbot.store.memory.queue import MemoryQueueOps


class MemoryServerSideOps(MemoryQueueOps):
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
        def wanted(d: Delivery) -> bool:
            return (
                d.status == Status.QUEUED
                and d.account == account
                and d.attempts == 0
                and not d.handover_refused
                and (d.part_count or 1) <= 1
                and after < d.next_attempt_at <= until
            )

        with self._write() as db:
            return self._take(db, wanted, limit, worker, now, lease, dry_run, new_attempt=False)

    def record_handover(self, worker: str, handover: Handover) -> bool:
        with self._write() as db:
            d = db.deliveries[handover.delivery_id]
            if handover.sent:
                outcome = (
                    Outcome.SCHEDULED
                    if handover.scheduled_id is not None
                    else Outcome.PERMANENT
                    if handover.refused
                    else Outcome.TRANSIENT
                )
                detail = {**handover.detail}
                if handover.scheduled_id is not None:
                    detail["scheduled_id"] = handover.scheduled_id
                self._log_attempt(
                    db,
                    d,
                    worker,
                    Result(
                        d.id,
                        outcome,
                        handover.started_at,
                        handover.finished_at,
                        d.status,
                        error_class=handover.error_class,
                        error_message=handover.error_message,
                        http_status=handover.http_status,
                        dry_run=handover.dry_run,
                        detail=detail,
                    ),
                )
            if d.status != Status.PUBLISHING or d.lease_owner != worker:
                return False
            values: dict[str, Any] = rules.handed_over(handover)
            if handover.scheduled_id is not None:
                values["attempts"] = d.attempts + 1
            self._set(db, d.id, values)
            return True

    def scheduled_of(self, account: str) -> list[Delivery]:
        with self._read() as db:
            found = [
                d
                for d in db.deliveries.values()
                if d.status == Status.SCHEDULED and d.account == account
            ]
            return sorted(found, key=lambda d: (d.due_at, d.id))

    def change_scheduled(
        self, delivery_id: int, scheduled_id: str, values: Mapping[str, Any]
    ) -> bool:
        with self._write() as db:
            d = db.deliveries.get(delivery_id)
            if d is None or d.status != Status.SCHEDULED or d.scheduled_id != scheduled_id:
                return False
            self._set(db, delivery_id, values)
            return True
