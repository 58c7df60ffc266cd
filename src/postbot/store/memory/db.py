"""The memory store's database and its transactions: one lock per database, records replaced
(never changed in place) on every write, a copy kept where a write may fail half-way.

`memory://` is a database of one store alone; `memory://NAME` is shared by every store opened
with that name in this process, while one of them is open (as connections share one file).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from postbot.domain import Attempt, Delivery, MediaItem, Outcome, Part, Post, Result, Worker
from postbot.operations import Incident
from postbot.store.base import Store
from postbot.store.watch import ChangeWatcher
from postbot.variants import from_json as variants_from_json


class Database:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.committed = threading.Condition(self.lock)
        self.posts: dict[int, Post] = {}  # without their deliveries
        self.keys: dict[str, int] = {}  # post key -> post id
        self.deliveries: dict[int, Delivery] = {}  # without their parts ...
        self.parts: dict[int, tuple[Part, ...]] = {}  # ... which are here, by delivery id
        self.attempts: list[Attempt] = []
        self.workers: dict[str, Worker] = {}
        self.incidents: dict[int, Incident] = {}
        self.open_keys: dict[str, int] = {}  # key -> the open incident's id
        self.messages: dict[int, datetime] = {}  # alert message id -> sent at
        self.alerted: dict[int, int | None] = {}  # incident -> its message (None: not told)
        self.last_id = {"post": 0, "delivery": 0, "attempt": 0, "incident": 0,
                        "alert_message": 0, "review": 0, "feed_item": 0}  # fmt: skip
        self.reviews: list[Any] = []  # postbot.reviews.Review, oldest first
        self.feeds: dict[str, Any] = {}  # name -> postbot.feeds.records.FeedState
        self.feed_items: dict[tuple[str, str], Any] = {}  # (feed, key) -> KnownItem
        self.notes: dict[int, str | None] = {}  # post id -> what its feed item's poll noted
        self.commits = 0  # writes committed, by every store on this database
        self.users = 0

    def new_id(self, table: str) -> int:
        self.last_id[table] += 1
        return self.last_id[table]

    def of_post(self, post_id: int) -> list[Delivery]:
        return sorted((d for d in self.deliveries.values() if d.post_id == post_id),
                      key=lambda d: d.id)  # fmt: skip


_SHARED: dict[str, Database] = {}
_SHARED_LOCK = threading.Lock()


class MemoryBase(Store):
    """What the memory store's parts share: the database, transactions, rows."""

    def __init__(self, url: str = "memory://", **options: Any) -> None:
        super().__init__(url)
        self.name = url.split("://", 1)[-1].strip("/")
        with _SHARED_LOCK:
            db = _SHARED.setdefault(self.name, Database()) if self.name else Database()
            db.users += 1
        self._db: Database | None = db
        self.own_commits = 0  # of db.commits, this store's: a watcher sees the others'

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("this memory store was disposed")
        return self._db

    @contextmanager
    def _read(self) -> Iterator[Database]:
        with self.db.lock:
            yield self.db

    @contextmanager
    def _write(self, *, undo: bool = False) -> Iterator[Database]:
        """A write: all or nothing. `undo`: the write may fail half-way, keep a copy to restore."""
        db = self.db
        with db.lock:
            saved = (dict(db.posts), dict(db.keys), dict(db.deliveries), len(db.attempts),
                     dict(db.last_id), dict(db.parts), len(db.reviews), dict(db.feeds),
                     dict(db.feed_items), dict(db.notes)) if undo else None  # fmt: skip
            try:
                yield db
            except BaseException:
                if saved is not None:
                    (db.posts, db.keys, db.deliveries, n, db.last_id, db.parts, r, db.feeds,
                     db.feed_items, db.notes) = saved  # fmt: skip
                    del db.attempts[n:]
                    del db.reviews[r:]
                raise
            db.commits += 1
            self.own_commits += 1
            db.committed.notify_all()

    def dispose(self) -> None:
        with _SHARED_LOCK:
            if self._db is None:
                return
            self._db.users -= 1
            if self.name and self._db.users == 0:
                _SHARED.pop(self.name, None)
            self._db = None

    def change_watcher(self) -> ChangeWatcher:
        return MemoryWatcher(self)

    # -- rows ----------------------------------------------------------------------------------
    def _set(self, db: Database, delivery_id: int, values: Mapping[str, Any]) -> Delivery:
        d = replace(db.deliveries[delivery_id], **as_utc(values))
        db.deliveries[delivery_id] = d
        return d

    def _log_attempt(self, db: Database, d: Delivery, worker: str, r: Result) -> None:
        db.attempts.append(Attempt(
            db.new_id("attempt"), d.id, d.post_id, d.account, d.platform, worker,
            r.started_at.astimezone(UTC), r.finished_at.astimezone(UTC), Outcome(r.outcome),
            r.error_class, r.error_message, r.http_status, r.remote_id, r.remote_url, r.dry_run,
            json.loads(json.dumps(dict(r.detail))),  # what JSON columns keep, as they keep it
        ))  # fmt: skip


class MemoryWatcher(ChangeWatcher):
    """Sees writes other stores on the same database committed (as `PRAGMA data_version`)."""

    def __init__(self, store: MemoryBase) -> None:
        self._store = store
        self._last = self._others()

    def _others(self) -> int:
        return self._store.db.commits - self._store.own_commits

    def changed(self) -> bool:
        current = self._others()
        changed, self._last = current != self._last, current
        return changed

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._store.db.committed:
            while self._others() == self._last:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._store.db.committed.wait(remaining)
        return self.changed()


def post_record(post_id: int, row: Mapping[str, Any]) -> Post:
    return Post(
        id=post_id, key=row["key"], headline=row["headline"], teaser=row["teaser"],
        hashtags=tuple(row["hashtags"]), link=row["link"], language=row["language"],
        media=tuple(MediaItem(m["path"], m.get("alt", "")) for m in row["media"]),
        source=row["source"], content_hash=row["content_hash"], created_at=row["created_at"],
        updated_at=row["updated_at"], parts=tuple(row.get("parts") or ()),
        variants=variants_from_json(row.get("variants")), every=row.get("every"),
        until=row.get("until_at"), series_id=row.get("series_id"),
        occurrence_at=row.get("occurrence_at"), stopped_at=row.get("series_stopped_at"),
    )  # fmt: skip


def as_utc(values: Mapping[str, Any]) -> dict[str, Any]:
    """Datetimes as the SQL stores give them back: aware, in UTC (naive ones are refused)."""
    out = dict(values)
    for key, value in out.items():
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(f"{key}: a naive datetime ({value}); give it a time zone")
            out[key] = value.astimezone(UTC)
    return out
