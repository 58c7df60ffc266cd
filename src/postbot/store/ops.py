"""Operations in SQL: the write probe and the gauges of health checks and metrics, incidents and
the alert messages that tell of them (`postbot.ops`).

The gauges read only the live part of the queue, each through `ix_delivery_status_next`
(status first): the due backlog, what is in flight, what is unknown. None counts the whole
table, so a scrape costs the same with a thousand deliveries as with a million settled ones.

Incidents and alert messages are written under one lock (SQLite: BEGIN IMMEDIATE lets one
writer in at a time; PostgreSQL: an advisory lock), so two processes never both open the same
incident, nor together send more messages than the rate allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DatabaseError

from postbot.domain import Status
from postbot.operations import GAUGED_STATES, Incident, IncidentKind, NewIncident, QueueGauges
from postbot.store.base import StoreError
from postbot.store.posts import DELIVERY
from postbot.store.tables import AlertMessageRow, IncidentRow
from postbot.store.workers import read_workers

if TYPE_CHECKING:
    from postbot.pacing import Pace

INCIDENT = IncidentRow.__table__  # type: ignore[attr-defined]
MESSAGE = AlertMessageRow.__table__  # type: ignore[attr-defined]
# The name incidents are locked under (PostgreSQL: an advisory lock from its hash, as a pace
# is; an account of that name would only share the lock, never the budget).
INCIDENT_LOCK = "postbot:incidents"
PROBE = "UPDATE alembic_version SET version_num = version_num"  # a write that changes nothing

_INCIDENT_COLUMNS = (
    INCIDENT.c.id,
    INCIDENT.c.key,
    INCIDENT.c.kind,
    INCIDENT.c.subject,
    INCIDENT.c.account,
    INCIDENT.c.delivery_id,
    INCIDENT.c.condition,
    INCIDENT.c.opened_at,
    INCIDENT.c.last_seen_at,
    INCIDENT.c.seen,
    MESSAGE.c.sent_at,
    INCIDENT.c.resolved_at,
)
_INCIDENTS = select(*_INCIDENT_COLUMNS).select_from(
    INCIDENT.outerjoin(MESSAGE, MESSAGE.c.id == INCIDENT.c.message_id)
)


def short_error(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).splitlines()[0]


def incident_of(row: Any) -> Incident:
    return Incident(
        row.id,
        row.key,
        IncidentKind(row.kind),
        row.subject,
        row.account,
        row.delivery_id,
        bool(row.condition),
        row.opened_at,
        row.last_seen_at,
        row.seen,
        row.sent_at,
        row.resolved_at,
    )


class OpsSQL:
    """Mixed into SQLStore; relies on its engine, transactions and dialect hooks."""

    engine: Engine  # provided by SQLStore

    def write(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def lock_pace(self, conn: Connection, account: str, dry_run: bool) -> None:  # SQLStore's
        raise NotImplementedError

    # -- health and metrics --------------------------------------------------------------
    def probe_write(self) -> None:
        # A write that is rolled back: refused by a read-only database, changing nothing.
        # (PostgreSQL refuses it on any connection; SQLite overrides this with one of its own.)
        try:
            with self.engine.connect() as conn:
                transaction = conn.begin()
                try:
                    conn.execute(text(PROBE))
                finally:
                    transaction.rollback()
        except DatabaseError as exc:
            raise StoreError(f"database does not take a write: {short_error(exc)}") from exc

    def queue_gauges(self, now: datetime) -> QueueGauges:
        queued = DELIVERY.c.status == Status.QUEUED
        publishing = DELIVERY.c.status == Status.PUBLISHING
        with self.read() as conn:
            due: dict[str, int] = dict(
                conn.execute(
                    select(DELIVERY.c.account, func.count())
                    .where(queued, DELIVERY.c.next_attempt_at <= now)
                    .group_by(DELIVERY.c.account)
                ).all()
            )
            next_due = conn.execute(select(func.min(DELIVERY.c.next_attempt_at)).where(queued))
            next_due_at = next_due.scalar()
            flight = conn.execute(
                select(
                    func.count(),
                    func.count().filter(DELIVERY.c.lease_expires_at < now),
                    func.min(DELIVERY.c.lease_expires_at).filter(DELIVERY.c.lease_expires_at < now),
                ).where(publishing)
            ).one()
            unknown = conn.execute(
                select(func.count()).where(DELIVERY.c.status == Status.UNKNOWN)
            ).scalar_one()
            workers = read_workers(conn)
            by_state = conn.execute(
                select(DELIVERY.c.status, DELIVERY.c.account, func.count())
                .where(DELIVERY.c.status.in_(GAUGED_STATES))
                .group_by(DELIVERY.c.status, DELIVERY.c.account)
            ).all()
        return QueueGauges(
            {a: int(n) for a, n in due.items()},
            next_due_at,
            int(flight[0]),
            int(flight[1]),
            flight[2],
            int(unknown),
            workers,
            {(str(state), account): int(n) for state, account, n in by_state},
        )

    # -- incidents -------------------------------------------------------------------------
    def open_incident(self, new: NewIncident, now: datetime) -> Incident | None:
        with self.write() as conn:
            self.lock_pace(conn, INCIDENT_LOCK, False)
            known = conn.execute(
                update(INCIDENT)
                .where(INCIDENT.c.open_key == new.key)
                .values(seen=INCIDENT.c.seen + 1, last_seen_at=now)
            ).rowcount
            if known:
                return None
            incident_id = conn.execute(
                insert(INCIDENT)
                .values(
                    key=new.key,
                    open_key=new.key,
                    kind=str(new.kind),
                    subject=new.subject,
                    account=new.account,
                    delivery_id=new.delivery_id,
                    condition=new.condition,
                    opened_at=now,
                    last_seen_at=now,
                    seen=1,
                )
                .returning(INCIDENT.c.id)
            ).scalar_one()
            return incident_of(conn.execute(_INCIDENTS.where(INCIDENT.c.id == incident_id)).one())

    def resolve_incidents(self, keys: Sequence[str], now: datetime) -> int:
        if not keys:
            return 0
        with self.write() as conn:
            self.lock_pace(conn, INCIDENT_LOCK, False)
            return int(
                conn.execute(
                    update(INCIDENT)
                    .where(INCIDENT.c.open_key.in_(list(keys)), INCIDENT.c.condition.is_(True))
                    .values(open_key=None, resolved_at=now)
                ).rowcount
            )

    def open_incidents(self, kind: str | None = None) -> list[Incident]:
        query = _INCIDENTS.where(
            INCIDENT.c.condition.is_(True), INCIDENT.c.open_key.is_not(None)
        ).order_by(INCIDENT.c.id)
        if kind is not None:
            query = query.where(INCIDENT.c.kind == kind)
        with self.read() as conn:
            return [incident_of(r) for r in conn.execute(query)]

    def take_alerts(self, now: datetime, rate: Pace, limit: int = 100) -> list[Incident]:
        with self.write() as conn:
            self.lock_pace(conn, INCIDENT_LOCK, False)
            sent = conn.execute(
                select(func.count()).where(MESSAGE.c.sent_at > now - rate.period)
            ).scalar_one()
            if sent >= rate.count:
                return []
            pending = list(
                conn.execute(
                    select(INCIDENT.c.id)
                    .where(INCIDENT.c.message_id.is_(None))
                    .order_by(INCIDENT.c.id)
                    .limit(limit)
                ).scalars()
            )
            if not pending:
                return []
            message = conn.execute(
                insert(MESSAGE).values(sent_at=now).returning(MESSAGE.c.id)
            ).scalar_one()
            conn.execute(
                update(INCIDENT).where(INCIDENT.c.id.in_(pending)).values(message_id=message)
            )
            taken = _INCIDENTS.where(INCIDENT.c.id.in_(pending)).order_by(INCIDENT.c.id)
            return [incident_of(r) for r in conn.execute(taken)]

    def release_alerts(self, incident_ids: Sequence[int]) -> None:
        if not incident_ids:
            return
        with self.write() as conn:
            self.lock_pace(conn, INCIDENT_LOCK, False)
            messages = select(INCIDENT.c.message_id).where(
                INCIDENT.c.id.in_(list(incident_ids)), INCIDENT.c.message_id.is_not(None)
            )
            ids = list(conn.execute(messages).scalars())
            conn.execute(
                update(INCIDENT)
                .where(INCIDENT.c.id.in_(list(incident_ids)))
                .values(message_id=None)
            )
            if ids:
                conn.execute(delete(MESSAGE).where(MESSAGE.c.id.in_(ids)))
