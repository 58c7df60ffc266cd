"""Posts and their deliveries: enqueue, import, read, cancel, reschedule, retry.

Every method is one transaction: either all of it happens or none of it does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from postbot.domain import Attempt, Delivery, MediaItem, Outcome, Post, Status
from postbot.errors import NotFound, StateError
from postbot.store.tables import AttemptRow, DeliveryRow, PostRow

if TYPE_CHECKING:
    from postbot.drafts import Plan

POST = PostRow.__table__  # type: ignore[attr-defined]
DELIVERY = DeliveryRow.__table__  # type: ignore[attr-defined]
ATTEMPT = AttemptRow.__table__  # type: ignore[attr-defined]

# Deliveries in these states no longer follow edits of their post file.
SETTLED = (Status.PUBLISHED, Status.PUBLISHING, Status.UNKNOWN)


@dataclass(frozen=True)
class ImportResult:
    post_id: int | None
    key: str
    action: str  # created | updated | unchanged | conflict
    message: str = ""


class PostOps:
    """Mixed into Store; relies on its write()/read() transactions and notify hook."""

    def write(self) -> AbstractContextManager[Connection]:  # provided by Store
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Connection]:  # provided by Store
        raise NotImplementedError

    def notify_enqueued(self, conn: Connection) -> None:  # provided by Store
        raise NotImplementedError

    # -- creating ------------------------------------------------------------------------
    def enqueue(self, plan: Plan, due: datetime, now: datetime) -> int:
        with self.write() as conn:
            post_id = self._insert_post(conn, plan, now)
            self._insert_deliveries(conn, post_id, plan, due, now)
            self.notify_enqueued(conn)
            return post_id

    def enqueue_many(self, items: Sequence[tuple[Plan, datetime]], now: datetime) -> list[int]:
        """Many posts in one transaction (bulk import, benchmarks)."""
        with self.write() as conn:
            ids = self._insert_many(conn, items, now)
            self.notify_enqueued(conn)
            return ids

    def import_plans(
        self, items: Sequence[tuple[Plan, datetime | None]], now: datetime
    ) -> list[ImportResult]:
        """Idempotent import by key. `due` None means: keep the stored due time."""
        results: list[ImportResult] = []
        with self.write() as conn:
            keys = [plan.draft.key or "" for plan, _ in items]
            known = {
                row.key
                for chunk in _chunks(list(dict.fromkeys(keys)), 500)
                for row in conn.execute(select(POST.c.key).where(POST.c.key.in_(chunk)))
            }
            # Runs of posts never imported before are written together; the rest one by one,
            # in the same order as ever (so ids come out as they always did).
            run: list[tuple[Plan, datetime]] = []

            def flush() -> None:
                for (plan, _), post_id in zip(run, self._insert_many(conn, run, now), strict=True):
                    results.append(ImportResult(post_id, plan.draft.key or "", "created"))
                run.clear()

            for key, (plan, due) in zip(keys, items, strict=True):
                if key in known:
                    flush()
                    results.append(self._import_one(conn, plan, due, now))
                else:
                    known.add(key)  # a key repeated in this import is then an update
                    run.append((plan, due or now))
            flush()
            self.notify_enqueued(conn)
        return results

    def find_post_by_key(self, key: str) -> Post | None:
        """The post stored under `key`, without its deliveries; None if there is none."""
        with self.read() as conn:
            row = conn.execute(select(POST).where(POST.c.key == key)).mappings().first()
            return post_record(row) if row else None

    def _import_one(
        self, conn: Connection, plan: Plan, due: datetime | None, now: datetime
    ) -> ImportResult:
        key = plan.draft.key or ""
        row = conn.execute(select(POST.c.id, POST.c.content_hash).where(POST.c.key == key)).first()
        if row is None:
            post_id = self._insert_post(conn, plan, now)
            self._insert_deliveries(conn, post_id, plan, due or now, now)
            return ImportResult(post_id, key, "created")
        post_id, stored_hash = row
        if stored_hash == plan.draft.content_hash():
            return ImportResult(post_id, key, "unchanged")
        settled = conn.execute(
            select(func.count())
            .select_from(DELIVERY)
            .where(DELIVERY.c.post_id == post_id, DELIVERY.c.status.in_(SETTLED))
        ).scalar_one()
        if settled:
            return ImportResult(
                post_id, key, "conflict",
                f"post {post_id} is already published or publishing; the change is not applied",
            )  # fmt: skip
        self._update_post(conn, post_id, plan, due, now)
        return ImportResult(post_id, key, "updated")

    def _insert_post(self, conn: Connection, plan: Plan, now: datetime) -> int:
        post_id: int = conn.execute(
            insert(POST).returning(POST.c.id), _post_row(plan, now)
        ).scalar_one()
        return post_id

    def _insert_deliveries(
        self, conn: Connection, post_id: int, plan: Plan, due: datetime, now: datetime
    ) -> None:
        conn.execute(insert(DELIVERY), _delivery_rows(post_id, plan, due, now))

    def _insert_many(
        self, conn: Connection, items: Sequence[tuple[Plan, datetime]], now: datetime
    ) -> list[int]:
        """Posts and their deliveries in two statements; the post ids in the items' order."""
        if not items:
            return []
        ids: list[int] = list(
            conn.execute(
                insert(POST).returning(POST.c.id, sort_by_parameter_order=True),
                [_post_row(plan, now) for plan, _ in items],
            ).scalars()
        )
        rows = [
            row
            for post_id, (plan, due) in zip(ids, items, strict=True)
            for row in _delivery_rows(post_id, plan, due, now)
        ]
        if rows:
            conn.execute(insert(DELIVERY), rows)
        return ids

    def _update_post(
        self, conn: Connection, post_id: int, plan: Plan, due: datetime | None, now: datetime
    ) -> None:
        """A changed post file: new content, re-rendered deliveries; gone targets cancelled."""
        draft = plan.draft
        conn.execute(
            update(POST)
            .where(POST.c.id == post_id)
            .values(
                headline=draft.headline, teaser=draft.teaser, hashtags=list(draft.hashtags),
                link=draft.link, language=draft.language,
                media=[{"path": m.path, "alt": m.alt} for m in draft.media],
                source=draft.source, content_hash=draft.content_hash(), updated_at=now,
            )
        )  # fmt: skip
        existing = {
            r.account: r
            for r in conn.execute(
                select(
                    DELIVERY.c.id, DELIVERY.c.account, DELIVERY.c.status, DELIVERY.c.due_at
                ).where(DELIVERY.c.post_id == post_id)
            )
        }
        wanted = {t.account: t for t in plan.targets}
        for account, target in wanted.items():
            row = existing.get(account)
            if row is None:
                one = type(plan)(plan.draft, (target,))
                self._insert_deliveries(conn, post_id, one, due or now, now)
                continue
            new_due = due or row.due_at
            conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id == row.id)
                .values(
                    text=target.text, status=Status.QUEUED, due_at=new_due,
                    next_attempt_at=new_due, last_error=None, updated_at=now,
                )
            )  # fmt: skip
        for account, row in existing.items():
            if account not in wanted and row.status == Status.QUEUED:
                conn.execute(
                    update(DELIVERY)
                    .where(DELIVERY.c.id == row.id)
                    .values(status=Status.CANCELLED, updated_at=now)
                )

    # -- reading -------------------------------------------------------------------------
    def get_post(self, post_id: int) -> Post:
        with self.read() as conn:
            post = conn.execute(select(POST).where(POST.c.id == post_id)).mappings().first()
            if post is None:
                raise NotFound(f"no post with id {post_id}")
            deliveries = conn.execute(
                select(DELIVERY).where(DELIVERY.c.post_id == post_id).order_by(DELIVERY.c.id)
            ).mappings()
            return post_record(post, [delivery_record(d) for d in deliveries])

    def list_posts(self, status: str | None = None, limit: int | None = None) -> list[Post]:
        """Posts with their deliveries, newest due first; `status` filters deliveries."""
        with self.read() as conn:
            query = select(DELIVERY).order_by(DELIVERY.c.due_at.desc(), DELIVERY.c.id)
            if status:
                query = query.where(DELIVERY.c.status == status)
            deliveries = [delivery_record(d) for d in conn.execute(query).mappings()]
            post_ids = list(dict.fromkeys(d.post_id for d in deliveries))
            if limit is not None:
                post_ids = post_ids[:limit]
            rows = {
                p["id"]: p
                for chunk in _chunks(post_ids, 500)
                for p in conn.execute(select(POST).where(POST.c.id.in_(chunk))).mappings()
            }
        by_post: dict[int, list[Delivery]] = {i: [] for i in post_ids}
        for d in deliveries:
            if d.post_id in by_post:
                by_post[d.post_id].append(d)
        return [post_record(rows[i], by_post[i]) for i in post_ids]

    def attempts(self, post_id: int | None = None, limit: int = 200) -> list[Attempt]:
        with self.read() as conn:
            query = (
                select(ATTEMPT, DELIVERY.c.post_id, DELIVERY.c.account, DELIVERY.c.platform)
                .join(DELIVERY, DELIVERY.c.id == ATTEMPT.c.delivery_id)
                .order_by(ATTEMPT.c.id.desc())
                .limit(limit)
            )
            if post_id is not None:
                query = query.where(DELIVERY.c.post_id == post_id)
            rows = [attempt_record(r) for r in conn.execute(query).mappings()]
            return rows[::-1]

    # -- changing ------------------------------------------------------------------------
    def cancel(self, post_id: int, now: datetime) -> int:
        return self._transition(post_id, (Status.QUEUED,), now, "cancel", status=Status.CANCELLED)

    def reschedule(self, post_id: int, due: datetime, now: datetime) -> int:
        return self._transition(
            post_id, (Status.QUEUED, Status.MISSED), now, "reschedule",
            status=Status.QUEUED, due_at=due, next_attempt_at=due,
        )  # fmt: skip

    def retry(self, post_id: int, now: datetime) -> int:
        """Publish again, on purpose: failed, unknown and missed deliveries go back in the queue."""
        return self._transition(
            post_id, (Status.FAILED, Status.UNKNOWN, Status.MISSED), now, "retry",
            status=Status.QUEUED, next_attempt_at=now, attempts=0, last_error=None,
        )  # fmt: skip

    def resolve(self, post_id: int, url: str, now: datetime, account: str | None = None) -> int:
        """A person found an `unknown` delivery on the platform: record it as published."""
        with self.write() as conn:
            query = select(DELIVERY.c.id, DELIVERY.c.account).where(
                DELIVERY.c.post_id == post_id, DELIVERY.c.status == Status.UNKNOWN
            )
            if account:
                query = query.where(DELIVERY.c.account == account)
            rows = conn.execute(query).all()
            if not rows:
                self.get_post(post_id)  # NotFound for an unknown id
                raise StateError(f"post {post_id} has no delivery in state unknown to resolve")
            if len(rows) > 1:
                names = ", ".join(r.account for r in rows)
                raise StateError(f"post {post_id} is unknown on {names}: say which with --to")
            [(delivery_id, _)] = rows
            remote_id = url.rstrip("/").rsplit("/", 1)[-1]
            conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id == delivery_id, DELIVERY.c.status == Status.UNKNOWN)
                .values(
                    status=Status.PUBLISHED, remote_url=url, remote_id=remote_id,
                    last_error=None, updated_at=now,
                )
            )  # fmt: skip
            conn.execute(
                insert(ATTEMPT),
                {
                    "delivery_id": delivery_id, "worker": "postbot resolve", "started_at": now,
                    "finished_at": now, "outcome": "published", "remote_id": remote_id,
                    "remote_url": url, "dry_run": False, "detail": {"resolved_by": "a person"},
                },
            )  # fmt: skip
            return delivery_id

    def _transition(
        self, post_id: int, allowed: tuple[Status, ...], now: datetime, verb: str, **values: Any
    ) -> int:
        with self.write() as conn:
            statuses = [
                r.status
                for r in conn.execute(
                    select(DELIVERY.c.status).where(DELIVERY.c.post_id == post_id)
                )
            ]
            if not statuses:
                raise NotFound(f"no post with id {post_id}")
            changed = conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.post_id == post_id, DELIVERY.c.status.in_(allowed))
                .values(updated_at=now, **values)
            ).rowcount
            if not changed:
                have = ", ".join(sorted(set(statuses)))
                want = " or ".join(allowed)
                raise StateError(
                    f"cannot {verb} post {post_id}: its deliveries are {have} (needs {want})"
                )
            self.notify_enqueued(conn)
            return int(changed)


