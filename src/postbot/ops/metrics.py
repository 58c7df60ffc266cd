"""Prometheus metrics of one daemon (`/metrics`, through prometheus_client).

Counters and histograms are kept in the process, fed by the dispatch loop's events: what this
worker did (attempts by platform and outcome, deliveries by the state it moved them to, publish
duration, lateness from due to published). Sum them over the workers in PromQL.

Gauges are read from the database at each scrape, each through an index (`Store.queue_gauges`,
`Store.pace_states`): the backlog due now, the next due time, what is in flight, stale or
unknown, each worker's last heartbeat, the paced-out accounts. None counts the whole table, so a
scrape costs the same with a thousand deliveries as with a million settled ones (benchmark 9).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from postbot.config import Settings
from postbot.dispatch.events import Observer, Recorded
from postbot.domain import Status
from postbot.errors import PostbotError
from postbot.store import Store

log = logging.getLogger("postbot.ops")

# Seconds. A publish is one or two HTTP calls (media uploads take longer); lateness is within a
# second when all is well, and up to max_lateness (default 2 h) after an outage.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
LATENESS_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 15, 60, 300, 900, 1800, 3600, 7200)


class Metrics(Observer):
    def __init__(
        self,
        store: Store,
        settings: Settings,
        worker: str,
        *,
        dry_run: bool = False,
        clock: Callable[[], datetime],
    ) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.attempts = Counter(
            "postbot_publish_attempts",
            "Publish attempts this process recorded.",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "postbot_deliveries",
            "Deliveries this process moved to a state (published; queued again for a retry;"
            " failed; unknown; missed).",
            ["state", "account"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "postbot_publish_duration_seconds",
            "How long a publish attempt took.",
            ["platform"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.lateness = Histogram(
            "postbot_publish_lateness_seconds",
            "From a delivery's due time to its publish, for the deliveries published.",
            ["platform"],
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        info = Gauge(
            "postbot_worker_info",
            "This worker (always 1).",
            ["worker", "dry_run"],
            registry=self.registry,
        )
        info.labels(worker, str(dry_run).lower()).set(1)
        self.registry.register(QueueCollector(store, settings, clock, dry_run=dry_run))

    # -- dispatch events -------------------------------------------------------------------
    def recorded(self, records: Sequence[Recorded]) -> None:
        for record in records:
            item, result = record.claimed, record.result
            self.attempts.labels(item.platform, str(result.outcome)).inc()
            self.deliveries.labels(str(result.status), item.account).inc()
            spent = (result.finished_at - result.started_at).total_seconds()
            self.duration.labels(item.platform).observe(max(0.0, spent))
            if result.status == Status.PUBLISHED:
                late = (result.finished_at - item.due_at).total_seconds()
                self.lateness.labels(item.platform).observe(max(0.0, late))

    def missed(self, account: str, count: int, now: datetime, *, dry_run: bool) -> None:
        self.deliveries.labels(str(Status.MISSED), account).inc(count)

    def render(self) -> bytes:
        """The Prometheus text format."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class QueueCollector:
    """The gauges, read from the database at each scrape (a prometheus_client collector)."""

    def __init__(
        self, store: Store, settings: Settings, clock: Callable[[], datetime], *, dry_run: bool
    ) -> None:
        from postbot.pacing import paces_of

        self.store = store
        self.accounts = sorted(settings.accounts)
        self.paces = paces_of(settings.accounts.values())
        self.clock = clock
        self.dry_run = dry_run

    def describe(self) -> list[Any]:
        return []  # the families are only known at a scrape

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily as G

        now = self.clock()
        up = G("postbot_database_up", "1 when the database answered this scrape.")
        try:
            gauges = self.store.queue_gauges(now)
            paces = self.store.pace_states(self.paces, now, dry_run=self.dry_run)
        except PostbotError as exc:
            log.warning("metrics: cannot read the queue: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        due = G(
            "postbot_queue_due",
            "Queued deliveries due now, waiting to go out (the backlog), by account.",
            labels=["account"],
        )
        for account in sorted({*self.accounts, *gauges.due}):
            due.add_metric([account], gauges.due.get(account, 0))
        yield due
        next_due = G(
            "postbot_queue_next_due_timestamp_seconds",
            "When the next queued delivery is due (Unix time); absent if none is.",
        )
        if gauges.next_due is not None:
            next_due.add_metric([], gauges.next_due.timestamp())
        yield next_due
        states = G(
            "postbot_deliveries",
            "Deliveries in the database now, by state and account (every state but published"
            " and cancelled, which postbot_deliveries_total counts as they happen).",
            labels=["state", "account"],
        )
        for (state_name, account_name), n in sorted(gauges.by_state.items()):
            states.add_metric([state_name, account_name], n)
        yield states
        for name, what, value in (
            ("postbot_deliveries_publishing", "Deliveries claimed by a worker.", gauges.publishing),
            (
                "postbot_deliveries_stale_leases",
                "Deliveries held past their lease (the worker died; a live one reconciles them).",
                gauges.stale,
            ),
            (
                "postbot_deliveries_unknown",
                "Deliveries whose outcome is unknown (a person checks them).",
                gauges.unknown,
            ),
        ):
            yield G(name, what, value=value)
        beat = G(
            "postbot_worker_heartbeat_timestamp_seconds",
            "Each worker's last heartbeat (Unix time).",
            labels=["worker", "host"],
        )
        for w in gauges.workers:
            beat.add_metric([w.worker, w.host], w.seen_at.timestamp())
        yield beat
        out = G(
            "postbot_account_paced_out",
            "1 while a paced account's budget is used up.",
            labels=["account"],
        )
        used = G(
            "postbot_account_pace_used",
            "Publishes counted against a paced account's budget in its period.",
            labels=["account"],
        )
        limit = G(
            "postbot_account_pace_limit", "A paced account's budget per period.", labels=["account"]
        )
        for account, state in sorted(paces.items()):
            out.add_metric([account], 1 if state.paced_out else 0)
            used.add_metric([account], state.used)
            limit.add_metric([account], state.count)
        yield from (out, used, limit)
