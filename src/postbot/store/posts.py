"""Posts and their deliveries in SQL: enqueue, import, read, cancel, reschedule, retry, resolve,
and going live after a dry run. The rules these follow are `rules.py`'s, shared with every
store; this module only says them in SQL.

Every method is one transaction: either all of it happens or none of it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from postbot.domain import (
    Attempt,
    Delivery,
    DryRunReset,
    ImportResult,
    MediaItem,
    Outcome,
    Post,
    Status,
)
from postbot.errors import NotFound
from postbot.store import rules
from postbot.store.bulk import chunks, ids_by_key, insert_rows
from postbot.store.tables import AttemptRow, DeliveryRow, PostRow
from postbot.store.threads import ThreadOps
from postbot.variants import from_json as variants_from_json

if TYPE_CHECKING:
    from postbot.drafts import Plan

POST = PostRow.__table__  # type: ignore[attr-defined]
DELIVERY = DeliveryRow.__table__  # type: ignore[attr-defined]
ATTEMPT = AttemptRow.__table__  # type: ignore[attr-defined]


class PostOps(ThreadOps):
    """Mixed into SQLStore; relies on its write()/read() transactions and notify hook."""

    def write(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def notify_enqueued(self, conn: Connection) -> None:  # provided by SQLStore
        raise NotImplementedError

    def make_room(self, conn: Connection, rows: int) -> None:  # provided by SQLStore
        raise NotImplementedError

    # -- creating ------------------------------------------------------------------------
    def enqueue(self, plan: Plan, due: datetime, now: datetime) -> int:
        with self.write() as conn:
            post_id = self._insert_post(conn, plan, now)
            self._insert_deliveries(conn, post_id, plan, due, now)
            self.notify_enqueued(conn)
            return post_id

    def enqueue_many(self, items: Sequence[tuple[Plan, datetime]], now: datetime) -> list[int]:
        with self.write() as conn:
            ids = self._insert_many(conn, items, now)
            self.notify_enqueued(conn)
            return ids

    def import_plans(
        self, items: Sequence[tuple[Plan, datetime | None]], now: datetime
    ) -> list[ImportResult]:
        results: list[ImportResult] = []
        with self.write() as conn:
            keys = [plan.draft.key or "" for plan, _ in items]
            known = {
                row.key
                for chunk in chunks(list(dict.fromkeys(keys)), 500)
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
        with self.read() as conn:
            row = conn.execute(select(POST).where(POST.c.key == key)).mappings().first()
            return post_record(row) if row else None

    def _import_one(
        self, conn: Connection, plan: Plan, due: datetime | None, now: datetime
    ) -> ImportResult:
        key = plan.draft.key or ""
        row = conn.execute(select(POST.c.id, POST.c.content_hash).where(POST.c.key == key)).first()
        post_id, stored_hash = row if row is not None else (None, None)
        settled = 0
        if post_id is not None and stored_hash != plan.draft.content_hash():
            settled = conn.execute(
                select(func.count())
                .select_from(DELIVERY)
                .where(
                    DELIVERY.c.post_id == post_id,
                    DELIVERY.c.status.in_(rules.SETTLED),
                    DELIVERY.c.dry_run.is_(False),
                )
            ).scalar_one() + self._published_parts(conn, post_id)
        action = rules.import_action(stored_hash, plan.draft.content_hash(), settled)
        if action == "created":
            post_id = self._insert_post(conn, plan, now)
            self._insert_deliveries(conn, post_id, plan, due or now, now)
        elif action == "conflict":
            assert post_id is not None
            return ImportResult(post_id, key, action, rules.conflict_message(post_id))
        elif action == "updated":
            assert post_id is not None
            self._update_post(conn, post_id, plan, due, now)
        return ImportResult(post_id, key, action)

    def _insert_post(self, conn: Connection, plan: Plan, now: datetime) -> int:
        post_id: int = conn.execute(
            insert(POST).returning(POST.c.id), rules.new_post(plan, now)
        ).scalar_one()
        return post_id

    def _insert_deliveries(
        self, conn: Connection, post_id: int, plan: Plan, due: datetime, now: datetime
    ) -> None:
        conn.execute(
            insert(DELIVERY),
            rules.new_deliveries(post_id, plan.targets, due, now, rules.initial_status(plan)),
        )
        self._insert_parts(conn, [(post_id, plan.targets)])

    def _insert_many(
        self, conn: Connection, items: Sequence[tuple[Plan, datetime]], now: datetime
    ) -> list[int]:
        """Posts and their deliveries in two statements; the post ids in the items' order."""
        if not items:
            return []
        deliveries = sum(len(plan.targets) for plan, _ in items)
        self.make_room(conn, len(items) + deliveries)
        posts = [rules.new_post(plan, now) for plan, _ in items]
        # Each id found by its post's key (unique), read back after one executemany (`bulk`).
        insert_rows(conn, POST, posts)
        by_key = ids_by_key(conn, POST, [post["key"] for post in posts])
        ids: list[int] = [by_key[post["key"]] for post in posts]
        keys = iter(rules.delivery_keys(deliveries))
        rows = [
            row
            for post_id, (plan, due) in zip(ids, items, strict=True)
            for row in rules.new_deliveries(
                post_id, plan.targets, due, now, rules.initial_status(plan), keys
            )
        ]
        if rows:
            insert_rows(conn, DELIVERY, rows)
            self._insert_parts(
                conn, [(i, plan.targets) for i, (plan, _) in zip(ids, items, strict=True)]
            )
        return ids

    def _update_post(
        self, conn: Connection, post_id: int, plan: Plan, due: datetime | None, now: datetime
    ) -> None:
        """A changed post file: new content, re-rendered deliveries; gone targets cancelled."""
        conn.execute(update(POST).where(POST.c.id == post_id).values(rules.post_values(plan, now)))
        existing = {
            r.account: rules.Existing(r.id, r.status, r.due_at, bool(r.dry_run))
            for r in conn.execute(
                select(
                    DELIVERY.c.id,
                    DELIVERY.c.account,
                    DELIVERY.c.status,
                    DELIVERY.c.due_at,
                    DELIVERY.c.dry_run,
                ).where(DELIVERY.c.post_id == post_id)
            )
        }
        change = rules.update_of(existing, plan, due, now)
        for delivery_id, values in change.rerendered:
            conn.execute(update(DELIVERY).where(DELIVERY.c.id == delivery_id).values(values))
        if change.added:
            conn.execute(
                insert(DELIVERY),
                rules.new_deliveries(
                    post_id, change.added, due or now, now, rules.initial_status(plan)
                ),
            )
        for delivery_id in change.cancelled:
            conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id == delivery_id)
                .values(status=Status.CANCELLED, updated_at=now)
            )
        self._replace_parts(conn, post_id, plan.targets)

    # -- reading -------------------------------------------------------------------------
    def get_post(self, post_id: int) -> Post:
        with self.read() as conn:
            post = conn.execute(select(POST).where(POST.c.id == post_id)).mappings().first()
            if post is None:
                raise NotFound(f"no post with id {post_id}")
            deliveries = conn.execute(
                select(DELIVERY).where(DELIVERY.c.post_id == post_id).order_by(DELIVERY.c.id)
            ).mappings()
            found = self._with_parts(conn, [delivery_record(d) for d in deliveries])
            return post_record(post, found)

    def get_delivery(self, delivery_id: int) -> Delivery:
        with self.read() as conn:
            row = conn.execute(select(DELIVERY).where(DELIVERY.c.id == delivery_id)).mappings()
            found = row.first()
            if found is None:
                raise NotFound(f"no delivery with id {delivery_id}")
            return self._with_parts(conn, [delivery_record(found)])[0]

    def list_posts(
        self, status: str | None = None, limit: int | None = None, key_prefix: str | None = None
    ) -> list[Post]:
        with self.read() as conn:
            query = select(DELIVERY).order_by(DELIVERY.c.due_at.desc(), DELIVERY.c.id)
            if key_prefix:
                # The posts first, through a range of the key's unique index (`LIKE` would read
                # every key), then their deliveries by post id: asked for `status` as well,
                # SQLite would walk every delivery in that state instead.
                after = key_prefix[:-1] + chr(ord(key_prefix[-1]) + 1)
                keyed = select(POST.c.id).where(POST.c.key >= key_prefix, POST.c.key < after)
                ids = list(conn.execute(keyed).scalars())
                query = query.where(DELIVERY.c.post_id.in_(ids))
            elif status:
                query = query.where(DELIVERY.c.status == status)
            deliveries = [delivery_record(d) for d in conn.execute(query).mappings()]
            if key_prefix and status:
                deliveries = [d for d in deliveries if d.status == status]
            post_ids = set(list(dict.fromkeys(d.post_id for d in deliveries))[:limit])
            deliveries = self._with_parts(conn, [d for d in deliveries if d.post_id in post_ids])
            return posts_of(conn, deliveries)

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
    def resolve(self, post_id: int, url: str, now: datetime, account: str | None = None) -> int:
        with self.write() as conn:
            unknown = {
                r.id: r.account
                for r in conn.execute(
                    select(DELIVERY.c.id, DELIVERY.c.account).where(
                        DELIVERY.c.post_id == post_id, DELIVERY.c.status == Status.UNKNOWN
                    )
                )
            }
            if not unknown:
                self.get_post(post_id)  # NotFound for an unknown id
            delivery_id = rules.unknown_to_resolve(post_id, unknown, account)
            values = rules.resolved(url, now)
            conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id == delivery_id, DELIVERY.c.status == Status.UNKNOWN)
                .values(values)
            )
            conn.execute(
                insert(ATTEMPT),
                {
                    "delivery_id": delivery_id, "worker": rules.RESOLVER, "started_at": now,
                    "finished_at": now, "outcome": Outcome.PUBLISHED,
                    "remote_id": values["remote_id"], "remote_url": url, "dry_run": False,
                    "detail": rules.RESOLVED_DETAIL,
                },
            )  # fmt: skip
            return delivery_id

    def reset_dry_run(self, now: datetime) -> DryRunReset:
        free = and_(
            DELIVERY.c.dry_run.is_(True),
            or_(DELIVERY.c.status != Status.PUBLISHING, DELIVERY.c.lease_expires_at < now),
        )
        with self.write() as conn:
            running = conn.execute(
                select(func.count()).where(
                    DELIVERY.c.dry_run.is_(True),
                    DELIVERY.c.status == Status.PUBLISHING,
                    DELIVERY.c.lease_expires_at >= now,
                )
            ).scalar_one()
            if running:
                raise rules.dry_run_still_running(running)
            rows = conn.execute(
                select(DELIVERY.c.id, DELIVERY.c.post_id, DELIVERY.c.status).where(free)
            ).all()
            self._forget_dry_parts(conn, [r.id for r in rows])
            conn.execute(
                update(DELIVERY)
                .where(free)
                .values(
                    {
                        **rules.reset_values(),
                        "next_attempt_at": DELIVERY.c.due_at,
                        "updated_at": now,
                    }
                )
            )
            if rows:
                self.notify_enqueued(conn)
        by_status: dict[str, int] = {}
        for r in rows:
            by_status[r.status] = by_status.get(r.status, 0) + 1
        return DryRunReset(len(rows), tuple(sorted({r.post_id for r in rows})), by_status)

    def apply_change(self, post_id: int, change: rules.Change) -> int:
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
                .where(DELIVERY.c.post_id == post_id, DELIVERY.c.status.in_(change.allowed))
                .values(change.values)
            ).rowcount
            if not changed:
                raise change.refused(post_id, statuses)
            self.notify_enqueued(conn)
            return int(changed)


