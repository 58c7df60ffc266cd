"""The queue side in SQL: claim due deliveries under a lease, record outcomes, heartbeats, status.

A claim is one UPDATE ... RETURNING over the due rows (skipping rows another worker holds on
PostgreSQL), committed before any network call. A claim under a pace counts the account's
recent starts and claims in the same transaction, under the account's pace lock, so workers
together never exceed the budget. Every later change is guarded by the state and lease it
expects, so a worker that lost its lease changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.engine import Connection

from postbot.domain import (
    Claimed,
    MediaItem,
    PacedClaim,
    PaceState,
    Result,
    Status,
)
from postbot.pacing import pace_after, pace_room, pace_state
from postbot.store import rules
from postbot.store.bulk import insert_rows, run_many
from postbot.store.posts import ATTEMPT, DELIVERY, POST
from postbot.store.threads import ThreadOps

if TYPE_CHECKING:
    from postbot.pacing import Pace

T = TypeVar("T")

# Statements run for every claim and every record, built once: SQLAlchemy then finds their
# compiled form by a cache key it has already computed (the record's, `run_many` keeps).
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
        dry_run=bindparam("b_dry_run"),
        lease_owner=None,
        lease_expires_at=None,
        updated_at=bindparam("b_now", type_=DELIVERY.c.updated_at.type),
    )
)
_CLAIMED_POSTS = select(
    POST.c.id, POST.c.language, POST.c.link, POST.c.hashtags, POST.c.media
).where(POST.c.id.in_(bindparam("ids", expanding=True)))
_CLAIM_STATEMENTS: dict[tuple[type, str, str, str, tuple[str, ...]], Any] = {}
# A pace budget: the latest starts of one account's attempts (of one kind) within its period,
# its running publishes, and (when it is used up) how many due deliveries wait for it.
_RECENT_STARTS = (
    select(ATTEMPT.c.started_at)
    .join(DELIVERY, DELIVERY.c.id == ATTEMPT.c.delivery_id)
    .where(
        # `account || ''`, not `account`: so that SQLite goes from the attempts in the pace's
        # window (their started_at index) to their deliveries, rather than walking every
        # delivery the account ever had through the (account, status, updated_at) index.
        DELIVERY.c.account + "" == bindparam("account"),
        ATTEMPT.c.started_at > bindparam("since", type_=ATTEMPT.c.started_at.type),
        ATTEMPT.c.dry_run == bindparam("dry_run"),
    )
    .order_by(ATTEMPT.c.started_at.desc())
    .limit(bindparam("count"))
)
_RUNNING = select(DELIVERY.c.updated_at).where(
    DELIVERY.c.status == Status.PUBLISHING,
    DELIVERY.c.account == bindparam("account"),
    DELIVERY.c.dry_run == bindparam("dry_run"),
)
_DUE = select(func.count()).where(
    DELIVERY.c.status == Status.QUEUED,
    DELIVERY.c.account == bindparam("account"),
    DELIVERY.c.next_attempt_at <= bindparam("now", type_=DELIVERY.c.next_attempt_at.type),
)


class QueueOps(ThreadOps):
    """Mixed into SQLStore; relies on its transactions and dialect hooks."""

    def write(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def write_retried(self, work: Callable[[Connection], T]) -> T:  # provided by SQLStore
        raise NotImplementedError

    def claim_lock_clause(self) -> str:  # provided by SQLStore
        raise NotImplementedError

    def claim_id_filter(self, candidates: str) -> str:  # provided by SQLStore
        raise NotImplementedError

    def lock_pace(self, conn: Connection, account: str, dry_run: bool) -> None:  # SQLStore's
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
        dry_run: bool = False,
    ) -> list[Claimed]:
        with self.write() as conn:
            return self._claim_due(conn, worker, now, limit, lease, only, skip, dry_run)

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
        with self.write() as conn:
            self.lock_pace(conn, account, dry_run)
            starts = self._starts(conn, account, pace, now, dry_run)
            take = pace_room(account, pace, starts, now, limit)
            claimed = (
                self._claim_due(conn, worker, now, take, lease, [account], (), dry_run)
                if take > 0
                else []
            )
            after = pace_after(
                account, pace, starts, len(claimed), now, lambda: self._due(conn, account, now)
            )
        return PacedClaim(tuple(claimed), after)

    def claim_expired(
        self, worker: str, now: datetime, limit: int, lease: timedelta, *, dry_run: bool = False
    ) -> list[Claimed]:
        where = "status = :publishing AND lease_expires_at < :now"
        if dry_run:
            where += " AND dry_run = :dry_run"
        with self.write() as conn:
            # Taking over keeps `dry_run` as the dead worker left it: it says what that worker
            # may have sent (a dry run: nothing).
            return self._claim(
                conn, worker, now, limit, lease, where, "attempts", "dry_run", dry_run, {}
            )

    def renew_leases(self, worker: str, ids: Sequence[int], until: datetime) -> int:
        """Keep holding deliveries whose publish is still running.

        On PostgreSQL the rows are locked in id order and a row locked right now is skipped:
        whoever holds it (this worker recording its outcome, another taking over an expired
        lease) changes it anyway, and the renewal never waits, so it can never deadlock
        with a record.
        """
        if not ids:
            return 0
        held = (
            "SELECT id FROM delivery WHERE id IN :ids AND status = :publishing"
            f" AND lease_owner = :worker ORDER BY id {self.claim_lock_clause()}"
        )
        statement = text(
            f"UPDATE delivery SET lease_expires_at = :until WHERE {self.claim_id_filter(held)}"
        ).bindparams(
            bindparam("ids", expanding=True),
            bindparam("until", type_=DELIVERY.c.lease_expires_at.type),
        )
        values = {"until": until, "ids": sorted(ids), "publishing": Status.PUBLISHING,
                  "worker": worker}  # fmt: skip
        return self.write_retried(lambda conn: int(conn.execute(statement, values).rowcount))

    def _claim_due(
        self,
        conn: Connection,
        worker: str,
        now: datetime,
        limit: int,
        lease: timedelta,
        only: Sequence[str] | None,
        skip: Sequence[str],
        dry_run: bool,
    ) -> list[Claimed]:
        where = "status = :queued AND next_attempt_at <= :now"
        accounts: dict[str, list[str]] = {}
        if only is not None:
            where += " AND account IN :only"
            accounts["only"] = list(only)
        if skip:
            where += " AND account NOT IN :skip"
            accounts["skip"] = list(skip)
        return self._claim(
            conn, worker, now, limit, lease, where, "attempts + 1", ":dry_run", dry_run, accounts
        )

    def _claim(
        self,
        conn: Connection,
        worker: str,
        now: datetime,
        limit: int,
        lease: timedelta,
        where: str,
        attempts: str,
        dry_run_value: str,
        dry_run: bool,
        accounts: dict[str, list[str]],
    ) -> list[Claimed]:
        # `where`, `attempts` and `dry_run_value` are fixed SQL fragments from the callers
        # above; account names only ever arrive as bound parameters.
        statement = self._claim_statement(where, attempts, dry_run_value, tuple(accounts))
        rows = conn.execute(
            statement,
            {
                "publishing": Status.PUBLISHING, "queued": Status.QUEUED, "worker": worker,
                "now": now, "expires": now + lease, "limit": limit, "dry_run": dry_run,
                **accounts,
            },
        ).all()  # fmt: skip
        return self._claimed(conn, rows)

    def _claimed(self, conn: Connection, rows: Sequence[Any]) -> list[Claimed]:
        """The claimed rows (id, post_id, account, platform, key, text, due_at, attempts,
        created_at, dry_run, part_count) with their posts' content and parts, in due order."""
        if not rows:
            return []
        # Each post's content once (a post's deliveries to several accounts share it), and the
        # rows read as tuples: this runs for every delivery the daemon publishes.
        content = {
            post_id: (language, link, tuple(hashtags or ()),
                      tuple(MediaItem(m["path"], m.get("alt", "")) for m in media or ()))
            for post_id, language, link, hashtags, media in conn.execute(
                _CLAIMED_POSTS, {"ids": list({r.post_id for r in rows})}
            )
        }  # fmt: skip
        threads = [r.id for r in rows if r.part_count is None or r.part_count > 1]
        parts = self._parts_of(conn, threads) if threads else {}
        claimed = []
        for (delivery_id, post_id, account, platform, key, text_, due_at, attempts, created_at,
             dry_run, part_count) in sorted(rows, key=lambda r: (r.due_at, r.id)):  # fmt: skip
            claimed.append(
                Claimed(
                    delivery_id, post_id, account, platform, key, text_, due_at, attempts,
                    created_at, *content[post_id], bool(dry_run), part_count,
                    parts.get(delivery_id, ()),
                )
            )  # fmt: skip
        return claimed

    def _claim_statement(
        self, where: str, attempts: str, dry_run: str, accounts: tuple[str, ...]
    ) -> Any:
        """The claim UPDATE for these fragments, built once per database kind and shape."""
        key = (type(self), where, attempts, dry_run, accounts)
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
                   attempts = {attempts}, dry_run = {dry_run}, updated_at = :now
             WHERE {self.claim_id_filter(candidates)}
               AND CASE WHEN {where} THEN 1 ELSE 0 END = 1
            RETURNING id, post_id, account, platform, key, text, due_at, attempts, created_at,
                      dry_run, part_count
            """
        ).bindparams(
            bindparam("now", type_=DELIVERY.c.due_at.type),
            bindparam("expires", type_=DELIVERY.c.due_at.type),
            *([bindparam("dry_run", type_=DELIVERY.c.dry_run.type)]
              if ":dry_run" in where + dry_run else []),
            *(bindparam(name, expanding=True) for name in accounts),
        ).columns(
            DELIVERY.c.id, DELIVERY.c.post_id, DELIVERY.c.account, DELIVERY.c.platform,
            DELIVERY.c.key, DELIVERY.c.text, DELIVERY.c.due_at, DELIVERY.c.attempts,
            DELIVERY.c.created_at, DELIVERY.c.dry_run, DELIVERY.c.part_count,
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
        # In delivery id order, as every write that locks several deliveries does, so that two
        # of them never wait for each other (PostgreSQL would abort one as a deadlock).
        results = sorted(results, key=lambda r: r.delivery_id)
        logged = [r for r in results if r.logged]  # a thread's last part: logged with the part
        attempts = [
            {
                "delivery_id": r.delivery_id, "worker": worker,
                "started_at": r.started_at, "finished_at": r.finished_at,
                "outcome": r.outcome, "error_class": r.error_class,
                "error_message": r.error_message, "http_status": r.http_status,
                "remote_id": r.remote_id, "remote_url": r.remote_url,
                "dry_run": r.dry_run, "detail": r.detail,
            }
            for r in logged
        ]  # fmt: skip
        outcomes = [
            {
                "b_id": r.delivery_id, "b_worker": worker, "b_status": r.status,
                "b_next": r.next_attempt_at,
                "b_remote_id": r.remote_id, "b_remote_url": r.remote_url,
                "b_error": r.error_message, "b_now": r.finished_at,
                "b_dry_run": r.dry_run,
            }
            for r in results
        ]  # fmt: skip

        def write(conn: Connection) -> int:
            insert_rows(conn, ATTEMPT, attempts)
            return run_many(conn, _RECORD_DELIVERY, outcomes)

        return self.write_retried(write)

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

    def next_due_by_account(self) -> dict[str, datetime]:
        with self.read() as conn:
            rows = conn.execute(
                select(DELIVERY.c.account, func.min(DELIVERY.c.next_attempt_at))
                .where(DELIVERY.c.status == Status.QUEUED)
                .group_by(DELIVERY.c.account)
            )
            return {account: due for account, due in rows}

    def pace_states(
        self, paces: Mapping[str, Pace], now: datetime, *, dry_run: bool = False
    ) -> dict[str, PaceState]:
        with self.read() as conn:
            return {
                account: pace_state(
                    account, pace, self._starts(conn, account, pace, now, dry_run), now,
                    self._due(conn, account, now),
                )
                for account, pace in paces.items()
            }  # fmt: skip

    def _starts(
        self, conn: Connection, account: str, pace: Pace, now: datetime, dry_run: bool
    ) -> list[datetime]:
        """When the account's latest attempts (at most `pace.count`) within its period started,
        and when its running publishes were claimed: of one kind, live or dry run."""
        attempts = conn.execute(
            _RECENT_STARTS, {"account": account, "since": now - pace.period, "dry_run": dry_run,
                             "count": pace.count},
        ).scalars()  # fmt: skip
        running = conn.execute(_RUNNING, {"account": account, "dry_run": dry_run}).scalars()
        return [*attempts, *running]

    def _due(self, conn: Connection, account: str, now: datetime) -> int:
        return int(conn.execute(_DUE, {"account": account, "now": now}).scalar_one())

    def mark_missed(
        self, account: str, cutoff: datetime, now: datetime, *, dry_run: bool = False
    ) -> int:
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
                        status=Status.MISSED, updated_at=now, last_error=rules.MISSED_NOTE,
                        dry_run=dry_run,
                    )
                ).rowcount
            )  # fmt: skip
