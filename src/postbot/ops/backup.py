"""`postbot backup PATH` and `postbot restore PATH` for the SQLite database.

A backup goes through SQLite's online backup API in one step: it reads one consistent snapshot
while the daemon goes on writing (WAL: writers never wait for it), into a file beside PATH that
is checked (`PRAGMA integrity_check`), made self-contained (no -wal file) and then renamed to
PATH, so PATH is a whole backup or nothing.

A restore checks the copy first (an SQLite file, intact, postbot's tables at a schema version
this postbot knows: a newer one is refused), refuses while a worker's heartbeat is fresh (a
running daemon would go on from a queue that is no longer there), keeps the current database
beside it (`postbot.db.before-restore-<time>`), then copies the backup in through the same API
and brings an older schema up to date.

PostgreSQL has its own tools (`pg_dump`, `pg_restore`; see the README).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from postbot.errors import StateError, UserError
from postbot.store import Store
from postbot.store.base import REVISIONS, StoreError
from postbot.store.rules import check_owner

TABLES = ("post", "delivery", "attempt", "heartbeat", "incident", "alert_message")


@dataclass(frozen=True)
class Copied:
    """What a backup wrote, or a restore put in place."""

    path: Path
    schema: str
    rows: Mapping[str, int]  # per table
    saved: Path | None = None  # restore: where the database it replaced was kept


def database_file(store: Store) -> Path:
    path = getattr(store, "path", None)
    if store.dialect != "sqlite" or path is None:
        raise UserError(
            f"backup and restore work on an SQLite file; this database is {store.dialect}:"
            " use pg_dump and pg_restore (see the README, 'Backups')"
        )
    return Path(path)


def backup(store: Store, target: Path, *, overwrite: bool = False) -> Copied:
    source = database_file(store)
    if target.exists() and not overwrite:
        raise UserError(f"backup: {target} exists; give a new file name, or --overwrite")
    if not target.parent.is_dir():
        raise UserError(f"backup: there is no folder {target.parent} for {target.name}")
    if target.resolve() == source.resolve():
        raise UserError(f"backup: {target} is the database itself; give another file name")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        _copy(source, partial)
        schema, rows = inspect_copy(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Copied(target, schema, rows)


def restore(store: Store, source: Path, now: datetime, fresh_within: timedelta) -> Copied:
    target = database_file(store)
    if not source.is_file():
        raise UserError(f"restore: there is no file {source}")
    schema, _ = inspect_copy(source)  # before anything is touched
    workers = [w for w in store.workers() if w.seen_at > now - fresh_within]
    if workers:
        seen = ", ".join(w.worker for w in workers)
        raise StateError(
            f"restore: a daemon is running on {target} (heartbeat from {seen}): stop it first"
            " (systemctl stop postbot), then restore"
        )
    saved = None
    if target.exists() and target.stat().st_size:
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        saved = target.with_name(f"{target.name}.before-restore-{stamp}")
        _copy(target, saved)
    store.dispose()  # no pooled connection keeps reading the old pages
    _copy(source, target, journal="WAL")
    _, rows = inspect_copy(target)
    return Copied(target, schema, rows, saved)


def _copy(source: Path, target: Path, *, journal: str = "DELETE") -> None:
    """One consistent snapshot of `source` into `target`, through the online backup API."""
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
            contextlib.closing(sqlite3.connect(target, timeout=30)) as dst,
        ):
            src.backup(dst)  # all pages in one step: one read transaction, one snapshot
            dst.execute(f"PRAGMA journal_mode = {journal}")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot copy {source} to {target}: {exc}") from None


def inspect_copy(path: Path) -> tuple[str, dict[str, int]]:
    """The copy's schema version and row counts, once it proved intact and postbot's own at a
    version this postbot knows (UserError otherwise, the file left alone)."""
    with path.open("rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise UserError(f"{path} is not an SQLite database (give a file `postbot backup` made)")
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as c:
            verdict = [r[0] for r in c.execute("PRAGMA integrity_check")]
            if verdict != ["ok"]:
                raise UserError(f"{path} is damaged: {'; '.join(verdict[:3])}")
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = None
            if "alembic_version" in tables:
                row = c.execute("SELECT version_num FROM alembic_version").fetchone()
                version = row[0] if row else None
            if version is None:
                raise UserError(f"{path} is not a postbot database (it has no schema version)")
            if version not in REVISIONS:
                raise UserError(
                    f"{path} is at schema version '{version}', newer than this postbot's"
                    f" ({REVISIONS[-1]}) or not postbot's: restore it with the postbot that made"
                    " it, or upgrade postbot first"
                )
            check_owner(str(path), tables, version, REVISIONS)
            rows = {
                t: int(c.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
                for t in TABLES
                if t in tables
            }
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path} cannot be read as a database: {exc}") from None
    return version, rows
