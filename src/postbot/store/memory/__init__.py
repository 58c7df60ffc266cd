"""An in-memory store: the contract of `base.Store`, kept in one process, for tests.

`memory://` is a database of this store alone; `memory://NAME` is shared by every store opened
with that name in this process, while one of them is open (as several connections share one
file). One lock per database makes every method one transaction: readers and writers take
turns, as SQLite's BEGIN IMMEDIATE lets them. The rules are `rules.py`'s, as for SQL; the
records are `postbot.domain`'s. The parts: `db.py` (the database, transactions, rows),
`posts.py`, `queue.py`, `ops.py`, as the SQL stores' `posts.py`, `queue.py` and `ops.py`.
"""

from __future__ import annotations

from postbot.store.base import SCHEMA_HEAD
from postbot.store.memory.calendar import MemoryCalendarOps
from postbot.store.memory.guards import MemoryGuardOps
from postbot.store.memory.ops import MemoryOps
from postbot.store.memory.posts import MemoryPostOps
from postbot.store.memory.review import MemoryReviewOps
from postbot.store.memory.serverside import MemoryServerSideOps
from postbot.store.memory.slots import MemorySlotOps


class MemoryStore(
    MemoryPostOps,
    MemorySlotOps,
    MemoryGuardOps,
    MemoryReviewOps,
    MemoryServerSideOps,
    MemoryCalendarOps,
    MemoryOps,
):
    dialect = "memory"

    def schema_version(self) -> str | None:
        return SCHEMA_HEAD  # nothing to migrate: the records are the schema

    def ensure_schema(self) -> None:
        pass


__all__ = ["MemoryStore"]