def posts_of(
    conn: Connection, deliveries: Sequence[Delivery], limit: int | None = None
) -> list[Post]:
    """The posts of `deliveries` (the first `limit`), in the order their first delivery comes,
    each with its deliveries from `deliveries`; the posts read in chunks, not one by one."""
    post_ids = list(dict.fromkeys(d.post_id for d in deliveries))[:limit]
    rows = {
        p["id"]: p
        for chunk in chunks(post_ids, 500)
        for p in conn.execute(select(POST).where(POST.c.id.in_(chunk))).mappings()
    }
    by_post: dict[int, list[Delivery]] = {i: [] for i in post_ids}
    for d in deliveries:
        if d.post_id in by_post:
            by_post[d.post_id].append(d)
    return [post_record(rows[i], by_post[i]) for i in post_ids]


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
        parts=tuple(row.get("parts") or ()),
        variants=variants_from_json(row.get("variants")),
        every=row.get("every"),
        until=row.get("until_at"),
        series_id=row.get("series_id"),
        occurrence_at=row.get("occurrence_at"),
        stopped_at=row.get("series_stopped_at"),
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
        dry_run=bool(row["dry_run"]),
        part_count=row["part_count"],
        scheduled_id=row["scheduled_id"],
        handover_refused=bool(row["handover_refused"]),
        slot_at=row.get("slot_at"),
        text_hash=row["text_hash"],
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
