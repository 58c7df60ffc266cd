"""Per-backend test helpers: what a test may do to a store that the store's API does not offer.

A contract test sometimes needs a delivery in a state that would take a long detour through
the API to reach (published, failed, cancelled ...). `force_delivery` puts it there directly:
through SQL on the SQL stores, through the records on the memory store. Nothing else in the
tests reaches past the API.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from postbot.domain import Status
from postbot.store import Store
from postbot.store.memory import MemoryStore


def force_delivery(store: Store, delivery_id: int, status: Status, **values: Any) -> None:
    """Set a delivery's status (and other columns, by field name) without any rule."""
    if isinstance(store, MemoryStore):
        with store.db.lock:
            row = store.db.deliveries[delivery_id]
            store.db.deliveries[delivery_id] = replace(row, status=status, **values)
        return
    from sqlalchemy import update

    from postbot.store.posts import DELIVERY
    from postbot.store.sql import SQLStore

    assert isinstance(store, SQLStore), type(store)
    with store.write() as conn:
        conn.execute(
            update(DELIVERY).where(DELIVERY.c.id == delivery_id).values(status=status, **values)
        )
