"""Item 4: idle cost of a real `postbot run` with 1,000,000 future posts queued.

Two daemons run side by side, each on its own SQLite database: one with 1,000,000 future posts,
the baseline with 1,000. After start-up settles, CPU time (/proc/<pid>/stat, user + system) is
sampled over the measuring window, and resident memory (/proc/<pid>/status VmRSS) at its end.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    Daemon,
    config_text,
    cpu_seconds,
    create_schema,
    make_project,
    rss_bytes,
    seed_sqlite,
    utcnow,
)

ACCOUNTS = {"bench-a": "bench-instant"}


def _project(workdir: Path, name: str, posts: int) -> Path:
    project = workdir / name
    db = project / "var" / "postbot.db"
    make_project(project, config_text(f"sqlite:///{db}", ACCOUNTS))
    create_schema(f"sqlite:///{db}")
    # Due from one hour to thirty days from now: nothing comes due while we watch.
    first = utcnow() + timedelta(hours=1)
    step = timedelta(days=30) / max(1, posts)
    seed_sqlite(db, posts, ACCOUNTS, [first + i * step for i in range(posts)])
    return project


def prepare(workdir: Path, big: int, small: int) -> dict[str, Path]:
    return {"big": _project(workdir, "idle-big", big),
            "small": _project(workdir, "idle-small", small)}  # fmt: skip


def idle(projects: dict[str, Path], seconds: float, settle: float = 5.0) -> dict[str, Any]:
    sizes = {name: _queued(project) for name, project in projects.items()}
    daemons = {name: Daemon(project) for name, project in projects.items()}
    try:
        for daemon in daemons.values():
            daemon.wait_started()
        time.sleep(settle)
        start = {n: cpu_seconds(d.pid) for n, d in daemons.items()}
        began = time.monotonic()
        peak = {n: 0 for n in daemons}
        while time.monotonic() - began < seconds:
            time.sleep(min(1.0, max(0.0, seconds - (time.monotonic() - began))))
            for n, d in daemons.items():
                peak[n] = max(peak[n], rss_bytes(d.pid))
        elapsed = time.monotonic() - began
        out = {}
        for n, d in daemons.items():
            cpu = cpu_seconds(d.pid) - start[n]
            out[n] = {
                "cpu_seconds": cpu,
                "cpu_percent": 100 * cpu / elapsed,
                "rss": rss_bytes(d.pid),
                "rss_peak_window": peak[n],
                "rss_hwm": rss_bytes(d.pid, "VmHWM"),
                "posts": sizes[n],
            }
        out["seconds"] = elapsed
        return out
    finally:
        for daemon in daemons.values():
            daemon.stop()


def _queued(project: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(project / "var" / "postbot.db")
    try:
        return int(conn.execute("SELECT count(*) FROM post").fetchone()[0])
    finally:
        conn.close()
