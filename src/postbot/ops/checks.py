"""The health checks `/readyz` and `postbot doctor` share: each is one `Check`, OK or the reason,
in words a person acts on. The judgements (is a heartbeat fresh, is anything stuck) are pure
functions of what the store read; the reads are done by the caller, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from postbot.domain import Worker
from postbot.errors import PostbotError
from postbot.operations import Incident, QueueGauges
from postbot.store import SCHEMA_HEAD, Store
from postbot.when import local_text


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""  # why not, when not ok; a note (or nothing) when ok

    def line(self) -> str:
        """`database: OK` or `database: <the reason>`, as doctor prints it."""
        if self.ok:
            return f"{self.name}: OK" + (f" ({self.detail})" if self.detail else "")
        return f"{self.name}: {self.detail}"


def database(store: Store) -> list[Check]:
    """Reachable and migrated; then writable (a write that changes nothing)."""
    try:
        version = store.schema_version()
    except PostbotError as exc:
        return [Check("database", False, f"cannot be reached: {exc}")]
    if version != SCHEMA_HEAD:
        found = f"at schema version {version}" if version else "empty (no schema)"
        return [
            Check(
                "database",
                False,
                f"{found}, not {SCHEMA_HEAD}: any postbot command but"
                " doctor brings it up to date (postbot status)",
            )
        ]
    try:
        store.probe_write()
    except PostbotError as exc:
        return [Check("database", True, f"schema {version}"), Check("writable", False, str(exc))]
    return [Check("database", True, f"schema {version}"), Check("writable", True)]


def heartbeat(
    workers: Sequence[Worker],
    now: datetime,
    max_age: timedelta,
    zone: tzinfo,
    *,
    worker: str | None = None,
) -> Check:
    """Fresh when a worker (this `worker`, if given) was seen within `max_age`."""
    mine = [w for w in workers if worker is None or w.worker == worker]
    if not mine:
        who = f"this worker ({worker}) has" if worker else "no worker has"
        return Check("heartbeat", False, f"{who} sent a heartbeat (is `postbot run` running?)")
    last = max(mine, key=lambda w: w.seen_at)
    age = now - last.seen_at
    seen = f"{last.worker}, {local_text(last.seen_at, zone)}"
    if age > max_age:
        minutes = age.total_seconds() / 60
        return Check("heartbeat", False, f"no heartbeat for {minutes:.0f} min (last: {seen})")
    return Check("heartbeat", True, f"last: {seen}")


def stuck(gauges: QueueGauges, zone: tzinfo) -> Check:
    """Nothing held in `publishing` past its lease."""
    if gauges.stale:
        since = local_text(gauges.stale_since, zone) if gauges.stale_since else "-"
        return Check(
            "publishing",
            False,
            f"{gauges.stale} deliveries stuck in publishing past their lease (since {since});"
            " a running daemon reconciles them: start `postbot run`",
        )
    return Check("publishing", True, f"{gauges.publishing} in flight" if gauges.publishing else "")


def credentials_failing(failing: Sequence[Incident], zone: tzinfo) -> Check:
    """No account's credentials failing (as publishes found, and checks)."""
    if not failing:
        return Check("credentials", True)
    return Check(
        "credentials",
        False,
        "; ".join(f"{i.subject} (since {local_text(i.opened_at, zone)})" for i in failing),
    )


def readiness(
    store: Store, worker: str, now: datetime, max_age: timedelta, zone: tzinfo
) -> list[Check]:
    """`/readyz`: the database reachable, migrated and writable, this worker's heartbeat
    fresh, no account's credentials failing."""
    checks = database(store)
    if not all(c.ok for c in checks):
        return checks
    try:
        workers = store.workers()
        failing = store.open_incidents("credentials")
    except PostbotError as exc:
        return [*checks, Check("database", False, f"cannot be read: {exc}")]
    return [
        *checks,
        heartbeat(workers, now, max_age, zone, worker=worker),
        credentials_failing(failing, zone),
    ]
