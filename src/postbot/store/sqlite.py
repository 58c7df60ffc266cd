"""SQLite specifics: WAL, busy timeout, foreign keys, BEGIN IMMEDIATE, `PRAGMA data_version`.

Plain deferred transactions upgrade their read lock to a write lock half-way and then fail
with "database is locked" when another process got there first; BEGIN IMMEDIATE takes the
write lock up front and waits (busy_timeout) instead.
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
from postbot.store.base import ChangeWatcher, Store

BUSY_TIMEOUT_MS = 30_000


class SQLiteStore(Store):
    dialect = "sqlite"

    def _create_engine(self, url: str, **options: Any) -> Engine:
        database = make_url(url).database
        if database and database != ":memory:":
            self.path: Path | None = Path(database)
            _check_writable(self.path)
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

        return engine

    def change_watcher(self) -> ChangeWatcher:
        return DataVersionWatcher(self.engine)


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
