"""Item 11: threads. A thread of 10 parts against 10 single posts, through `postbot run --once`'s
code (`Daemon.run_once`) with the 50 ms benchmark adapter: the same number of posts on the
"platform", the same latency, so what differs is what postbot does per part (a reply
reference, a store write of its own as each part is published) against per post (a claim, a
batched record).

(a) one account, concurrency 1: threads published one after another, part after part, against
    the same number of single posts, one after another;
(b) concurrency 8: threads side by side against single posts side by side.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import config_text, daemon_logging, make_project, open_app, utcnow

ACCOUNTS = {"bench-a": "bench-slow"}


def prepare(workdir: Path, name: str, posts: int, parts: int, concurrency: int) -> Path:
    """A project with `posts` posts of `parts` parts each (1: single posts), all due."""
    from postbot.drafts import Draft, plan

    project = workdir / name
    db = project / "var" / "postbot.db"
    config = make_project(project, config_text(f"sqlite:///{db}", ACCOUNTS,
                                               concurrency=concurrency))  # fmt: skip
    app = open_app(config)
    try:
        now = utcnow()
        due = now - timedelta(minutes=1)
        items = [
            (plan(Draft(teaser=f"Beitrag {i}: Teil 1", to=("bench-a",),
                        parts=tuple(f"Beitrag {i}: Teil {n}" for n in range(2, parts + 1))),
                  app.settings), due)
            for i in range(posts)
        ]  # fmt: skip
        app.store.enqueue_many(items, now)
    finally:
        app.store.dispose()
    return config


def run(config: Path) -> dict[str, Any]:
    from postbot.daemon import Daemon

    app = open_app(config)
    try:
        with daemon_logging(config.parent.parent / "daemon.log"):
            started = time.perf_counter()
            handled = Daemon(app).run_once()
            elapsed = time.perf_counter() - started
        counts = app.store.status_summary().counts
        attempts = len(app.store.attempts(limit=10**9))
    finally:
        app.store.dispose()
    return {"seconds": elapsed, "handled": handled, "published": counts.get("published", 0),
            "attempts": attempts}  # fmt: skip


def compare(
    workdir: Path, label: str, threads: int, parts: int, concurrency: int, runs: int
) -> dict[str, Any]:
    """`threads` threads of `parts` parts, and `threads * parts` single posts; best of `runs`
    each, alternating."""
    mine, singles = [], []
    for i in range(runs):
        mine.append(run(prepare(workdir, f"{label}-threads-{i}", threads, parts, concurrency)))
        singles.append(run(prepare(workdir, f"{label}-single-{i}", threads * parts, 1,
                                   concurrency)))  # fmt: skip
    best = min(mine, key=lambda r: r["seconds"])
    base = min(singles, key=lambda r: r["seconds"])
    return {
        "threads": best, "singles": base, "all_threads": mine, "all_singles": singles,
        "complete": all(r["published"] == threads and r["attempts"] == threads * parts
                        for r in mine)
                    and all(r["published"] == threads * parts for r in singles),
    }  # fmt: skip
