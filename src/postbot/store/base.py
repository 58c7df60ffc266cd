"""The store contract: connections, transactions and the schema, shared by every database.

What differs between databases (how a write transaction starts, how a claim skips rows another
worker holds, how an idle worker hears of new posts) lives in one small module per database:
`sqlite.py`, `postgresql.py`. Everything else is plain SQLAlchemy Core in `posts.py` and
`queue.py`, run the same way on both, and proven so by one contract test suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from postbot.errors import PostbotError
from postbot.store.posts import PostOps
from postbot.store.queue import QueueOps

# The newest migration; `ensure_schema` upgrades any database that is behind it.
SCHEMA_HEAD = "0001"


class StoreError(PostbotError):
    """The database cannot be reached or used."""


class Store(PostOps, QueueOps):
    dialect: ClassVar[str]

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine: Engine = self._create_engine(url, **engine_options)

    # -- dialect hooks -------------------------------------------------------------------
    def _create_engine(self, url: str, **options: Any) -> Engine:
        return create_engine(url, **options)

    def claim_lock_clause(self) -> str:
        """What a claim's inner SELECT adds so two workers never take the same row."""
        return ""

    def claim_id_filter(self, candidates: str) -> str:
        """The claim UPDATE's condition on `id`, given the SELECT of the ids to take."""
        return f"id IN ({candidates})"

    def notify_enqueued(self, conn: Connection) -> None:
        """Tell idle workers that new work exists (PostgreSQL NOTIFY; SQLite needs nothing)."""

    def change_watcher(self) -> ChangeWatcher:
        return PollingWatcher()

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (on SQLite: BEGIN IMMEDIATE, so it never fails half-way)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"database error: {_short(exc)}") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(postbot_readonly=True) as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"database error: {_short(exc)}") from exc

    # -- schema --------------------------------------------------------------------------
    def schema_version(self) -> str | None:
        try:
            with self.read() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (StoreError, ProgrammingError, OperationalError):
            return None

    def ensure_schema(self) -> None:
        """Create or upgrade the schema if it is not at the newest migration."""
        if self.schema_version() == SCHEMA_HEAD:
            return
        from postbot.store.migrate import upgrade

        try:
            upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot create or upgrade the database: {_short(exc)}") from exc

    def dispose(self) -> None:
        self.engine.dispose()


class ChangeWatcher:
    """Tells a sleeping daemon that something in the database changed."""

    def changed(self) -> bool:
        return True

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds for a change; True if there was one."""
        import time

        time.sleep(timeout)
        return self.changed()

    def close(self) -> None:
        pass


class PollingWatcher(ChangeWatcher):
    """Fallback: assume a change every time (the daemon then re-reads the next due time)."""


def _short(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).splitlines()[0]
