"""The memory store's calendar read, as the SQL stores' (`store/calendar.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from postbot.domain import Delivery, Post
from postbot.store.memory.db import Database, MemoryBase


class MemoryCalendarOps(MemoryBase):
    def posts_due_between(self, start: datetime, end: datetime) -> list[Post]:
        with self._read() as db:
            rows = sorted(
                (d for d in db.deliveries.values() if start <= d.due_at < end),
                key=lambda d: (d.due_at, d.id),
            )
            by_post: dict[int, list[Delivery]] = {}
            for d in rows:
                by_post.setdefault(d.post_id, []).append(d)
            return [
                replace(db.posts[i], deliveries=tuple(self._with_parts(db, ds)))
                for i, ds in by_post.items()
            ]

    def _with_parts(self, db: Database, deliveries: Sequence[Delivery]) -> list[Delivery]:
        raise NotImplementedError  # provided by MemoryThreadOps
