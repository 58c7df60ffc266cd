"""The records of running postbot as a service (postbot.ops): the queue's gauges a metrics
scrape and a health check read, and the incidents alerts are made of. Leaf records, like
`postbot.domain`'s."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from postbot.domain import Status, Worker


@dataclass(frozen=True)
class QueueGauges:
    """What a metrics scrape and a health check read, each from an index (never a count of the
    whole table): the backlog, what is in flight, what waits for a person, the workers."""

    due: Mapping[str, int]  # queued deliveries due now, per account (the backlog)
    next_due: datetime | None  # the next due time of any queued delivery
    publishing: int  # deliveries claimed by a worker
    stale: int  # of those, held past their lease (the worker died; reconciled by a live one)
    stale_since: datetime | None  # the oldest such lease's expiry
    unknown: int  # deliveries in state unknown (a person checks them)
    workers: tuple[Worker, ...]  # most recently seen first
    # (state, account) -> deliveries, for every state but the final published and cancelled
    # (those grow for ever: counted as they happen, by postbot_deliveries_total).
    by_state: Mapping[tuple[str, str], int] = field(default_factory=dict)


# The states `QueueGauges.by_state` counts: read through the status index, so a scrape's cost
# follows what is in flight and what waits for a person, never the table's size. Not queued:
# a million posts queued for next month would be counted at every scrape (those due now are
# `QueueGauges.due`; the queue for later is `postbot status`'s).
GAUGED_STATES = (
    Status.DRAFT, Status.PUBLISHING, Status.SCHEDULED, Status.UNKNOWN, Status.FAILED,
    Status.MISSED,
)  # fmt: skip


class IncidentKind(StrEnum):
    FAILED = "failed"  # a delivery failed for good
    UNKNOWN = "unknown"  # a delivery's outcome is unknown
    MISSED = "missed"  # deliveries were overdue by more than max_lateness
    CREDENTIALS = "credentials"  # an account's credentials stopped working
    HEARTBEAT = "heartbeat"  # no worker sent a heartbeat for dead_man_minutes
    CHECK = "check"  # a `postbot doctor --alert` check failed


@dataclass(frozen=True)
class NewIncident:
    """Something an operator must hear of, once. `key` says which thing: while an incident with
    the same key is open, raising it again only counts it (`Incident.seen`)."""

    key: str
    kind: IncidentKind
    subject: str  # one line for people, never a secret
    account: str | None = None
    delivery_id: int | None = None
    # A condition (credentials failing, no heartbeat) ends, and the same key may open again
    # after `Store.resolve_incidents`; an event (a delivery failed) is told once, for good.
    condition: bool = False


@dataclass(frozen=True)
class Incident:
    id: int
    key: str
    kind: IncidentKind
    subject: str
    account: str | None
    delivery_id: int | None
    condition: bool
    opened_at: datetime
    last_seen_at: datetime
    seen: int  # how often it was raised while open (1: once)
    sent_at: datetime | None  # when its alert went out; None: not yet
    resolved_at: datetime | None  # a condition that ended
