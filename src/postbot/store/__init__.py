"""The database behind the queue, registered by URL scheme like platforms are by name.

`open_store("sqlite:///var/postbot.db")`, `open_store("postgresql+psycopg://...")` or
`open_store("memory://")` (in this process only: for tests); another package can add a
database through a `postbot.stores` entry point. `base.Store` is the contract they all keep.
"""

from __future__ import annotations

from typing import Any

from postbot.domain import Claimed, ImportResult, Result
from postbot.errors import ConfigError
from postbot.registry import Registry
from postbot.store.base import SCHEMA_HEAD, ConstraintError, Store, StoreError

STORES: Registry[Store] = Registry(
    "database",
    "postbot.stores",
    {
        "sqlite": "postbot.store.sqlite:SQLiteStore",
        "postgresql": "postbot.store.postgresql:PostgresStore",
        "postgres": "postbot.store.postgresql:PostgresStore",
        "memory": "postbot.store.memory:MemoryStore",
    },
)


def open_store(url: str, **engine_options: Any) -> Store:
    """The store for a database URL: sqlite:///path, postgresql+psycopg://..., memory://[name]"""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in STORES:
        raise ConfigError(
            f"database URL: unsupported database '{scheme}' (known: {', '.join(STORES.names())})"
        )
    return STORES.load(scheme)(url, **engine_options)


__all__ = [
    "SCHEMA_HEAD",
    "STORES",
    "Claimed",
    "ConstraintError",
    "ImportResult",
    "Result",
    "Store",
    "StoreError",
    "open_store",
]
