"""The database behind the queue: `open_store(url)` picks SQLite or PostgreSQL."""

from postbot.store.base import SCHEMA_HEAD, Store, StoreError, open_store
from postbot.store.posts import ImportResult
from postbot.store.queue import Claimed, Result

__all__ = [
    "SCHEMA_HEAD",
    "Claimed",
    "ImportResult",
    "Result",
    "Store",
    "StoreError",
    "open_store",
]
