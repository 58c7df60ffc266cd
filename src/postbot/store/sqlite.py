"""SQLite specifics: WAL, busy timeout, foreign keys, BEGIN IMMEDIATE, `PRAGMA data_version`.

Plain deferred transactions upgrade their read lock to a write lock half-way and then fail
with "database is locked" when another process got there first; BEGIN IMMEDIATE takes the
write lock up front and waits (busy_timeout) instead. It also serialises every writer, which
is what keeps a pace budget whole across workers (`claim_paced` counts and claims in one).

An existing file is looked at, read-only, before anything else opens it: a file that is not
SQLite, is damaged, or is another application's database is refused with one line, and is
left exactly as it was (the WAL journal mode a connection would set is stored in the file).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.url import make_url

from postbot.errors import ConfigError
from postbot.store import rules
from postbot.store.base import REVISIONS, StoreError
from postbot.store.sql import SQLStore
from postbot.store.watch import ChangeWatcher

BUSY_TIMEOUT_MS = 30_000
PROBE_TIMEOUT = 5.0  # seconds a write probe waits for another writer: longer is "not ready"
# A write of many rows (an import) inserts into a dozen indexes at places all over them (random
# keys and text hashes): with SQLite's 2 MB page cache, pages go out and come back again and
# again. This much cache for such a write, and the connection's own back when it is checked in;
# below BULK_ROWS the indexes' new pages fit anyway.
BULK_CACHE_KIB = 131_072
BULK_ROWS = 1_000
_WIDENED = "postbot_cache_widened"


HEADER = b"SQLite format 3\x00"


class SQLiteStore(SQLStore):
    dialect = "sqlite"

    def _create_engine(self, url: str, **options: Any) -> Engine:
        database = make_url(url).database
        if database and database != ":memory:":
            self.path: Path | None = Path(database)
            _check_writable(self.path)
            _check_file(self.path)
        else:
            self.path = None
        engine = create_engine(url, **options)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            # Let us issue BEGIN ourselves (pysqlite's own BEGIN is always deferred).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # durable at WAL checkpoints, fast
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            readonly = conn.get_execution_options().get("postbot_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        @event.listens_for(engine, "checkin")
        def _on_checkin(dbapi_conn: sqlite3.Connection, record: Any) -> None:
            before = record.info.pop(_WIDENED, None)
            if before is not None:
                dbapi_conn.execute(f"PRAGMA cache_size = {int(before)}")

        return engine

    def make_room(self, conn: Connection, rows: int) -> None:
        if rows < BULK_ROWS:
            return
        if _WIDENED not in conn.info:  # once per transaction: the first size is the own one
            conn.info[_WIDENED] = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        conn.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")

    def change_watcher(self) -> ChangeWatcher:
        return DataVersionWatcher(self.engine)

    def probe_write(self) -> None:
        """The files first, as the system sees them now: a connection open before the file
        was made read-only (chmod, chattr +i, a read-only mount) keeps writing until it
        checkpoints, and SQLite hands a closed connection's descriptor to the next one in the
        same process. Then a write that changes nothing, on a connection of its own."""
        if self.path is None:
            return super().probe_write()
        import os

        from postbot.store.ops import PROBE

        wal = self.path.with_name(self.path.name + "-wal")
        for target in (self.path, wal, self.path.parent):
            if target.exists() and not os.access(target, os.W_OK):
                raise StoreError(
                    f"database {self.path} does not take a write: {target} is"
                    " read-only (its mode, its immutable flag or its file system)"
                )
        try:
            conn = sqlite3.connect(self.path, timeout=PROBE_TIMEOUT, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(PROBE)
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StoreError(f"database {self.path} does not take a write: {exc}") from None


class DataVersionWatcher(ChangeWatcher):
    """`PRAGMA data_version` changes when any *other* connection commits: a cheap poll."""

    def __init__(self, engine: Engine) -> None:
        # One connection held for the watcher's life: data_version is per connection.
        self._raw = engine.raw_connection()
        self._last = self._read()

    def _read(self) -> int:
        cursor = self._raw.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            row = cursor.fetchone()
            return int(row[0]) if row else 0
        finally:
            cursor.close()

    def changed(self) -> bool:
        current = self._read()
        changed, self._last = current != self._last, current
        return changed

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self.changed():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(0.2, remaining))

    def close(self) -> None:
        self._raw.close()


def _check_writable(path: Path) -> None:
    """Fail early, with the path, instead of SQLite's 'unable to open database file'."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"database path {path}: cannot create folder {folder}: {exc.strerror}"
        ) from None
    import os

    target = path if path.exists() else folder
    if not os.access(target, os.W_OK):
        raise ConfigError(f"database path {path}: not writable")


def _check_file(path: Path) -> None:
    """Refuse a file that is not an SQLite database, is damaged, or is not postbot's."""
    try:
        with path.open("rb") as f:
            header = f.read(len(HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"database path {path}: cannot read it: {exc.strerror}") from None
    if not header:
        return  # an empty file: SQLite makes a new database of it
    if header != HEADER:
        raise ConfigError(
            f"database path {path}: not an SQLite database (point [database] url at postbot's"
            " database file, or at a path where it may create one)"
        )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            listed = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {r[0] for r in listed}
            version = None
            if "alembic_version" in tables:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                version = row[0] if row else None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"database {path} is damaged: {exc} (restore it from a backup)") from None
    rules.check_owner(str(path), tables, version, REVISIONS)
