"""The queue side: claim due deliveries under a lease, record outcomes, heartbeats, status.

A claim is one UPDATE ... RETURNING over the due rows (skipping rows another worker holds on
PostgreSQL), committed before any network call. Every later change is guarded by the state
and lease it expects, so a worker that lost its lease changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection

from postbot.domain import MediaItem, Outcome, QueueSummary, Status, Worker
from postbot.store.posts import ATTEMPT, DELIVERY, POST
from postbot.store.tables import HeartbeatRow

HEARTBEAT = HeartbeatRow.__table__  # type: ignore[attr-defined]

# Statements run for every claim and every record, built once: SQLAlchemy then finds their
# compiled form by a cache key it has already computed.
_INSERT_ATTEMPT = insert(ATTEMPT)
_RECORD_DELIVERY = (
    update(DELIVERY)
    .where(
        DELIVERY.c.id == bindparam("b_id"),
        DELIVERY.c.status == Status.PUBLISHING,
        DELIVERY.c.lease_owner == bindparam("b_worker"),
    )
    .values(
        status=bindparam("b_status"),
        next_attempt_at=func.coalesce(
            bindparam("b_next", type_=DELIVERY.c.next_attempt_at.type),
            DELIVERY.c.next_attempt_at,
        ),
        remote_id=func.coalesce(bindparam("b_remote_id"), DELIVERY.c.remote_id),
        remote_url=func.coalesce(bindparam("b_remote_url"), DELIVERY.c.remote_url),
        last_error=bindparam("b_error"),
        lease_owner=None,
        lease_expires_at=None,
        updated_at=bindparam("b_now", type_=DELIVERY.c.updated_at.type),
    )
)
_CLAIMED_POSTS = select(
    POST.c.id, POST.c.language, POST.c.link, POST.c.hashtags, POST.c.media
).where(POST.c.id.in_(bindparam("ids", expanding=True)))
_CLAIM_STATEMENTS: dict[tuple[type, str, str, tuple[str, ...]], Any] = {}


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds, with what it needs to publish it."""

    delivery_id: int
    post_id: int
    account: str
    platform: str
    key: str
    text: str
    due_at: datetime
    attempts: int  # including this one
    created_at: datetime
    language: str | None
    link: str | None
    hashtags: tuple[str, ...]
    media: tuple[MediaItem, ...]


@dataclass
class Result:
    """What became of one claimed delivery; written by `record`."""

    delivery_id: int
    outcome: Outcome
    started_at: datetime
    finished_at: datetime
    status: Status  # the delivery's new status
    next_attempt_at: datetime | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    error_class: str | None = None
    error_message: str | None = None
    http_status: int | None = None
    dry_run: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


