"""An in-memory store: the contract of `base.Store`, kept in one process, for tests.

`memory://` is a database of this store alone; `memory://NAME` is shared by every store opened
with that name in this process, while one of them is open (as several connections share one
file). One lock per database makes every method one transaction: readers and writers take
turns, as SQLite's BEGIN IMMEDIATE lets them. The rules are `rules.py`'s, as for SQL; the
records are `postbot.domain`'s, replaced (never changed in place) on every write.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from postbot.domain import (
    Attempt,
    Claimed,
    Delivery,
    DryRunReset,
    ImportResult,
    MediaItem,
    Outcome,
    PacedClaim,
    PaceState,
    Post,
    QueueSummary,
    Result,
    Status,
    Worker,
)
from postbot.errors import NotFound
from postbot.pacing import pace_state
from postbot.store import rules
from postbot.store.base import SCHEMA_HEAD, ChangeWatcher, ConstraintError, Store

if TYPE_CHECKING:
    from postbot.drafts import Plan, Target
    from postbot.pacing import Pace


class _Database:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.committed = threading.Condition(self.lock)
        self.posts: dict[int, Post] = {}  # without their deliveries
        self.keys: dict[str, int] = {}  # post key -> post id
        self.deliveries: dict[int, Delivery] = {}
        self.attempts: list[Attempt] = []
        self.workers: dict[str, Worker] = {}
        self.last_id = {"post": 0, "delivery": 0, "attempt": 0}
        self.commits = 0  # writes committed, by every store on this database
        self.users = 0

    def new_id(self, table: str) -> int:
        self.last_id[table] += 1
        return self.last_id[table]

    def of_post(self, post_id: int) -> list[Delivery]:
        return sorted((d for d in self.deliveries.values() if d.post_id == post_id),
                      key=lambda d: d.id)  # fmt: skip


_SHARED: dict[str, _Database] = {}
_SHARED_LOCK = threading.Lock()


class MemoryStore(Store):
    dialect = "memory"

    def __init__(self, url: str = "memory://", **options: Any) -> None:
        super().__init__(url)
        self.name = url.split("://", 1)[-1].strip("/")
        with _SHARED_LOCK:
            db = _SHARED.setdefault(self.name, _Database()) if self.name else _Database()
            db.users += 1
        self._db: _Database | None = db
        self.own_commits = 0  # of db.commits, this store's: a watcher sees the others'

    # -- transactions ----------------------------------------------------------------------
    @property
    def db(self) -> _Database:
        if self._db is None:
            raise RuntimeError("this memory store was disposed")
        return self._db

    @contextmanager
    def _read(self) -> Iterator[_Database]:
        with self.db.lock:
            yield self.db

    @contextmanager
    def _write(self, *, undo: bool = False) -> Iterator[_Database]:
        """A write: all or nothing. `undo`: the write may fail half-way, keep a copy to restore."""
        db = self.db
        with db.lock:
            saved = (dict(db.posts), dict(db.keys), dict(db.deliveries), len(db.attempts),
                     dict(db.last_id)) if undo else None  # fmt: skip
            try:
                yield db
            except BaseException:
                if saved is not None:
                    db.posts, db.keys, db.deliveries, n, db.last_id = saved
                    del db.attempts[n:]
                raise
            db.commits += 1
            self.own_commits += 1
            db.committed.notify_all()

    # -- schema and lifetime -------------------------------------------------------------------
    def schema_version(self) -> str | None:
        return SCHEMA_HEAD

    def ensure_schema(self) -> None:
        pass

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

    # -- posts ---------------------------------------------------------------------------------
    def enqueue(self, plan: Plan, due: datetime, now: datetime) -> int:
        with self._write(undo=True) as db:
            post_id = self._insert_post(db, plan, now)
            self._insert_deliveries(db, post_id, plan.targets, due, now)
            return post_id

    def enqueue_many(self, items: Sequence[tuple[Plan, datetime]], now: datetime) -> list[int]:
        with self._write(undo=True) as db:
            ids = []
            for plan, due in items:
                ids.append(self._insert_post(db, plan, now))
                self._insert_deliveries(db, ids[-1], plan.targets, due, now)
            return ids

    def import_plans(
        self, items: Sequence[tuple[Plan, datetime | None]], now: datetime
    ) -> list[ImportResult]:
        results = []
        with self._write(undo=True) as db:
            for plan, due in items:
                key, new_hash = plan.draft.key or "", plan.draft.content_hash()
                post_id = db.keys.get(key) if key else None
                stored = db.posts[post_id].content_hash if post_id is not None else None
                settled = 0
                if post_id is not None and stored != new_hash:
                    settled = sum(d.status in rules.SETTLED for d in db.of_post(post_id))
                action = rules.import_action(stored, new_hash, settled)
                if action == "created":
                    post_id = self._insert_post(db, plan, now)
                    self._insert_deliveries(db, post_id, plan.targets, due or now, now)
                elif action == "conflict":
                    assert post_id is not None
                    results.append(
                        ImportResult(post_id, key, action, rules.conflict_message(post_id))
                    )
                    continue
                elif action == "updated":
                    assert post_id is not None
                    self._update_post(db, post_id, plan, due, now)
                results.append(ImportResult(post_id, key, action))
        return results

    def _insert_post(self, db: _Database, plan: Plan, now: datetime) -> int:
        row = _utc(rules.new_post(plan, now))
        if row["key"] in db.keys:
            raise ConstraintError(f"database refused the change: post key {row['key']!r} exists")
        post_id = db.new_id("post")
        db.posts[post_id] = _post(post_id, row)
        db.keys[row["key"]] = post_id
        return post_id

    def _insert_deliveries(
        self, db: _Database, post_id: int, targets: Iterable[Target], due: datetime, now: datetime
    ) -> None:
        accounts = {d.account for d in db.of_post(post_id)}
        for row in rules.new_deliveries(post_id, targets, due, now):
            if row["account"] in accounts:
                raise ConstraintError(
                    f"database refused the change: post {post_id} goes to {row['account']} twice"
                )
            accounts.add(row["account"])
            delivery_id = db.new_id("delivery")
            db.deliveries[delivery_id] = Delivery(
                id=delivery_id, lease_owner=None, lease_expires_at=None, remote_id=None,
                remote_url=None, last_error=None, **_utc(row),
            )  # fmt: skip

    def _update_post(
        self, db: _Database, post_id: int, plan: Plan, due: datetime | None, now: datetime
    ) -> None:
        old = db.posts[post_id]
        db.posts[post_id] = _post(post_id, {"key": old.key, "created_at": old.created_at,
                                            **_utc(rules.post_values(plan, now))})  # fmt: skip
        existing = {
            d.account: rules.Existing(d.id, d.status, d.due_at) for d in db.of_post(post_id)
        }
        change = rules.update_of(existing, plan, due, now)
        for delivery_id, values in change.rerendered:
            self._set(db, delivery_id, values)
        self._insert_deliveries(db, post_id, change.added, due or now, now)
        for delivery_id in change.cancelled:
            self._set(db, delivery_id, {"status": Status.CANCELLED, "updated_at": now})

    def find_post_by_key(self, key: str) -> Post | None:
        with self._read() as db:
            post_id = db.keys.get(key)
            return db.posts[post_id] if post_id is not None else None

    def get_post(self, post_id: int) -> Post:
        with self._read() as db:
            post = db.posts.get(post_id)
            if post is None:
                raise NotFound(f"no post with id {post_id}")
            return replace(post, deliveries=tuple(db.of_post(post_id)))

    def get_delivery(self, delivery_id: int) -> Delivery:
        with self._read() as db:
            if delivery_id not in db.deliveries:
                raise NotFound(f"no delivery with id {delivery_id}")
            return db.deliveries[delivery_id]

    def list_posts(self, status: str | None = None, limit: int | None = None) -> list[Post]:
        with self._read() as db:
            rows = sorted((d for d in db.deliveries.values() if not status or d.status == status),
                          key=lambda d: d.id)  # fmt: skip
            rows.sort(key=lambda d: d.due_at, reverse=True)  # stable: ids stay in order
            post_ids = list(dict.fromkeys(d.post_id for d in rows))[:limit]
            by_post: dict[int, list[Delivery]] = {i: [] for i in post_ids}
            for d in rows:
                if d.post_id in by_post:
                    by_post[d.post_id].append(d)
            return [replace(db.posts[i], deliveries=tuple(by_post[i])) for i in post_ids]

    def attempts(self, post_id: int | None = None, limit: int = 200) -> list[Attempt]:
        with self._read() as db:
            rows = [a for a in db.attempts if post_id is None or a.post_id == post_id]
            return rows[-limit:] if limit > 0 else []

    def apply_change(self, post_id: int, change: rules.Change) -> int:
        with self._write() as db:
            rows = db.of_post(post_id)
            if not rows:
                raise NotFound(f"no post with id {post_id}")
            allowed = [d for d in rows if d.status in change.allowed]
            if not allowed:
                raise change.refused(post_id, (d.status for d in rows))
            for d in allowed:
                self._set(db, d.id, change.values)
            return len(allowed)

    def resolve(self, post_id: int, url: str, now: datetime, account: str | None = None) -> int:
        with self._write() as db:
            unknown = {d.id: d.account for d in db.of_post(post_id) if d.status == Status.UNKNOWN}
            if not unknown:
                self.get_post(post_id)  # NotFound for an unknown id
            delivery_id = rules.unknown_to_resolve(post_id, unknown, account)
            values = rules.resolved(url, now)
            d = self._set(db, delivery_id, values)
            self._log_attempt(db, d, rules.RESOLVER, Result(
                delivery_id, Outcome.PUBLISHED, now, now, Status.PUBLISHED,
                remote_id=values["remote_id"], remote_url=url, detail=rules.RESOLVED_DETAIL,
            ))  # fmt: skip
            return delivery_id

    def reset_dry_run(self, now: datetime) -> DryRunReset:
        now = now.astimezone(UTC)
        with self._write() as db:
            dry = [d for d in db.deliveries.values() if d.dry_run]
            leases = {d.id: d.lease_expires_at for d in dry if d.status == Status.PUBLISHING}
            running = [i for i, until in leases.items() if until is not None and until >= now]
            if running:
                raise rules.dry_run_still_running(len(running))
            # A publishing one whose lease expired: its dry-run worker died; nothing was sent.
            dry = [d for d in dry if d.id not in leases or (leases[d.id] or now) < now]
            by_status: dict[str, int] = {}
            for d in dry:
                by_status[d.status] = by_status.get(d.status, 0) + 1
                values = {**rules.reset_values(), "next_attempt_at": d.due_at, "updated_at": now}
                self._set(db, d.id, values)
            return DryRunReset(len(dry), tuple(sorted({d.post_id for d in dry})), by_status)

    # -- the queue -----------------------------------------------------------------------------
    def claim_due(
        self,
        worker: str,
        now: datetime,
        limit: int,
        lease: timedelta,
        *,
        only: Sequence[str] | None = None,
        skip: Sequence[str] = (),
        dry_run: bool = False,
    ) -> list[Claimed]:
        with self._write() as db:
            return self._claim_due(db, worker, now, limit, lease, only, skip, dry_run)

    def claim_paced(
        self,
        worker: str,
        now: datetime,
        account: str,
        pace: Pace,
        limit: int,
        lease: timedelta,
        *,
        dry_run: bool = False,
    ) -> PacedClaim:
        now = now.astimezone(UTC)
        with self._write() as db:
            starts = self._starts(db, account, pace, now, dry_run)
            take = min(limit, pace.count - pace_state(account, pace, starts, now).used)
            claimed = self._claim_due(db, worker, now, take, lease, [account], (), dry_run)
            starts += [now] * len(claimed)
            after = pace_state(account, pace, starts, now)
            if after.paced_out:
                after = pace_state(account, pace, starts, now, self._due(db, account, now))
        return PacedClaim(tuple(claimed), after)

    def _claim_due(
        self,
        db: _Database,
        worker: str,
        now: datetime,
        limit: int,
        lease: timedelta,
        only: Sequence[str] | None,
        skip: Sequence[str],
        dry_run: bool,
    ) -> list[Claimed]:
        def due(d: Delivery) -> bool:
            return (d.status == Status.QUEUED and d.next_attempt_at <= now
                    and (only is None or d.account in only) and d.account not in skip)  # fmt: skip

        return self._take(db, due, limit, worker, now, lease, dry_run, new_attempt=True)

    def claim_expired(
        self, worker: str, now: datetime, limit: int, lease: timedelta, *, dry_run: bool = False
    ) -> list[Claimed]:
        def expired(d: Delivery) -> bool:
            return (d.status == Status.PUBLISHING and d.lease_expires_at is not None
                    and d.lease_expires_at < now and (d.dry_run or not dry_run))  # fmt: skip

        with self._write() as db:
            return self._take(db, expired, limit, worker, now, lease, None, new_attempt=False)

    def _take(
        self,
        db: _Database,
        wanted: Callable[[Delivery], bool],
        limit: int,
        worker: str,
        now: datetime,
        lease: timedelta,
        dry_run: bool | None,
        *,
        new_attempt: bool,
    ) -> list[Claimed]:
        """Claim the first `limit` wanted rows (by next attempt, then id); `dry_run` None keeps
        the mark the previous holder left."""
        now = now.astimezone(UTC)
        rows = sorted(filter(wanted, db.deliveries.values()),
                      key=lambda d: (d.next_attempt_at, d.id))[: max(limit, 0)]  # fmt: skip
        claimed = []
        for d in sorted(rows, key=lambda d: (d.due_at, d.id)):
            values: dict[str, Any] = {
                "status": Status.PUBLISHING, "lease_owner": worker,
                "lease_expires_at": now + lease, "updated_at": now,
                "attempts": d.attempts + 1 if new_attempt else d.attempts,
            }  # fmt: skip
            if dry_run is not None:
                values["dry_run"] = dry_run
            d = self._set(db, d.id, values)
            p = db.posts[d.post_id]
            claimed.append(Claimed(
                d.id, d.post_id, d.account, d.platform, d.key, d.text, d.due_at, d.attempts,
                d.created_at, p.language, p.link, p.hashtags, p.media, d.dry_run,
            ))  # fmt: skip
        return claimed

    def renew_leases(self, worker: str, ids: Sequence[int], until: datetime) -> int:
        with self._write() as db:
            mine = [i for i in ids if (d := db.deliveries.get(i)) is not None
                    and d.status == Status.PUBLISHING and d.lease_owner == worker]  # fmt: skip
            for i in mine:
                self._set(db, i, {"lease_expires_at": until})
            return len(mine)

    def record(self, worker: str, results: Sequence[Result]) -> int:
        if not results:
            return 0
        with self._write() as db:
            missing = {r.delivery_id for r in results} - set(db.deliveries)
            if missing:
                raise ConstraintError(f"database refused the change: no delivery {min(missing)}")
            for r in results:
                self._log_attempt(db, db.deliveries[r.delivery_id], worker, r)
            changed = 0
            for r in results:
                d = db.deliveries[r.delivery_id]
                if d.status != Status.PUBLISHING or d.lease_owner != worker:
                    continue
                self._set(db, d.id, {
                    "status": r.status, "next_attempt_at": r.next_attempt_at or d.next_attempt_at,
                    "remote_id": r.remote_id or d.remote_id,
                    "remote_url": r.remote_url or d.remote_url, "last_error": r.error_message,
                    "dry_run": r.dry_run, "lease_owner": None, "lease_expires_at": None,
                    "updated_at": r.finished_at,
                })  # fmt: skip
                changed += 1
            return changed

    def next_due_for(self, skip: Sequence[str]) -> datetime | None:
        with self._read() as db:
            return min((d.next_attempt_at for d in db.deliveries.values()
                        if d.status == Status.QUEUED and d.account not in skip),
                       default=None)  # fmt: skip

    def next_due_by_account(self) -> dict[str, datetime]:
        with self._read() as db:
            due: dict[str, datetime] = {}
            for d in db.deliveries.values():
                if d.status == Status.QUEUED and (
                    d.account not in due or d.next_attempt_at < due[d.account]
                ):
                    due[d.account] = d.next_attempt_at
            return due

    def pace_states(
        self, paces: Mapping[str, Pace], now: datetime, *, dry_run: bool = False
    ) -> dict[str, PaceState]:
        now = now.astimezone(UTC)
        with self._read() as db:
            return {
                a: pace_state(
                    a, p, self._starts(db, a, p, now, dry_run), now, self._due(db, a, now)
                )
                for a, p in paces.items()
            }

    def _starts(
        self, db: _Database, account: str, pace: Pace, now: datetime, dry_run: bool
    ) -> list[datetime]:
        since = now - pace.period
        attempts = sorted((a.started_at for a in db.attempts if a.account == account
                           and a.started_at > since and a.dry_run == dry_run),
                          reverse=True)[: pace.count]  # fmt: skip
        running = [d.updated_at for d in db.deliveries.values() if d.account == account
                   and d.status == Status.PUBLISHING and d.dry_run == dry_run]  # fmt: skip
        return [*attempts, *running]

    def _due(self, db: _Database, account: str, now: datetime) -> int:
        return sum(1 for d in db.deliveries.values() if d.account == account
                   and d.status == Status.QUEUED and d.next_attempt_at <= now)  # fmt: skip

    def mark_missed(
        self, account: str, cutoff: datetime, now: datetime, *, dry_run: bool = False
    ) -> int:
        with self._write() as db:
            stale = [
                d.id
                for d in db.deliveries.values()
                if d.status == Status.QUEUED
                and d.account == account
                and d.attempts == 0
                and d.next_attempt_at < cutoff
            ]
            for i in stale:  # fmt: skip
                self._set(db, i, {"status": Status.MISSED, "updated_at": now,
                                  "last_error": rules.MISSED_NOTE, "dry_run": dry_run})  # fmt: skip
            return len(stale)

    # -- workers and status --------------------------------------------------------------------
    def beat(self, worker: str, host: str, pid: int, dry_run: bool, now: datetime) -> None:
        now = now.astimezone(UTC)
        with self._write() as db:
            known = db.workers.get(worker)
            db.workers[worker] = (replace(known, seen_at=now) if known
                                  else Worker(worker, host, pid, dry_run, now, now))  # fmt: skip

    def forget_worker(self, worker: str) -> None:
        with self._write() as db:
            db.workers.pop(worker, None)

    def status_summary(self) -> QueueSummary:
        with self._read() as db:
            counts: dict[str, int] = {}
            dry: dict[str, int] = {}
            for d in db.deliveries.values():
                status = str(d.status)
                counts[status] = counts.get(status, 0) + 1
                if d.dry_run:
                    dry[status] = dry.get(status, 0) + 1
            workers = tuple(sorted(db.workers.values(), key=lambda w: w.seen_at, reverse=True))
            return QueueSummary(counts, self.next_due(), workers, dry)

    # -- rows ----------------------------------------------------------------------------------
    def _set(self, db: _Database, delivery_id: int, values: Mapping[str, Any]) -> Delivery:
        d = replace(db.deliveries[delivery_id], **_utc(values))
        db.deliveries[delivery_id] = d
        return d

    def _log_attempt(self, db: _Database, d: Delivery, worker: str, r: Result) -> None:
        db.attempts.append(Attempt(
            db.new_id("attempt"), d.id, d.post_id, d.account, d.platform, worker,
            r.started_at.astimezone(UTC), r.finished_at.astimezone(UTC), Outcome(r.outcome),
            r.error_class, r.error_message, r.http_status, r.remote_id, r.remote_url, r.dry_run,
            json.loads(json.dumps(dict(r.detail))),  # what JSON columns keep, as they keep it
        ))  # fmt: skip


class MemoryWatcher(ChangeWatcher):
    """Sees writes other stores on the same database committed (as `PRAGMA data_version`)."""

    def __init__(self, store: MemoryStore) -> None:
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


def _post(post_id: int, row: Mapping[str, Any]) -> Post:
    return Post(
        id=post_id, key=row["key"], headline=row["headline"], teaser=row["teaser"],
        hashtags=tuple(row["hashtags"]), link=row["link"], language=row["language"],
        media=tuple(MediaItem(m["path"], m.get("alt", "")) for m in row["media"]),
        source=row["source"], content_hash=row["content_hash"], created_at=row["created_at"],
        updated_at=row["updated_at"],
    )  # fmt: skip


def _utc(values: Mapping[str, Any]) -> dict[str, Any]:
    """Datetimes as the SQL stores give them back: aware, in UTC (naive ones are refused)."""
    out = dict(values)
    for key, value in out.items():
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(f"{key}: a naive datetime ({value}); give it a time zone")
            out[key] = value.astimezone(UTC)
    return out
