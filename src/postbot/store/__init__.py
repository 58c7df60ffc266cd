"""The database behind the queue, registered by URL scheme like platforms are by name.

`open_store("sqlite:///var/postbot.db")` or `open_store("postgresql+psycopg://...")`; another
package can add a database through a `postbot.stores` entry point.
"""

from __future__ import annotations

from typing import Any

from postbot.errors import ConfigError
from postbot.registry import Registry
from postbot.store.base import SCHEMA_HEAD, Store, StoreError
from postbot.store.posts import ImportResult
from postbot.store.queue import Claimed, Result

STORES: Registry[Store] = Registry(
    "database",
    "postbot.stores",
    {
        "sqlite": "postbot.store.sqlite:SQLiteStore",
        "postgresql": "postbot.store.postgresql:PostgresStore",
        "postgres": "postbot.store.postgresql:PostgresStore",
    },
)


def open_store(url: str, **engine_options: Any) -> Store:
    """The store for a database URL: sqlite:///path or postgresql+psycopg://..."""
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
    "ImportResult",
    "Result",
    "Store",
    "StoreError",
    "open_store",
]
