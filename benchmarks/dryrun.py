"""Item 8: dry-run dispatch, the path tests and demos take.

`postbot run --dry-run --once`'s code (`Daemon(app, dry_run=True).run_once()`, with the daemon's
logging to a file) over 15,000 due deliveries: 5,000 posts to three accounts (Mastodon, X and
Bluesky, pace off). Baseline in the same run, the floor of the same claim and record work in
`sqlite3` alone: claim 100 due rows with one `UPDATE ... RETURNING`, then one attempt INSERT and
one delivery UPDATE per row, all in one transaction, until nothing is due.
"""

from __future__ import annotations

import json
import sqlite3
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
from benchmarks.throughput import ATTEMPT_SQL, CLAIM_SQL, RECORD_SQL

ACCOUNTS = {"mastodon": "mastodon", "x": "x", "bluesky": "bluesky"}
FLOOR_CLAIM = 100


def prepare(workdir: Path, posts: int) -> Path:
    """A database with `posts` posts to each of the three accounts, all due (a template)."""
    template = workdir / "dryrun-template.db"
    create_schema(f"sqlite:///{template}")
    start = utcnow() - timedelta(minutes=10)
    due = [start + timedelta(microseconds=i) for i in range(posts)]
    seed_sqlite(template, posts, ACCOUNTS, due)
    return template


def daemon_pass(workdir: Path, template: Path, name: str) -> dict[str, Any]:
    """`postbot run --dry-run --once` in this process, on a copy of the template."""
    project = workdir / name
    db = project / "var" / "postbot.db"
    config = make_project(
        project, config_text(f"sqlite:///{db}", ACCOUNTS, account_options={"pace": "off"})
    )
    copy_sqlite(template, db)
    from postbot.daemon import Daemon

    app = open_app(config)
    try:
        with daemon_logging(project / "daemon.log"):
            daemon = Daemon(app, dry_run=True)
            started = time.perf_counter()
            handled = daemon.run_once()
            elapsed = time.perf_counter() - started
        counts = app.store.status_summary().counts
    finally:
        app.store.dispose()
    return {
        "handled": handled,
        "seconds": elapsed,
        "rate": handled / elapsed,
        "published": counts.get("published", 0),
        "log_lines": sum(1 for _ in open(project / "daemon.log", encoding="utf-8")),
    }


def sqlite_floor(workdir: Path, template: Path) -> dict[str, Any]:
    """Claim 100, write their attempts and outcomes, commit; again until nothing is due."""
    db = workdir / "dryrun-floor.db"
    copy_sqlite(template, db)
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in ("busy_timeout = 30000", "journal_mode = WAL", "synchronous = NORMAL",
                   "foreign_keys = ON"):  # fmt: skip
        conn.execute(f"PRAGMA {pragma}")
    worker = "floor:1:abcdef"
    handled = 0
    started = time.perf_counter()
    while True:
        now = datetime.now(UTC)
        stamp = sql_time(now)
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(CLAIM_SQL, {
            "publishing": "publishing", "queued": "queued", "worker": worker, "now": stamp,
            "expires": sql_time(now + timedelta(minutes=5)), "limit": FLOOR_CLAIM,
        }).fetchall()  # fmt: skip
        conn.executemany(
            ATTEMPT_SQL,
            [(r[0], worker, stamp, stamp, "published", None, None, None, f"dry-run:{r[0]}",
              None, 1, json.dumps({"account": r[2], "text": r[5]}, ensure_ascii=False))
             for r in rows],
        )  # fmt: skip
        conn.executemany(
            RECORD_SQL,
            [("published", None, f"dry-run:{r[0]}", None, None, stamp, r[0], worker)
             for r in rows],
        )  # fmt: skip
        conn.execute("COMMIT")
        if not rows:
            break
        handled += len(rows)
    elapsed = time.perf_counter() - started
    published = conn.execute("SELECT count(*) FROM delivery WHERE status = 'published'").fetchone()
    conn.close()
    return {"handled": handled, "seconds": elapsed, "rate": handled / elapsed,
            "published": published[0]}  # fmt: skip
