"""PostgreSQL specifics: claims skip rows other workers hold; a pace budget is held under a
transaction-level advisory lock per account; LISTEN/NOTIFY wakes idle workers."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection

from postbot.store.base import SCHEMA_HEAD
from postbot.store.sql import SQLStore
from postbot.store.watch import ChangeWatcher

CHANNEL = "postbot_enqueued"
# pg_advisory_xact_lock key held while the schema is created or upgraded ("postbot").
MIGRATION_LOCK = 0x706F7374626F74


class PostgresStore(SQLStore):
    dialect = "postgresql"

    def _create_engine(self, url: str, **options: Any) -> Engine:
        options.setdefault("pool_pre_ping", True)
        return create_engine(url, **options)

    def ensure_schema(self) -> None:
        """As Store's, one process at a time: workers started together on a new database
        otherwise run the migrations side by side, and all but one fail ("duplicate key value
        violates unique constraint pg_type_typname_nsp_index")."""
        if self.schema_version() == SCHEMA_HEAD:
            return
        with self.write() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            # Checks the version again: the lock's previous holder may have done it already.
            super().ensure_schema()

    def claim_lock_clause(self) -> str:
        return "FOR UPDATE SKIP LOCKED"

    def claim_id_filter(self, candidates: str) -> str:
        # ARRAY(subquery) is evaluated once per statement. A plain `id IN (subquery)` may be
        # planned as a nested-loop semi join that re-runs the subquery for every row, and each
        # re-run of LIMIT ... FOR UPDATE SKIP LOCKED skips the rows this UPDATE already changed
        # and returns the next ones: the claim then took more than `limit` rows.
        return f"id = ANY(ARRAY({candidates}))"

    def lock_pace(self, conn: Connection, account: str, dry_run: bool) -> None:
        # READ COMMITTED: once the lock's previous holder committed, the next one's count sees
        # its claims. Held until this transaction ends (commit or rollback), never leaked.
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": pace_lock(account, dry_run)}
        )

    def notify_enqueued(self, conn: Connection) -> None:
        conn.execute(text(f"NOTIFY {CHANNEL}"))

    def change_watcher(self) -> ChangeWatcher:
        return ListenWatcher(self.engine)


def pace_lock(account: str, dry_run: bool) -> int:
    """The advisory lock key of one account's live (or dry-run) pace: a signed 64-bit number
    from a hash, the same in every process (Python's own `hash` is not)."""
    digest = hashlib.blake2b(f"postbot-pace:{dry_run}:{account}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class ListenWatcher(ChangeWatcher):
    """A dedicated connection LISTENing on the channel; polling remains the fallback."""

    def __init__(self, engine: Engine) -> None:
        import psycopg

        self._conn = psycopg.connect(
            engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        )
        self._conn.execute(f"LISTEN {CHANNEL}")

    def changed(self) -> bool:
        return any(True for _ in self._conn.notifies(timeout=0, stop_after=None))

    def wait(self, timeout: float) -> bool:
        got = False
        for _ in self._conn.notifies(timeout=timeout, stop_after=1):
            got = True
        # Drain the rest so one burst of enqueues wakes us once.
        for _ in self._conn.notifies(timeout=0):
            pass
        return got

    def close(self) -> None:
        self._conn.close()
