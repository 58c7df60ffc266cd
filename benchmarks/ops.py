"""Items 9 and 10: operations.

9. A `/metrics` scrape (over HTTP, from the daemon's own server and collector) of a database with
   1,000,000 deliveries against one with 1,000, scrapes alternating, median of each:
   (a) a long-lived queue: 999,000 published deliveries and the same 1,000 queued (half due
       now, half later) as the small one; (b) 1,000,000 queued for later (item 4's queue).
10. Wall time of `postbot doctor` (offline) against `postbot status`, alternating, median.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    clean_env,
    config_text,
    create_schema,
    make_project,
    open_app,
    seed_sqlite,
)
from benchmarks.startup import postbot_command

ACCOUNTS = {"mastodon": "mastodon", "x": "x", "bluesky": "bluesky"}
SECRETS = {"MASTODON_ACCESS_TOKEN": "bench-token", "X_CONSUMER_KEY": "k", "X_CONSUMER_SECRET": "s",
           "X_ACCESS_TOKEN": "t", "X_ACCESS_TOKEN_SECRET": "ts", "BLUESKY_HANDLE": "bench.test",
           "BLUESKY_APP_PASSWORD": "bench-password"}  # fmt: skip


def _project(root: Path) -> Path:
    return make_project(root, config_text(f"sqlite:///{root}/var/postbot.db", ACCOUNTS))


def _seed(root: Path, settled: int, queued_due: int, queued_later: int) -> Path:
    config = _project(root)
    db = root / "var" / "postbot.db"
    create_schema(f"sqlite:///{db}")
    now = datetime.now(UTC)
    per = len(ACCOUNTS)
    if settled:
        import sqlite3

        seed_sqlite(db, settled // per, ACCOUNTS, now - timedelta(days=30))
        with sqlite3.connect(db) as conn:  # history: published long ago
            conn.execute("UPDATE delivery SET status = 'published', attempts = 1")
    if queued_due:
        seed_sqlite(db, queued_due // per, ACCOUNTS, now - timedelta(minutes=1))
    if queued_later:
        seed_sqlite(db, queued_later // per, ACCOUNTS, now + timedelta(days=1))
    return config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(config: Path) -> Any:
    from postbot.ops.checks import Check
    from postbot.ops.health import OpsServer
    from postbot.ops.metrics import Metrics

    app = open_app(config)
    metrics = Metrics(app.store, app.settings, "bench", clock=lambda: datetime.now(UTC))
    server = OpsServer(f"127.0.0.1:{_free_port()}", metrics=metrics.render,
                       ready=lambda: [Check("bench", True)], live=lambda: True)  # fmt: skip
    server.start()
    return app, server


def _scrape(server: Any) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://{server.address}/metrics", timeout=60) as answer:
        assert answer.status == 200 and b"postbot_queue_due" in answer.read()
    return time.perf_counter() - started


def scrape(work: Path, big: int, small: int, runs: int) -> dict[str, Any]:
    """9(a) and 9(b): median scrape times, big against small, alternating."""
    half = small // 2
    shapes = {
        "history": (_seed(work / "big-history", big - small, half, small - half),
                    _seed(work / "small-history", 0, half, small - half)),
        "future": (_seed(work / "big-future", 0, 0, big),
                   _seed(work / "small-future", 0, 0, small)),
    }  # fmt: skip
    out: dict[str, Any] = {}
    for shape, (big_config, small_config) in shapes.items():
        (big_app, big_server), (small_app, small_server) = _serve(big_config), _serve(small_config)
        try:
            _scrape(big_server), _scrape(small_server)  # warm: statements compiled, pages cached
            ours, theirs = [], []
            for _ in range(runs):
                ours.append(_scrape(big_server))
                theirs.append(_scrape(small_server))
        finally:
            for app, server in ((big_app, big_server), (small_app, small_server)):
                server.stop()
                app.store.dispose()
        out[shape] = {"big": statistics.median(ours), "small": statistics.median(theirs),
                      "big_all": ours, "small_all": theirs}  # fmt: skip
    return out


def _time(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=clean_env(**SECRETS), stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)  # fmt: skip
    return time.perf_counter() - started


def doctor_vs_status(work: Path, runs: int) -> dict[str, Any]:
    """10: `postbot doctor` (offline) against `postbot status` on the same project."""
    root = work / "doctor"
    _seed(root, 3_000, 300, 300)
    doctor, status = [*postbot_command(), "doctor"], [*postbot_command(), "status"]
    _time(doctor, root), _time(status, root)  # warm the file cache
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(_time(doctor, root))
        theirs.append(_time(status, root))
    return {"doctor": statistics.median(ours), "status": statistics.median(theirs),
            "doctor_all": ours, "status_all": theirs}  # fmt: skip
