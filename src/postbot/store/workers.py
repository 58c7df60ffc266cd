"""Daemon liveness and the queue at a glance, in SQL: heartbeats (`postbot status` and the
health checks read them) and the counts `postbot status` shows."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from postbot.domain import QueueSummary, Status, Worker
from postbot.store.posts import DELIVERY
from postbot.store.tables import HeartbeatRow

HEARTBEAT = HeartbeatRow.__table__  # type: ignore[attr-defined]


class WorkerOps:
    """Mixed into SQLStore; relies on its transactions."""

    def write(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

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

    def workers(self) -> tuple[Worker, ...]:
        with self.read() as conn:
            return read_workers(conn)

    def status_summary(self) -> QueueSummary:
        with self.read() as conn:
            counts: dict[str, int] = {}
            dry: dict[str, int] = {}
            for status, dry_run, n in conn.execute(
                select(DELIVERY.c.status, DELIVERY.c.dry_run, func.count()).group_by(
                    DELIVERY.c.status, DELIVERY.c.dry_run
                )
            ):
                counts[status] = counts.get(status, 0) + n
                if dry_run:
                    dry[status] = n
            next_due = conn.execute(
                select(func.min(DELIVERY.c.next_attempt_at)).where(
                    DELIVERY.c.status == Status.QUEUED
                )
            ).scalar()
            workers = read_workers(conn)
        return QueueSummary(counts, next_due, workers, dry)


def read_workers(conn: Connection) -> tuple[Worker, ...]:
    """The heartbeat rows, most recently seen first."""
    rows = conn.execute(select(HEARTBEAT).order_by(HEARTBEAT.c.seen_at.desc())).mappings()
    return tuple(Worker(**r) for r in rows)
