"""Item 7: scale-out on PostgreSQL. 1, 2 and 4 real `postbot run` workers share one database;
the adapter takes 50 ms per post. Each round gets a fresh database, starts its workers, then
queues N posts (through the library; NOTIFY wakes the workers) due a few seconds later.

Throughput = N / (last publish finished - due time), from the attempt log. "Exactly once" is
checked twice: every delivery is `published` with exactly one attempt in the database, and the
adapters' own call logs (one file per worker process) name every delivery exactly once.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    LINK,
    TEASER,
    Daemon,
    clean_env,
    config_text,
    create_schema,
    make_project,
    open_app,
    pg_database,
    utcnow,
)

ACCOUNTS = {"bench-a": "bench-slow"}


def round_(workdir: Path, workers: int, posts: int, lead: float = 3.0) -> dict[str, Any]:
    project = workdir / f"scale-{workers}"
    calls = project / "calls"
    shutil.rmtree(project, ignore_errors=True)
    calls.mkdir(parents=True)
    with pg_database() as url:
        config = make_project(project, config_text(url, ACCOUNTS))
        create_schema(url)
        env = clean_env(BENCH_CALLS_DIR=str(calls))
        daemons = [Daemon(project, f"worker-{i}.log", env) for i in range(workers)]
        try:
            for daemon in daemons:
                daemon.wait_started()
            app = open_app(config)
            from postbot.drafts import Draft, plan

            due = utcnow() + timedelta(seconds=lead)
            planned = plan(Draft(teaser=TEASER, link=LINK), app.settings)
            app.store.enqueue_many([(planned, due)] * posts, app.now())
            start = max(due, utcnow())  # had queueing taken longer than the lead
            deadline = time.monotonic() + lead + posts * 0.05 / 8 + 60
            while time.monotonic() < deadline:
                time.sleep(0.25)
                if app.store.status_summary().counts.get("published", 0) >= posts:
                    break
            time.sleep(0.5)  # anything published twice would show up now
            result = _check(app, posts, calls, start)
            app.store.dispose()
        finally:
            for daemon in daemons:
                daemon.stop()
    result["workers"] = workers
    return result


def _check(app: Any, posts: int, calls: Path, due: Any) -> dict[str, Any]:
    from sqlalchemy import text

    with app.store.read() as conn:
        statuses = dict(
            conn.execute(text("SELECT status, count(*) FROM delivery GROUP BY 1")).all()
        )
        per_delivery = Counter(
            dict(conn.execute(text("SELECT delivery_id, count(*) FROM attempt GROUP BY 1")).all())
        )
        span = conn.execute(text("SELECT max(finished_at) FROM attempt")).scalar()
        by_worker = dict(
            conn.execute(text("SELECT worker, count(*) FROM attempt GROUP BY 1")).all()
        )
    adapter_calls: Counter[int] = Counter()
    for path in calls.glob("calls-*.txt"):
        for line in path.read_text(encoding="utf-8").splitlines():
            adapter_calls[int(line.split()[0])] += 1
    from datetime import UTC

    finished = span.replace(tzinfo=UTC) if span.tzinfo is None else span
    seconds = (finished - due).total_seconds()
    exactly_once = (
        statuses.get("published", 0) == posts
        and sum(statuses.values()) == posts
        and len(per_delivery) == posts
        and all(n == 1 for n in per_delivery.values())
        and len(adapter_calls) == posts
        and all(n == 1 for n in adapter_calls.values())
    )
    return {
        "posts": posts,
        "seconds": seconds,
        "rate": posts / seconds,
        "exactly_once": exactly_once,
        "statuses": statuses,
        "adapter_calls": sum(adapter_calls.values()),
        "per_worker": sorted(by_worker.values(), reverse=True),
    }
