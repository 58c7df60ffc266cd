"""Threads in SQL: a delivery's parts (`delivery_part`), written when the post is stored or
changed, read with its delivery, and recorded one by one as they are published.

A part is recorded in a transaction of its own right after the platform answered, guarded by
the lease like every change to a claimed delivery: a worker that lost its lease changes no part
(its attempt is logged all the same). Part 1's remote id and URL are the delivery's as well.
Rows exist only for deliveries of more than one part; a part recorded for a delivery that has
none (an X link reply queued before threads existed) is written then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from postbot.domain import Delivery, Outcome, Part, Status
from postbot.errors import NotFound, StateError
from postbot.store import rules
from postbot.store.tables import AttemptRow, DeliveryRow, PartRow

if TYPE_CHECKING:
    from postbot.drafts import Target

PART = PartRow.__table__  # type: ignore[attr-defined]
DELIVERY = DeliveryRow.__table__  # type: ignore[attr-defined]
ATTEMPT = AttemptRow.__table__  # type: ignore[attr-defined]


# Run for every part of every thread, built once (as queue.py's statements are).
_INSERT_ATTEMPT = insert(ATTEMPT)
_GUARD = (
    DELIVERY.c.id == bindparam("b_id"),
    DELIVERY.c.status == Status.PUBLISHING,
    DELIVERY.c.lease_owner == bindparam("b_worker"),
)
_NOW = bindparam("b_now", type_=DELIVERY.c.updated_at.type)
_HOLD = update(DELIVERY).where(*_GUARD).values(updated_at=_NOW)
_HOLD_HEAD = (
    update(DELIVERY)
    .where(*_GUARD)
    .values(
        remote_id=bindparam("b_remote_id"), remote_url=bindparam("b_remote_url"), updated_at=_NOW
    )
)
_UPDATE_PART = update(PART).where(
    PART.c.delivery_id == bindparam("b_id"), PART.c.idx == bindparam("b_idx")
)


class ThreadOps:
    """The base of PostOps and QueueOps (both read parts); relies on SQLStore's write()."""

    def write(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    # -- writing the parts of new or changed deliveries --------------------------------------
    def _insert_parts(
        self, conn: Connection, posts: Iterable[tuple[int, Sequence[Target]]]
    ) -> None:
        """Part rows for every thread among the targets of these (new) posts."""
        threads = {
            (post_id, t.account): t.texts
            for post_id, targets in posts
            for t in targets
            if len(t.texts) > 1
        }
        if not threads:
            return
        post_ids = sorted({post_id for post_id, _ in threads})
        rows = conn.execute(
            select(DELIVERY.c.id, DELIVERY.c.post_id, DELIVERY.c.account).where(
                DELIVERY.c.post_id.in_(post_ids)
            )
        )
        conn.execute(
            insert(PART),
            [
                {"delivery_id": r.id, "idx": index, "text": text, "dry_run": False}
                for r in rows
                if (r.post_id, r.account) in threads
                for index, text in enumerate(threads[(r.post_id, r.account)], 1)
            ],
        )

    def _replace_parts(self, conn: Connection, post_id: int, targets: Sequence[Target]) -> None:
        """A changed post: its deliveries' parts are what the new targets say (none of them
        was published for real: such a change is a conflict)."""
        ids = select(DELIVERY.c.id).where(DELIVERY.c.post_id == post_id).scalar_subquery()
        conn.execute(delete(PART).where(PART.c.delivery_id.in_(ids)))
        self._insert_parts(conn, [(post_id, targets)])

    # -- reading -------------------------------------------------------------------------------
    def _parts_of(
        self, conn: Connection, delivery_ids: Sequence[int]
    ) -> dict[int, tuple[Part, ...]]:
        """The parts of these deliveries, in order (deliveries without parts are left out)."""
        found: dict[int, list[Part]] = {}
        for start in range(0, len(delivery_ids), 500):
            chunk = list(delivery_ids[start : start + 500])
            for r in conn.execute(
                select(PART).where(PART.c.delivery_id.in_(chunk)).order_by(PART.c.idx)
            ).mappings():
                found.setdefault(r["delivery_id"], []).append(part_record(r))
        return {k: tuple(v) for k, v in found.items()}

    def _with_parts(self, conn: Connection, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """The deliveries, each thread with its parts."""
        # Deliveries queued before threads existed (part_count None) may have parts too: an X
        # link reply is recorded as part 2.
        threads = [d.id for d in deliveries if d.part_count is None or d.part_count > 1]
        if not threads:
            return list(deliveries)
        parts = self._parts_of(conn, threads)
        return [replace(d, parts=parts[d.id]) if d.id in parts else d for d in deliveries]

    def _published_parts(self, conn: Connection, post_id: int) -> int:
        """How many parts of the post's threads were published for real (a change to the post
        is then a conflict, whatever state the delivery is in)."""
        return int(
            conn.execute(
                select(func.count())
                .select_from(PART.join(DELIVERY, DELIVERY.c.id == PART.c.delivery_id))
                .where(
                    DELIVERY.c.post_id == post_id,
                    PART.c.remote_id.is_not(None),
                    PART.c.dry_run.is_(False),
                )
            ).scalar_one()
        )

    def _forget_dry_parts(self, conn: Connection, delivery_ids: Sequence[int]) -> None:
        """Going live: what a dry run "published" of these threads is forgotten."""
        for start in range(0, len(delivery_ids), 500):
            conn.execute(
                update(PART)
                .where(
                    PART.c.delivery_id.in_(list(delivery_ids[start : start + 500])),
                    PART.c.dry_run.is_(True),
                )
                .values(remote_id=None, remote_url=None, ref=None, published_at=None, dry_run=False)
            )

    # -- recording a part ------------------------------------------------------------------------
    def record_part(
        self,
        worker: str,
        delivery_id: int,
        part: Part,
        started: datetime,
        detail: Mapping[str, Any],
        http_status: int | None = None,
    ) -> bool:
        with self.write() as conn:
            conn.execute(
                _INSERT_ATTEMPT,
                _part_attempt(delivery_id, worker, part, started, detail, http_status),
            )
            guard = {"b_id": delivery_id, "b_worker": worker, "b_now": part.published_at or started}
            if part.index == 1:  # the thread's head: its id and URL are the delivery's
                statement = _HOLD_HEAD
                guard.update(b_remote_id=part.remote_id, b_remote_url=part.remote_url)
            else:
                statement = _HOLD
            if not conn.execute(statement, guard).rowcount:
                return False
            self._store_part(conn, delivery_id, part)
            return True

    def _store_part(self, conn: Connection, delivery_id: int, part: Part) -> None:
        values = {
            "b_id": delivery_id,
            "b_idx": part.index,
            "text": part.text,
            "remote_id": part.remote_id,
            "remote_url": part.remote_url,
            "ref": part.ref,
            "published_at": part.published_at,
            "dry_run": part.dry_run,
        }
        if not conn.execute(_UPDATE_PART, values).rowcount:
            row = {k: v for k, v in values.items() if not k.startswith("b_")}
            conn.execute(insert(PART), {"delivery_id": delivery_id, "idx": part.index, **row})

    def resolve_part(self, delivery_id: int, part: Part, now: datetime, remaining: int) -> Status:
        with self.write() as conn:
            row = conn.execute(
                select(DELIVERY.c.status).where(DELIVERY.c.id == delivery_id)
            ).first()
            if row is None:
                raise NotFound(f"no delivery with id {delivery_id}")
            if row.status != Status.UNKNOWN:
                raise StateError(f"delivery {delivery_id} is {row.status}, not unknown")
            status = rules.part_resolved_status(remaining)
            conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id == delivery_id, DELIVERY.c.status == Status.UNKNOWN)
                .values(rules.part_resolved(part, status, now))
            )
            self._store_part(conn, delivery_id, part)
            attempt = _part_attempt(delivery_id, rules.RESOLVER, part, now, rules.RESOLVED_DETAIL)
            conn.execute(insert(ATTEMPT), attempt)
            return status


def _part_attempt(
    delivery_id: int,
    worker: str,
    part: Part,
    started: datetime,
    detail: Mapping[str, Any],
    http_status: int | None = None,
) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "worker": worker,
        "started_at": started,
        "finished_at": part.published_at or started,
        "outcome": Outcome.PUBLISHED,
        "error_class": None,
        "error_message": None,
        "http_status": http_status,
        "remote_id": part.remote_id,
        "remote_url": part.remote_url,
        "dry_run": part.dry_run,
        "detail": dict(detail),
    }


def part_record(row: Any) -> Part:
    return Part(
        index=row["idx"],
        text=row["text"],
        remote_id=row["remote_id"],
        remote_url=row["remote_url"],
        ref=row["ref"],
        published_at=row["published_at"],
        dry_run=bool(row["dry_run"]),
    )
