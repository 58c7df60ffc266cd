"""The memory store's operations part: the write probe, the gauges, incidents and alert
messages, as the SQL stores' `ops.py` (one lock per database stands for their lock)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from postbot.domain import Status
from postbot.operations import GAUGED_STATES, Incident, NewIncident, QueueGauges
from postbot.store.memory.db import MemoryBase

if TYPE_CHECKING:
    from postbot.pacing import Pace


class MemoryOps(MemoryBase):
    def probe_write(self) -> None:
        with self._write():
            pass  # memory always takes a write

    def queue_gauges(self, now: datetime) -> QueueGauges:
        now = now.astimezone(UTC)
        with self._read() as db:
            due: dict[str, int] = {}
            publishing, stale, unknown = 0, [], 0
            for d in db.deliveries.values():
                if d.status == Status.QUEUED and d.next_attempt_at <= now:
                    due[d.account] = due.get(d.account, 0) + 1
                elif d.status == Status.PUBLISHING:
                    publishing += 1
                    if d.lease_expires_at is not None and d.lease_expires_at < now:
                        stale.append(d.lease_expires_at)
                elif d.status == Status.UNKNOWN:
                    unknown += 1
            workers = tuple(sorted(db.workers.values(), key=lambda w: w.seen_at, reverse=True))
            by_state = Counter(
                (str(d.status), d.account)
                for d in db.deliveries.values()
                if d.status in GAUGED_STATES
            )
        return QueueGauges(
            due, self.next_due(), publishing, len(stale), min(stale, default=None), unknown,
            workers, dict(by_state),
        )  # fmt: skip

    def open_incident(self, new: NewIncident, now: datetime) -> Incident | None:
        now = now.astimezone(UTC)
        with self._write() as db:
            known = db.open_keys.get(new.key)
            if known is not None:
                old = db.incidents[known]
                db.incidents[known] = replace(old, seen=old.seen + 1, last_seen_at=now)
                return None
            incident = Incident(
                db.new_id("incident"),
                new.key,
                new.kind,
                new.subject,
                new.account,
                new.delivery_id,
                new.condition,
                now,
                now,
                1,
                None,
                None,
            )
            db.incidents[incident.id] = incident
            db.open_keys[new.key] = incident.id
            db.alerted[incident.id] = None
            return incident

    def resolve_incidents(self, keys: Sequence[str], now: datetime) -> int:
        now = now.astimezone(UTC)
        with self._write() as db:
            ended = 0
            for key in keys:
                known = db.open_keys.get(key)
                if known is None or not db.incidents[known].condition:
                    continue
                del db.open_keys[key]
                db.incidents[known] = replace(db.incidents[known], resolved_at=now)
                ended += 1
            return ended

    def open_incidents(self, kind: str | None = None) -> list[Incident]:
        with self._read() as db:
            found = (db.incidents[i] for i in db.open_keys.values())
            return sorted(
                (i for i in found if i.condition and (kind is None or i.kind == kind)),
                key=lambda i: i.id,
            )

    def take_alerts(self, now: datetime, rate: Pace, limit: int = 100) -> list[Incident]:
        now = now.astimezone(UTC)
        with self._write() as db:
            since = now - rate.period
            if sum(1 for at in db.messages.values() if at > since) >= rate.count:
                return []
            pending = sorted(i for i, m in db.alerted.items() if m is None)[:limit]
            if not pending:
                return []
            message = db.new_id("alert_message")
            db.messages[message] = now
            for i in pending:
                db.alerted[i] = message
                db.incidents[i] = replace(db.incidents[i], sent_at=now)
            return [db.incidents[i] for i in pending]

    def release_alerts(self, incident_ids: Sequence[int]) -> None:
        with self._write() as db:
            for i in incident_ids:
                message = db.alerted.get(i)
                if message is None:
                    continue
                db.alerted[i] = None
                db.messages.pop(message, None)
                db.incidents[i] = replace(db.incidents[i], sent_at=None)
