"""The calendar's read in SQL: the deliveries due in a span of time, with their posts.

One read transaction: the deliveries due in [start, end), then their posts in chunks, so a
week of thousands of deliveries is two or three statements, not one per post.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from postbot.domain import Delivery, Post
from postbot.store.posts import DELIVERY, POST, _chunks, delivery_record, post_record


class CalendarOps:
    """Mixed into SQLStore; relies on its read() transaction."""

    def read(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def posts_due_between(self, start: datetime, end: datetime) -> list[Post]:
        with self.read() as conn:
            query = (
                select(DELIVERY)
                .where(DELIVERY.c.due_at >= start, DELIVERY.c.due_at < end)
                .order_by(DELIVERY.c.due_at, DELIVERY.c.id)
            )
            deliveries = [delivery_record(d) for d in conn.execute(query).mappings()]
            post_ids = list(dict.fromkeys(d.post_id for d in deliveries))
            rows = {
                p["id"]: p
                for chunk in _chunks(post_ids, 500)
                for p in conn.execute(select(POST).where(POST.c.id.in_(chunk))).mappings()
            }
        by_post: dict[int, list[Delivery]] = {i: [] for i in post_ids}
        for d in deliveries:
            by_post[d.post_id].append(d)
        return [post_record(rows[i], by_post[i]) for i in post_ids]
