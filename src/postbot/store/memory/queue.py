"""The memory store's queue: claims (paced ones too), records, leases, heartbeats, status."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from postbot.domain import (
    Claimed,
    Delivery,
    PacedClaim,
    PaceState,
    QueueSummary,
    Result,
    Status,
    Worker,
)
from postbot.pacing import pace_after, pace_room, pace_state
from postbot.store import rules
from postbot.store.base import ConstraintError
from postbot.store.memory.db import Database
from postbot.store.memory.threads import MemoryThreadOps

if TYPE_CHECKING:
    from postbot.pacing import Pace


class MemoryQueueOps(MemoryThreadOps):
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
            take = pace_room(account, pace, starts, now, limit)
            claimed = self._claim_due(db, worker, now, take, lease, [account], (), dry_run)
            after = pace_after(
                account, pace, starts, len(claimed), now, lambda: self._due(db, account, now)
            )
        return PacedClaim(tuple(claimed), after)

    def _claim_due(
        self,
        db: Database,
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
        db: Database,
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
                d.part_count, db.parts.get(d.id, ()),
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
                if r.logged:  # a thread's last part is logged with the part already
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
        self, db: Database, account: str, pace: Pace, now: datetime, dry_run: bool
    ) -> list[datetime]:
        since = now - pace.period
        attempts = sorted((a.started_at for a in db.attempts if a.account == account
                           and a.started_at > since and a.dry_run == dry_run),
                          reverse=True)[: pace.count]  # fmt: skip
        running = [d.updated_at for d in db.deliveries.values() if d.account == account
                   and d.status == Status.PUBLISHING and d.dry_run == dry_run]  # fmt: skip
        return [*attempts, *running]

    def _due(self, db: Database, account: str, now: datetime) -> int:
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

    def workers(self) -> tuple[Worker, ...]:
        with self._read() as db:
            return tuple(sorted(db.workers.values(), key=lambda w: w.seen_at, reverse=True))

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