# -- rows -> records ------------------------------------------------------------------------------
def post_record(row: Any, deliveries: Sequence[Delivery] = ()) -> Post:
    return Post(
        id=row["id"],
        key=row["key"],
        headline=row["headline"],
        teaser=row["teaser"],
        hashtags=tuple(row["hashtags"] or ()),
        link=row["link"],
        language=row["language"],
        media=tuple(MediaItem(m["path"], m.get("alt", "")) for m in row["media"] or ()),
        source=row["source"],
        content_hash=row["content_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deliveries=tuple(deliveries),
    )


def delivery_record(row: Any) -> Delivery:
    return Delivery(
        id=row["id"],
        post_id=row["post_id"],
        account=row["account"],
        platform=row["platform"],
        key=row["key"],
        text=row["text"],
        status=Status(row["status"]),
        due_at=row["due_at"],
        next_attempt_at=row["next_attempt_at"],
        attempts=row["attempts"],
        lease_owner=row["lease_owner"],
        lease_expires_at=row["lease_expires_at"],
        remote_id=row["remote_id"],
        remote_url=row["remote_url"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def attempt_record(row: Any) -> Attempt:
    return Attempt(
        id=row["id"],
        delivery_id=row["delivery_id"],
        post_id=row["post_id"],
        account=row["account"],
        platform=row["platform"],
        worker=row["worker"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        outcome=Outcome(row["outcome"]),
        error_class=row["error_class"],
        error_message=row["error_message"],
        http_status=row["http_status"],
        remote_id=row["remote_id"],
        remote_url=row["remote_url"],
        dry_run=bool(row["dry_run"]),
        detail=dict(row["detail"] or {}),
    )


# -- records -> rows ------------------------------------------------------------------------------
def _post_row(plan: Plan, now: datetime) -> dict[str, Any]:
    draft = plan.draft
    return {
        "key": draft.key or f"cli:{uuid.uuid4()}",
        "headline": draft.headline,
        "teaser": draft.teaser,
        "hashtags": list(draft.hashtags),
        "link": draft.link,
        "language": draft.language,
        "media": [{"path": m.path, "alt": m.alt} for m in draft.media],
        "source": draft.source,
        "content_hash": draft.content_hash(),
        "created_at": now,
        "updated_at": now,
    }


def _delivery_rows(post_id: int, plan: Plan, due: datetime, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "post_id": post_id,
            "account": t.account,
            "platform": t.platform,
            "key": uuid.uuid4().hex,
            "text": t.text,
            "status": Status.QUEUED,
            "due_at": due,
            "next_attempt_at": due,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for t in plan.targets
    ]


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
