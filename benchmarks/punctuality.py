"""Item 3: punctuality of a real `postbot run` process (the daemon's own APScheduler loop).

(a) 10,000 posts due at random moments within one minute, queued beforehand through the
    library (`store.enqueue_many`); lateness = the adapter's publish call minus the due time.
(b) A second process enqueues a post (`service.enqueue_text`, as `postbot enqueue --at` does)
    one second before it is due, 50 times, the daemon idle in between.
Baseline: a bare APScheduler BlockingScheduler, set up like the daemon's, firing one date job
per due time of (a) and doing nothing else: how late this machine lets a scheduler be.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    LINK,
    PYTHON,
    ROOT,
    TAGS,
    TEASER,
    Daemon,
    clean_env,
    config_text,
    make_project,
    open_app,
    percentile,
    utcnow,
)

ACCOUNTS = {"bench-a": "bench-instant"}


def _stats(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"p50": percentile(ms, 50), "p99": percentile(ms, 99), "max": max(ms), "n": len(ms)}


def lateness_from_db(db: Path, post_ids: set[int] | None = None) -> dict[int, float]:
    """delivery id -> seconds from due time to the adapter's publish call (first attempt)."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT d.id, d.post_id, d.due_at, a.detail FROM attempt a"
            " JOIN delivery d ON d.id = a.delivery_id ORDER BY a.id"
        ).fetchall()
    finally:
        conn.close()
    late: dict[int, float] = {}
    for delivery_id, post_id, due_at, detail in rows:
        if post_ids is not None and post_id not in post_ids:
            continue
        due = datetime.fromisoformat(due_at).replace(tzinfo=UTC).timestamp()
        late.setdefault(delivery_id, json.loads(detail)["called"] - due)
    return late


def burst(workdir: Path, posts: int, window: float, lead: float = 8.0) -> dict[str, Any]:
    """(a): `posts` posts due within `window` seconds, starting `lead` seconds from now."""
    project = workdir / "punctual"
    db = project / "var" / "postbot.db"
    config = make_project(project, config_text(f"sqlite:///{db}", ACCOUNTS))
    app = open_app(config)
    from postbot.drafts import Draft, plan

    rng = random.Random(4)
    start = utcnow() + timedelta(seconds=lead)
    offsets = sorted(rng.uniform(0, window) for _ in range(posts))
    plans = [
        (plan(Draft(teaser=f"{TEASER} ({i})", hashtags=TAGS, link=LINK), app.settings),
         start + timedelta(seconds=off))
        for i, off in enumerate(offsets)
    ]  # fmt: skip
    app.store.enqueue_many(plans, app.now())
    app.store.dispose()
    with Daemon(project) as daemon:
        daemon.wait_started()
        deadline = time.monotonic() + lead + window + 60
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if utcnow() > start + timedelta(seconds=window) and _published(db) >= posts:
                break
    late = lateness_from_db(db)
    due_times = [(start + timedelta(seconds=off)).timestamp() for off in offsets]
    return {"stats": _stats(list(late.values())), "published": len(late), "due": due_times}


def _published(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM attempt").fetchone()[0])
    finally:
        conn.close()


def bare_scheduler(workdir: Path, due_times: list[float], lead: float = 5.0) -> dict[str, Any]:
    """The baseline: the same due pattern, shifted to start `lead` seconds from now."""
    shift = time.time() + lead - min(due_times)
    due_path, out_path = workdir / "bare-due.json", workdir / "bare-out.json"
    due_path.write_text(json.dumps([t + shift for t in due_times]), encoding="utf-8")
    window = max(due_times) - min(due_times)
    subprocess.run(
        [PYTHON, str(ROOT / "benchmarks" / "bare_scheduler.py"), str(due_path), str(out_path)],
        check=True, timeout=lead + window + 120, env=clean_env(), stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return {"stats": _stats(json.loads(out_path.read_text(encoding="utf-8")))}


def late_enqueue(workdir: Path, tries: int, spacing: float = 1.0) -> dict[str, Any]:
    """(b): a second process enqueues a post one second before it is due, `tries` times."""
    project = workdir / "late-enqueue"
    db = project / "var" / "postbot.db"
    config = make_project(project, config_text(f"sqlite:///{db}", ACCOUNTS))
    open_app(config).store.dispose()  # schema first, so neither process migrates mid-run
    out = project / "enqueued.json"
    with Daemon(project) as daemon:
        daemon.wait_started()
        time.sleep(1.0)
        subprocess.run(
            [PYTHON, str(ROOT / "benchmarks" / "enqueuer.py"), str(config), str(tries),
             str(spacing), str(out)],
            check=True, cwd=project, env=clean_env(), timeout=tries * (spacing + 3) + 60,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)
    posted = json.loads(out.read_text(encoding="utf-8"))
    late = lateness_from_db(db, {post_id for post_id, _ in posted})
    missing = len(posted) - len(late)
    return {"stats": _stats(list(late.values())), "published": len(late), "missing": missing}
