"""The store on an SQL database: connections, transactions, the schema, and the SQL both
databases run (`posts.py`: posts and their deliveries; `queue.py`: claims, records, status).

What differs between databases (how a write transaction starts, how a claim skips rows another
worker holds, how one account's pace is locked, how an idle worker hears of new posts) is a
hook here, filled in by one small module per database: `sqlite.py`, `postgresql.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DatabaseError, IntegrityError, ProgrammingError, SQLAlchemyError

from postbot.store import rules
from postbot.store.base import (
    REVISIONS,
    SCHEMA_HEAD,
    ConstraintError,
    StoreError,
)
from postbot.store.base import Store as StoreContract
from postbot.store.calendar import CalendarOps
from postbot.store.guards import GuardOps
from postbot.store.ops import OpsSQL
from postbot.store.posts import PostOps
from postbot.store.review import ReviewOps
from postbot.store.serverside import ServerSideOps
from postbot.store.slots import SlotOps
from postbot.store.watch import ChangeWatcher, PollingWatcher
from postbot.store.workers import WorkerOps

T = TypeVar("T")
# PostgreSQL's deadlock_detected and serialization_failure: the database rolled the whole
# transaction back, so running it again is safe. Writes that lock several delivery rows
# lock them in id order, so a retry is a rare second chance, never a loop.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
WRITE_TRIES = 3


class SQLStore(
    PostOps,
    SlotOps,
    GuardOps,
    ReviewOps,
    ServerSideOps,
    CalendarOps,
    OpsSQL,
    WorkerOps,
    StoreContract,
):
    def __init__(self, url: str, **engine_options: Any) -> None:
        super().__init__(url)
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

    def lock_pace(self, conn: Connection, account: str, dry_run: bool) -> None:
        """Hold one account's pace budget until the transaction ends (SQLite needs nothing:
        BEGIN IMMEDIATE already lets one writer in at a time)."""

    def notify_enqueued(self, conn: Connection) -> None:
        """Tell idle workers that new work exists (PostgreSQL NOTIFY; SQLite needs nothing)."""

    def make_room(self, conn: Connection, rows: int) -> None:
        """Before a write of `rows` new rows: memory for the pages of the indexes it grows, if
        the database needs telling (SQLite, `sqlite.BULK_CACHE_KIB`; PostgreSQL has its shared
        buffers), until the transaction's connection is handed back."""

    def change_watcher(self) -> ChangeWatcher:
        return PollingWatcher()

    def where(self) -> str:
        """The database, for messages (never with a password)."""
        return self.engine.url.render_as_string(hide_password=True)

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (on SQLite: BEGIN IMMEDIATE, so it never fails half-way)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise ConstraintError(f"database refused the change: {_short(exc)}") from exc
        except DatabaseError as exc:
            raise StoreError(f"database error: {_short(exc)}") from exc

    def write_retried(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction, again (up to WRITE_TRIES in all) when the
        database rolled it back for a deadlock or a serialization failure."""
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                with self.write() as conn:
                    return work(conn)
            except StoreError as exc:
                if attempt == WRITE_TRIES or not _retryable(exc):
                    raise
        raise AssertionError("unreachable")  # the loop returns or raises

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(postbot_readonly=True) as conn:
                yield conn
        except DatabaseError as exc:
            raise StoreError(f"database error: {_short(exc)}") from exc

    # -- schema --------------------------------------------------------------------------
    def schema_version(self) -> str | None:
        try:
            with self.read() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except StoreError as exc:
            if isinstance(exc.__cause__, ProgrammingError | DatabaseError) and _no_table(exc):
                return None
            raise

    def ensure_schema(self) -> None:
        """Create or upgrade the schema if it is not at the newest migration; never on a
        database that holds another application's tables."""
        version = self.schema_version()
        if version == SCHEMA_HEAD:
            return
        with self.read() as conn:
            tables = set(inspect(conn).get_table_names())
        rules.check_owner(self.where(), tables, version, REVISIONS)
        from postbot.store.migrate import upgrade

        try:
            upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot create or upgrade the database: {_short(exc)}") from exc

    def dispose(self) -> None:
        self.engine.dispose()


def _no_table(exc: StoreError) -> bool:
    message = str(exc).lower()
    return "no such table" in message or "does not exist" in message


def _retryable(exc: StoreError) -> bool:
    orig = getattr(exc.__cause__, "orig", None)
    return getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def _short(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).splitlines()[0]