class QueueOps:
    """Mixed into Store; relies on its write()/read() transactions and claim lock clause."""

    def write(self) -> AbstractContextManager[Connection]:  # provided by Store
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Connection]:  # provided by Store
        raise NotImplementedError

    def claim_lock_clause(self) -> str:  # provided by Store
        raise NotImplementedError

    def claim_id_filter(self, candidates: str) -> str:  # provided by Store
        raise NotImplementedError

    def claim_due(
        self,
        worker: str,
        now: datetime,
        limit: int,
        lease: timedelta,
        *,
        only: Sequence[str] | None = None,
        skip: Sequence[str] = (),
    ) -> list[Claimed]:
        """Take up to `limit` due deliveries, oldest first, for `worker` until `now + lease`.

        `only` / `skip` restrict the claim to, or away from, some accounts (pacing).
        """
        where = "status = :queued AND next_attempt_at <= :now"
        accounts: dict[str, list[str]] = {}
        if only is not None:
            where += " AND account IN :only"
            accounts["only"] = list(only)
        if skip:
            where += " AND account NOT IN :skip"
            accounts["skip"] = list(skip)
        return self._claim(worker, now, limit, lease, where, "attempts + 1", accounts)

    def claim_expired(
        self, worker: str, now: datetime, limit: int, lease: timedelta
    ) -> list[Claimed]:
        """Take over deliveries whose worker died mid-publish (lease expired), to reconcile."""
        return self._claim(
            worker, now, limit, lease,
            "status = :publishing AND lease_expires_at < :now", "attempts",
        )  # fmt: skip

    def renew_leases(self, worker: str, ids: Sequence[int], until: datetime) -> int:
        """Keep holding deliveries whose publish is still running."""
        if not ids:
            return 0
        with self.write() as conn:
            return int(
                conn.execute(
                    update(DELIVERY)
                    .where(
                        DELIVERY.c.id.in_(list(ids)),
                        DELIVERY.c.status == Status.PUBLISHING,
                        DELIVERY.c.lease_owner == worker,
                    )
                    .values(lease_expires_at=until)
                ).rowcount
            )

    def _claim(
        self,
        worker: str,
        now: datetime,
        limit: int,
        lease: timedelta,
        where: str,
        attempts: str,
        accounts: dict[str, list[str]] | None = None,
    ) -> list[Claimed]:
        # `where` and `attempts` are fixed SQL fragments from the two callers above; account
        # names only ever arrive as bound parameters.
        accounts = accounts or {}
        statement = self._claim_statement(where, attempts, tuple(accounts))
        with self.write() as conn:
            rows = conn.execute(
                statement,
                {
                    "publishing": Status.PUBLISHING, "queued": Status.QUEUED,
                    "worker": worker, "now": now, "expires": now + lease, "limit": limit,
                    **accounts,
                },
            ).all()  # fmt: skip
            if not rows:
                return []
            posts = {
                p.id: p
                for p in conn.execute(_CLAIMED_POSTS, {"ids": list({r.post_id for r in rows})})
            }
        claimed = []
        for r in sorted(rows, key=lambda r: (r.due_at, r.id)):
            p = posts[r.post_id]
            claimed.append(
                Claimed(
                    r.id, r.post_id, r.account, r.platform, r.key, r.text, r.due_at,
                    r.attempts, r.created_at, p.language, p.link, tuple(p.hashtags or ()),
                    tuple(MediaItem(m["path"], m.get("alt", "")) for m in p.media or ()),
                )
            )  # fmt: skip
        return claimed

    def _claim_statement(self, where: str, attempts: str, accounts: tuple[str, ...]) -> Any:
        """The claim UPDATE for these fragments, built once per database kind and shape."""
        key = (type(self), where, attempts, accounts)
        statement = _CLAIM_STATEMENTS.get(key)
        if statement is not None:
            return statement
        candidates = f"""SELECT id FROM delivery
                           WHERE {where}
                           ORDER BY next_attempt_at, id
                           LIMIT :limit {self.claim_lock_clause()}"""
        # The re-check of `where` on the rows taken is wrapped in CASE so that no planner can
        # use it to pick an index: SQLite otherwise walks ix_delivery_status_next over every
        # due row (12 ms per claim with 100,000 due) instead of looking the few ids up by key.
        statement = text(
            f"""
            UPDATE delivery
               SET status = :publishing, lease_owner = :worker, lease_expires_at = :expires,
                   attempts = {attempts}, updated_at = :now
             WHERE {self.claim_id_filter(candidates)}
               AND CASE WHEN {where} THEN 1 ELSE 0 END = 1
            RETURNING id, post_id, account, platform, key, text, due_at, attempts, created_at
            """
        ).bindparams(
            bindparam("now", type_=DELIVERY.c.due_at.type),
            bindparam("expires", type_=DELIVERY.c.due_at.type),
            *(bindparam(name, expanding=True) for name in accounts),
        ).columns(
            DELIVERY.c.id, DELIVERY.c.post_id, DELIVERY.c.account, DELIVERY.c.platform,
            DELIVERY.c.key, DELIVERY.c.text, DELIVERY.c.due_at, DELIVERY.c.attempts,
            DELIVERY.c.created_at,
        )  # fmt: skip
        _CLAIM_STATEMENTS[key] = statement
        return statement

    def record(self, worker: str, results: Sequence[Result]) -> int:
        """Write the attempts and the deliveries' new states; returns how many applied.

        A result whose delivery this worker no longer holds (its lease expired and another
        worker took over) is logged as an attempt but changes no delivery.
        """
        if not results:
            return 0
        with self.write() as conn:
            conn.execute(
                _INSERT_ATTEMPT,
                [
                    {
                        "delivery_id": r.delivery_id, "worker": worker,
                        "started_at": r.started_at, "finished_at": r.finished_at,
                        "outcome": r.outcome, "error_class": r.error_class,
                        "error_message": r.error_message, "http_status": r.http_status,
                        "remote_id": r.remote_id, "remote_url": r.remote_url,
                        "dry_run": r.dry_run, "detail": r.detail,
                    }
                    for r in results
                ],
            )  # fmt: skip
            changed = conn.execute(
                _RECORD_DELIVERY,
                [
                    {
                        "b_id": r.delivery_id, "b_worker": worker, "b_status": r.status,
                        "b_next": r.next_attempt_at,
                        "b_remote_id": r.remote_id, "b_remote_url": r.remote_url,
                        "b_error": r.error_message, "b_now": r.finished_at,
                    }
                    for r in results
                ],
            ).rowcount  # fmt: skip
            return int(changed)

    def next_due(self) -> datetime | None:
        """The next due time of any queued delivery."""
        return self.next_due_for(())

    def next_due_for(self, skip: Sequence[str]) -> datetime | None:
        """The next due time among accounts not in `skip` (those wait for their pace)."""
        with self.read() as conn:
            query = select(func.min(DELIVERY.c.next_attempt_at)).where(
                DELIVERY.c.status == Status.QUEUED
            )
            if skip:
                query = query.where(DELIVERY.c.account.not_in(list(skip)))
            value: datetime | None = conn.execute(query).scalar()
            return value

    def recent_starts(self, accounts: Sequence[str], since: datetime) -> dict[str, list[datetime]]:
        """When each account's recent attempts started, plus publishes running right now."""
        if not accounts:
            return {}
        starts: dict[str, list[datetime]] = {a: [] for a in accounts}
        with self.read() as conn:
            attempts = conn.execute(
                select(DELIVERY.c.account, ATTEMPT.c.started_at)
                .join(DELIVERY, DELIVERY.c.id == ATTEMPT.c.delivery_id)
                .where(ATTEMPT.c.started_at > since, DELIVERY.c.account.in_(list(accounts)))
            )
            running = conn.execute(
                select(DELIVERY.c.account, DELIVERY.c.updated_at).where(
                    DELIVERY.c.status == Status.PUBLISHING,
                    DELIVERY.c.account.in_(list(accounts)),
                )
            )
            for account, started in [*attempts, *running]:
                starts[account].append(started)
        return starts

    def mark_missed(self, account: str, cutoff: datetime, now: datetime) -> int:
        """First attempts due before `cutoff` are stale: `missed`, not published."""
        with self.write() as conn:
            return int(
                conn.execute(
                    update(DELIVERY)
                    .where(
                        DELIVERY.c.status == Status.QUEUED,
                        DELIVERY.c.account == account,
                        DELIVERY.c.attempts == 0,
                        DELIVERY.c.next_attempt_at < cutoff,
                    )
                    .values(
                        status=Status.MISSED,
                        updated_at=now,
                        last_error="missed: overdue by more than max_lateness; not published",
                    )
                ).rowcount
            )

    # -- daemon liveness -----------------------------------------------------------------
    def beat(self, worker: str, host: str, pid: int, dry_run: bool, now: datetime) -> None:
        with self.write() as conn:
            changed = conn.execute(
                update(HEARTBEAT).where(HEARTBEAT.c.worker == worker).values(seen_at=now)
            ).rowcount
            if not changed:
                conn.execute(
                    insert(HEARTBEAT),
                    {"worker": worker, "host": host, "pid": pid, "dry_run": dry_run,
                     "started_at": now, "seen_at": now},
                )  # fmt: skip

    def forget_worker(self, worker: str) -> None:
        with self.write() as conn:
            conn.execute(delete(HEARTBEAT).where(HEARTBEAT.c.worker == worker))

    def status_summary(self) -> QueueSummary:
        with self.read() as conn:
            counts = {
                s: n
                for s, n in conn.execute(
                    select(DELIVERY.c.status, func.count()).group_by(DELIVERY.c.status)
                )
            }
            next_due = conn.execute(
                select(func.min(DELIVERY.c.next_attempt_at)).where(
                    DELIVERY.c.status == Status.QUEUED
                )
            ).scalar()
            workers = tuple(
                Worker(**r)
                for r in conn.execute(
                    select(HEARTBEAT).order_by(HEARTBEAT.c.seen_at.desc())
                ).mappings()
            )
        return QueueSummary(counts, next_due, workers)
