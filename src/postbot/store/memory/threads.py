"""The memory store's threads: a delivery's parts (`Database.parts`), by the rules the SQL
stores keep (store/threads.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from postbot.domain import Delivery, Outcome, Part, Result, Status
from postbot.errors import NotFound, StateError
from postbot.store import rules
from postbot.store.memory.db import Database, MemoryBase

if TYPE_CHECKING:
    from postbot.drafts import Target


class MemoryThreadOps(MemoryBase):
    def _insert_parts(self, db: Database, post_id: int, targets: Sequence[Target]) -> None:
        threads = {t.account: t.texts for t in targets if len(t.texts) > 1}
        for d in db.of_post(post_id):
            if d.account in threads:
                db.parts[d.id] = tuple(
                    Part(i, text) for i, text in enumerate(threads[d.account], 1)
                )

    def _replace_parts(self, db: Database, post_id: int, targets: Sequence[Target]) -> None:
        for d in db.of_post(post_id):
            db.parts.pop(d.id, None)
        self._insert_parts(db, post_id, targets)

    def _with_parts(self, db: Database, deliveries: Sequence[Delivery]) -> list[Delivery]:
        return [replace(d, parts=db.parts[d.id]) if d.id in db.parts else d for d in deliveries]

    def _published_parts(self, db: Database, post_id: int) -> int:
        return sum(
            1
            for d in db.of_post(post_id)
            for p in db.parts.get(d.id, ())
            if p.published and not p.dry_run
        )

    def _forget_dry_parts(self, db: Database, delivery_ids: Sequence[int]) -> None:
        for i in delivery_ids:
            if i in db.parts:
                db.parts[i] = tuple(Part(p.index, p.text) if p.dry_run else p for p in db.parts[i])

    def _store_part(self, db: Database, delivery_id: int, part: Part) -> None:
        if part.published_at is not None:
            part = replace(part, published_at=part.published_at.astimezone(UTC))
        kept = [p for p in db.parts.get(delivery_id, ()) if p.index != part.index]
        db.parts[delivery_id] = tuple(sorted([*kept, part], key=lambda p: p.index))

    def record_part(
        self,
        worker: str,
        delivery_id: int,
        part: Part,
        started: datetime,
        detail: Mapping[str, Any],
        http_status: int | None = None,
    ) -> bool:
        with self._write() as db:
            d = db.deliveries.get(delivery_id)
            if d is None:
                raise NotFound(f"no delivery with id {delivery_id}")
            self._log_attempt(
                db, d, worker, _attempt(delivery_id, part, started, detail, http_status)
            )
            if d.status != Status.PUBLISHING or d.lease_owner != worker:
                return False
            values: dict[str, Any] = {"updated_at": part.published_at or started}
            if part.index == 1:
                values.update(remote_id=part.remote_id, remote_url=part.remote_url)
            self._set(db, delivery_id, values)
            self._store_part(db, delivery_id, part)
            return True

    def resolve_part(self, delivery_id: int, part: Part, now: datetime, remaining: int) -> Status:
        with self._write() as db:
            d = db.deliveries.get(delivery_id)
            if d is None:
                raise NotFound(f"no delivery with id {delivery_id}")
            if d.status != Status.UNKNOWN:
                raise StateError(f"delivery {delivery_id} is {d.status}, not unknown")
            status = rules.part_resolved_status(remaining)
            d = self._set(db, delivery_id, rules.part_resolved(part, status, now))
            self._store_part(db, delivery_id, part)
            self._log_attempt(
                db, d, rules.RESOLVER, _attempt(delivery_id, part, now, rules.RESOLVED_DETAIL)
            )
            return status


def _attempt(
    delivery_id: int,
    part: Part,
    started: datetime,
    detail: Mapping[str, Any],
    http_status: int | None = None,
) -> Result:
    finished = part.published_at or started
    return Result(
        delivery_id,
        Outcome.PUBLISHED,
        started,
        finished,
        Status.PUBLISHING,
        remote_id=part.remote_id,
        remote_url=part.remote_url,
        http_status=http_status,
        dry_run=part.dry_run,
        detail=detail,
    )
