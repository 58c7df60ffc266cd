"""The calendar's read in SQL: the deliveries due in a span of time, with their posts.

One read transaction: the deliveries due in [start, end), then their posts in chunks
(`posts.posts_of`, as `list_posts` reads them), so a week of thousands of deliveries is two
or three statements, not one per post.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from postbot.domain import Delivery, Post
from postbot.store.posts import DELIVERY, delivery_record, posts_of


class CalendarOps:
    """Mixed into SQLStore; relies on its read() transaction."""

    def read(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def _with_parts(self, conn: Connection, deliveries: Sequence[Delivery]) -> list[Delivery]:
        raise NotImplementedError  # provided by ThreadOps

    def posts_due_between(self, start: datetime, end: datetime) -> list[Post]:
        with self.read() as conn:
            query = (
                select(DELIVERY)
                .where(DELIVERY.c.due_at >= start, DELIVERY.c.due_at < end)
                .order_by(DELIVERY.c.due_at, DELIVERY.c.id)
            )
            found = [delivery_record(d) for d in conn.execute(query).mappings()]
            return posts_of(conn, self._with_parts(conn, found))
