"""Items 1 and 2: dispatch throughput on SQLite.

1. 100,000 due deliveries, an adapter that returns at once, claimed, published and recorded by
   the daemon's own code (`Daemon.run_once`, i.e. `postbot run --once`: recover, then
   `Dispatcher.run_pass`, with the daemon's logging, one line per attempt, to a file).
   Baselines in the same run:
   (a) the floor: the same claim and record statements, through `sqlite3` alone, same batches;
   (b) APScheduler 3 with one date job per post in its `SQLAlchemyJobStore` (SQLite).
2. The same daemon code with an adapter that takes 50 ms: deliveries/s against
   concurrency / latency.
"""

from __future__ import annotations

import json
import logging
import pickle
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    config_text,
    copy_sqlite,
    create_schema,
    daemon_logging,
    make_project,
    open_app,
    seed_sqlite,
    sql_time,
    utcnow,
)

ACCOUNTS = {"bench-a": "bench-instant", "bench-b": "bench-instant"}


def prepare(workdir: Path, deliveries: int, accounts: dict[str, str] = ACCOUNTS) -> Path:
    """A database with `deliveries` queued deliveries, all due (kept as a template to copy)."""
    template = workdir / "template.db"
    create_schema(f"sqlite:///{template}")
    posts = -(-deliveries // len(accounts))
    start = utcnow() - timedelta(minutes=10)
    due = [start + timedelta(microseconds=i) for i in range(posts)]
    seed_sqlite(template, posts, accounts, due)
    return template


# -- the daemon's code --------------------------------------------------------------------------
def daemon_pass(
    workdir: Path,
    template: Path,
    name: str,
    accounts: dict[str, str] = ACCOUNTS,
    *,
    concurrency: int = 8,
    batch_size: int = 200,
) -> dict[str, Any]:
    """`postbot run --once` in this process on a copy of the template; returns rate and sizes."""
    project = workdir / name
    db = project / "var" / "postbot.db"
    config = make_project(project, config_text(
        f"sqlite:///{db}", accounts, concurrency=concurrency, batch_size=batch_size
    ))  # fmt: skip
    copy_sqlite(template, db)
    from postbot.daemon import Daemon

    app = open_app(config)
    claims: list[int] = []
    records: list[int] = []
    claim_due, record = app.store.claim_due, app.store.record

    def counting_claim(*args: Any, **kwargs: Any) -> Any:
        got = claim_due(*args, **kwargs)
        claims.append(len(got))
        return got

    def counting_record(worker: str, results: Any) -> Any:
        records.append(len(results))
        return record(worker, results)

    app.store.claim_due, app.store.record = counting_claim, counting_record
    try:
        with daemon_logging(project / "daemon.log"):
            daemon = Daemon(app)
            started = time.perf_counter()
            handled = daemon.run_once()
            elapsed = time.perf_counter() - started
        counts = app.store.status_summary().counts
    finally:
        app.store.dispose()
    nonzero = [c for c in claims if c]
    return {
        "handled": handled,
        "seconds": elapsed,
        "rate": handled / elapsed,
        "published": counts.get("published", 0),
        "claims": len(nonzero),
        "claim_mean": sum(nonzero) / max(1, len(nonzero)),
        "records": len(records),
        "record_mean": sum(records) / max(1, len(records)),
        "log_lines": sum(1 for _ in open(project / "daemon.log", encoding="utf-8")),
    }


# -- baseline (a): the same statements, sqlite3 alone --------------------------------------------
CLAIM_SQL = """
UPDATE delivery
   SET status = :publishing, lease_owner = :worker, lease_expires_at = :expires,
       attempts = attempts + 1, updated_at = :now
 WHERE id IN (SELECT id FROM delivery
               WHERE status = :queued AND next_attempt_at <= :now
               ORDER BY next_attempt_at, id
               LIMIT :limit)
   AND CASE WHEN status = :queued AND next_attempt_at <= :now THEN 1 ELSE 0 END = 1
RETURNING id, post_id, account, platform, key, text, due_at, attempts, created_at
"""
ATTEMPT_SQL = (
    "INSERT INTO attempt (delivery_id, worker, started_at, finished_at, outcome, error_class,"
    " error_message, http_status, remote_id, remote_url, dry_run, detail)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
RECORD_SQL = (
    "UPDATE delivery SET status = ?, next_attempt_at = coalesce(?, next_attempt_at),"
    " remote_id = coalesce(?, remote_id), remote_url = coalesce(?, remote_url),"
    " last_error = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?"
    " WHERE id = ? AND status = 'publishing' AND lease_owner = ?"
)


def sqlite_floor(
    workdir: Path, template: Path, claim_size: int, record_size: int
) -> dict[str, Any]:
    """Claim `claim_size` at a time and record `record_size` at a time, nothing else."""
    db = workdir / "floor.db"
    copy_sqlite(template, db)
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in ("busy_timeout = 30000", "journal_mode = WAL", "synchronous = NORMAL",
                   "foreign_keys = ON"):  # fmt: skip
        conn.execute(f"PRAGMA {pragma}")
    worker = "floor:1:abcdef"
    handled = 0
    pending: list[tuple[Any, ...]] = []

    def flush() -> None:
        stamp = sql_time(datetime.now(UTC))
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            ATTEMPT_SQL,
            [(r[0], worker, stamp, stamp, "published", None, None, 200, f"bench-{r[0]}",
              f"https://bench.invalid/{r[0]}", 0, json.dumps({"called": 0.0, "pid": 1}))
             for r in pending],
        )  # fmt: skip
        conn.executemany(
            RECORD_SQL,
            [("published", None, f"bench-{r[0]}", f"https://bench.invalid/{r[0]}", None, stamp,
              r[0], worker) for r in pending],
        )  # fmt: skip
        conn.execute("COMMIT")
        pending.clear()

    started = time.perf_counter()
    while True:
        now = datetime.now(UTC)
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(CLAIM_SQL, {
            "publishing": "publishing", "queued": "queued", "worker": worker,
            "now": sql_time(now), "expires": sql_time(now + timedelta(minutes=5)),
            "limit": claim_size,
        }).fetchall()  # fmt: skip
        if rows:
            ids = sorted({r[1] for r in rows})
            posts = conn.execute(
                "SELECT id, language, link, hashtags, media FROM post"
                f" WHERE id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
            {p[0]: (json.loads(p[3]), json.loads(p[4])) for p in posts}
        conn.execute("COMMIT")
        if not rows:
            break
        for r in rows:
            pending.append(r)
            if len(pending) >= record_size:
                flush()
                handled += record_size
    if pending:
        handled += len(pending)
        flush()
    elapsed = time.perf_counter() - started
    published = conn.execute("SELECT count(*) FROM delivery WHERE status = 'published'").fetchone()
    conn.close()
    return {"handled": handled, "seconds": elapsed, "rate": handled / elapsed,
            "published": published[0]}  # fmt: skip


# -- baseline (b): APScheduler, one job per post in SQLAlchemyJobStore ----------------------------
_APS: dict[str, Any] = {}


def aps_publish(delivery_id: int, account: str, text: str) -> None:
    """The job a user would write: build the outgoing post, publish, log the outcome."""
    from postbot.platforms.base import Outgoing

    platform = _APS["platforms"][account]
    published = platform.publish(Outgoing(delivery_id, delivery_id, account, text))
    _APS["log"].info("delivery %s -> %s: published %s", delivery_id, account, published.url)
    with _APS["lock"]:
        _APS["done"] += 1
        if _APS["done"] >= _APS["total"]:
            _APS["finished"].set()


def apscheduler_baseline(
    workdir: Path,
    deliveries: int,
    accounts: dict[str, str] = ACCOUNTS,
    *,
    threads: int = 8,
    time_limit: float = 300,
) -> dict[str, Any]:
    """All jobs due; time from scheduler start until every job ran (or the time limit)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.job import Job
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from benchmarks.adapters import InstantPlatform
    from postbot.domain import Account

    db = workdir / "apscheduler.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    log_path = workdir / "apscheduler.log"
    logger = logging.getLogger("bench.apscheduler")
    logger.propagate = False
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    _APS.update(
        platforms={a: InstantPlatform(Account(a, p)) for a, p in accounts.items()},
        log=logger, lock=threading.Lock(), done=0, total=deliveries,
        finished=threading.Event(),
    )  # fmt: skip

    # Fill the job store with exactly the rows `add_job` writes, in one transaction (adding
    # 100,000 jobs one commit at a time is not what is measured here).
    store = SQLAlchemyJobStore(url=url)
    scheduler = BackgroundScheduler(
        jobstores={"default": store}, executors={"default": ThreadPoolExecutor(threads)},
        job_defaults={"misfire_grace_time": None, "coalesce": False, "max_instances": 1},
        timezone=UTC,
    )  # fmt: skip
    store.start(scheduler, "default")
    due = utcnow() - timedelta(minutes=1)
    names = list(accounts)
    text = "Lesen Sie hier ... https://example.org/a #Tag"
    rows = []
    for i in range(deliveries):
        job = Job(
            scheduler, id=f"delivery-{i + 1}", func=aps_publish,
            args=(i + 1, names[i % len(names)], text), kwargs={}, name="publish",
            trigger=_date_trigger(due + timedelta(microseconds=i)), executor="default",
            misfire_grace_time=None, coalesce=False, max_instances=1,
            next_run_time=due + timedelta(microseconds=i),
        )  # fmt: skip
        rows.append({
            "id": job.id, "next_run_time": job.next_run_time.timestamp(),
            "job_state": pickle.dumps(job.__getstate__(), store.pickle_protocol),
        })  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(store.jobs_t.insert(), rows)
    store.shutdown()
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=url)},
        executors={"default": ThreadPoolExecutor(threads)},
        job_defaults={"misfire_grace_time": None, "coalesce": False, "max_instances": 1},
        timezone=UTC,
    )  # fmt: skip
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    started = time.perf_counter()
    scheduler.start()
    finished = _APS["finished"].wait(time_limit)
    elapsed = time.perf_counter() - started
    done = _APS["done"]
    scheduler.shutdown(wait=True)
    handler.close()
    return {"handled": done, "seconds": elapsed, "rate": done / elapsed, "complete": finished}


def _date_trigger(when: datetime) -> Any:
    from apscheduler.triggers.date import DateTrigger

    return DateTrigger(run_date=when, timezone=UTC)
