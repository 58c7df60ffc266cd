"""The memory store's posts and their deliveries, by `rules.py`'s rules (as the SQL stores')."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from postbot.domain import (
    Attempt,
    Delivery,
    DryRunReset,
    ImportResult,
    Outcome,
    Post,
    Result,
    Status,
)
from postbot.errors import NotFound
from postbot.store import rules
from postbot.store.base import ConstraintError
from postbot.store.memory.db import Database, as_utc, post_record
from postbot.store.memory.threads import MemoryThreadOps

if TYPE_CHECKING:
    from postbot.drafts import Plan, Target


class MemoryPostOps(MemoryThreadOps):
    def enqueue(self, plan: Plan, due: datetime, now: datetime) -> int:
        with self._write(undo=True) as db:
            post_id = self._insert_post(db, plan, now)
            self._insert_deliveries(db, post_id, plan.targets, due, now, rules.initial_status(plan))
            return post_id

    def enqueue_many(self, items: Sequence[tuple[Plan, datetime]], now: datetime) -> list[int]:
        with self._write(undo=True) as db:
            ids = []
            for plan, due in items:
                ids.append(self._insert_post(db, plan, now))
                self._insert_deliveries(
                    db, ids[-1], plan.targets, due, now, rules.initial_status(plan)
                )
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
                    settled = sum(
                        d.status in rules.SETTLED and not d.dry_run for d in db.of_post(post_id)
                    ) + self._published_parts(db, post_id)
                action = rules.import_action(stored, new_hash, settled)
                if action == "created":
                    post_id = self._insert_post(db, plan, now)
                    self._insert_deliveries(
                        db, post_id, plan.targets, due or now, now, rules.initial_status(plan)
                    )
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

    def _insert_post(self, db: Database, plan: Plan, now: datetime) -> int:
        row = as_utc(rules.new_post(plan, now))
        if row["key"] in db.keys:
            raise ConstraintError(f"database refused the change: post key {row['key']!r} exists")
        post_id = db.new_id("post")
        db.posts[post_id] = post_record(post_id, row)
        db.keys[row["key"]] = post_id
        return post_id

    def _insert_deliveries(
        self,
        db: Database,
        post_id: int,
        targets: Iterable[Target],
        due: datetime,
        now: datetime,
        status: Status = Status.QUEUED,
    ) -> None:
        targets = tuple(targets)
        accounts = {d.account for d in db.of_post(post_id)}
        for row in rules.new_deliveries(post_id, targets, due, now, status):
            if row["account"] in accounts:
                raise ConstraintError(
                    f"database refused the change: post {post_id} goes to {row['account']} twice"
                )
            accounts.add(row["account"])
            delivery_id = db.new_id("delivery")
            db.deliveries[delivery_id] = Delivery(
                id=delivery_id, lease_owner=None, lease_expires_at=None, remote_id=None,
                remote_url=None, last_error=None, **as_utc(row),
            )  # fmt: skip
        self._insert_parts(db, post_id, targets)

    def _update_post(
        self, db: Database, post_id: int, plan: Plan, due: datetime | None, now: datetime
    ) -> None:
        old = db.posts[post_id]
        db.posts[post_id] = post_record(post_id, {"key": old.key, "created_at": old.created_at,
                                            "series_id": old.series_id,
                                            "occurrence_at": old.occurrence_at,
                                            "series_stopped_at": old.stopped_at,
                                            **as_utc(rules.post_values(plan, now))})  # fmt: skip
        existing = {
            d.account: rules.Existing(d.id, d.status, d.due_at, d.dry_run)
            for d in db.of_post(post_id)
        }
        change = rules.update_of(existing, plan, due, now)
        for delivery_id, values in change.rerendered:
            self._set(db, delivery_id, values)
        self._insert_deliveries(
            db, post_id, change.added, due or now, now, rules.initial_status(plan)
        )
        for delivery_id in change.cancelled:
            self._set(db, delivery_id, {"status": Status.CANCELLED, "updated_at": now})
        self._replace_parts(db, post_id, plan.targets)

    def find_post_by_key(self, key: str) -> Post | None:
        with self._read() as db:
            post_id = db.keys.get(key)
            return db.posts[post_id] if post_id is not None else None

    def get_post(self, post_id: int) -> Post:
        with self._read() as db:
            post = db.posts.get(post_id)
            if post is None:
                raise NotFound(f"no post with id {post_id}")
            return replace(post, deliveries=tuple(self._with_parts(db, db.of_post(post_id))))

    def get_delivery(self, delivery_id: int) -> Delivery:
        with self._read() as db:
            if delivery_id not in db.deliveries:
                raise NotFound(f"no delivery with id {delivery_id}")
            return self._with_parts(db, [db.deliveries[delivery_id]])[0]

    def list_posts(
        self, status: str | None = None, limit: int | None = None, key_prefix: str | None = None
    ) -> list[Post]:
        with self._read() as db:
            rows = sorted((d for d in db.deliveries.values() if not status or d.status == status
                           if not key_prefix or db.posts[d.post_id].key.startswith(key_prefix)),
                          key=lambda d: d.id)  # fmt: skip
            rows.sort(key=lambda d: d.due_at, reverse=True)  # stable: ids stay in order
            post_ids = list(dict.fromkeys(d.post_id for d in rows))[:limit]
            by_post: dict[int, list[Delivery]] = {i: [] for i in post_ids}
            for d in rows:
                if d.post_id in by_post:
                    by_post[d.post_id].append(d)
            return [replace(db.posts[i], deliveries=tuple(self._with_parts(db, by_post[i])))
                    for i in post_ids]  # fmt: skip

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
            self._forget_dry_parts(db, [d.id for d in dry])
            for d in dry:
                by_status[d.status] = by_status.get(d.status, 0) + 1
                values = {**rules.reset_values(), "next_attempt_at": d.due_at, "updated_at": now}
                self._set(db, d.id, values)
            return DryRunReset(len(dry), tuple(sorted({d.post_id for d in dry})), by_status)
