"""Item 13: the web calendar's week view, served by a real `postbot serve` process.

A project with four accounts (Mastodon, X, Bluesky, a second Mastodon) and 2,000 deliveries
in one week of March 2027 (500 posts, spread over the days and hours, in every state), plus
10,000 deliveries in the weeks around it that the week's read must pass over. The server is a
`postbot serve` process on 127.0.0.1; the readers are threads of this process, each with its
own keep-alive connection.

(a) one reader, alternating: the week page (`/week?of=…`) against the bare route that returns
    the same rows as JSON (`/api/week?of=…`: the same read, `postbot show --json`'s shapes);
(b) the page's size against the JSON's;
(c) twenty concurrent readers of the week page: p99 of their latencies against the p50 of
    one reader alone, measured just before; three rounds, the median round is reported.
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import sqlite3
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.common import (
    PYTHON,
    clean_env,
    config_text,
    create_schema,
    make_project,
    median,
    percentile,
    seed_sqlite,
)

ACCOUNTS = {"mastodon": "mastodon", "x": "x", "bluesky": "bluesky", "regional": "mastodon"}
WEEK = "2027-03-22"  # Monday of a week with the change to summer time
BERLIN = ZoneInfo("Europe/Berlin")
STATES = (
    ("published", 0.15),
    ("failed", 0.03),
    ("cancelled", 0.02),
    ("missed", 0.01),
    ("unknown", 0.01),
)  # fmt: skip; the rest stays queued


def prepare(work: Path, deliveries: int, others: int) -> Path:
    project = work / "web"
    db = project / "var" / "postbot.db"
    make_project(project, config_text(f"sqlite:///{db}", ACCOUNTS))
    create_schema(f"sqlite:///{db}")
    rng = random.Random(13)
    start = datetime(2027, 3, 22, tzinfo=BERLIN).astimezone(UTC)
    week = [
        start + timedelta(minutes=rng.randrange(7 * 24 * 60 - 60)) for _ in range(deliveries // 4)
    ]
    around = [
        start + timedelta(days=rng.choice([-21, -14, -7, 7, 14, 21]), minutes=rng.randrange(10_000))
        for _ in range(others // 4)
    ]
    seed_sqlite(db, len(week), ACCOUNTS, sorted(week))
    seed_sqlite(db, len(around), ACCOUNTS, around)
    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM delivery ORDER BY id")]
        rng.shuffle(ids)
        position = 0
        for status, share in STATES:
            chosen = ids[position : position + int(share * len(ids))]
            position += len(chosen)
            conn.executemany(
                "UPDATE delivery SET status = ? WHERE id = ?", [(status, i) for i in chosen]
            )
    return project


class Server:
    """A `postbot serve` process on a free port of 127.0.0.1."""

    def __init__(self, project: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = clean_env(POSTBOT_WEB_SECRET="bench-" + "s" * 40)
        self.log = open(project / "serve.log", "w", encoding="utf-8")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "postbot", "serve", "--port", str(self.port)], cwd=project, env=env,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = get(self.connection(), "/api/week?of=2000-01-03")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"postbot serve did not start; see {project / 'serve.log'}")
            time.sleep(0.1)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def timed(conn: http.client.HTTPConnection, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    status, body = get(conn, path)
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"GET {path}: HTTP {status}")
    return elapsed, len(body)


def measure(work: Path, deliveries: int, others: int, runs: int, readers: int,
            per_reader: int) -> dict[str, Any]:  # fmt: skip
    project = prepare(work, deliveries, others)
    server = Server(project)
    page, bare = f"/week?of={WEEK}", f"/api/week?of={WEEK}"
    try:
        conn = server.connection()
        for _ in range(3):  # warm: templates compiled, caches filled
            timed(conn, page)
            timed(conn, bare)
        pages, jsons = [], []
        for _ in range(runs):
            pages.append(timed(conn, page))
            jsons.append(timed(conn, bare))
        status, body = get(conn, page)
        chips = body.count(b'" title="')  # one per delivery chip (the legend has no title)
        conn.close()

        rounds = [concurrent_round(server, page, readers, per_reader) for _ in range(3)]
    finally:
        server.stop()
    single = [t for t, _ in pages]
    middle = sorted(rounds, key=lambda r: r["ratio"])[1]  # the median of three rounds
    return {
        "deliveries_in_week": deliveries, "deliveries_around": others, "chips": chips,
        "page_median": median(single), "json_median": median([t for t, _ in jsons]),
        "page_bytes": pages[-1][1], "json_bytes": jsons[-1][1], "readers": readers,
        "per_reader": per_reader, "round": middle, "rounds": rounds, "page_all": single,
        "json_all": [t for t, _ in jsons], "status": status, "cpus": os.cpu_count(),
    }  # fmt: skip


def concurrent_round(server: Server, page: str, readers: int, per_reader: int) -> dict[str, Any]:
    """One reader alone (p50 of 10), then `readers` at once, each `per_reader` pages in a row."""
    conn = server.connection()
    alone = percentile([timed(conn, page)[0] for _ in range(10)], 50)
    conn.close()
    latencies: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(readers)

    def reader() -> None:
        mine = server.connection()
        ready.wait()
        got = [timed(mine, page)[0] for _ in range(per_reader)]
        mine.close()
        with lock:
            latencies.extend(got)

    threads = [threading.Thread(target=reader) for _ in range(readers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    p99 = percentile(latencies, 99)
    return {
        "alone_p50": alone, "p50": percentile(latencies, 50), "p99": p99,
        "max": max(latencies), "wall": wall, "rate": len(latencies) / wall, "ratio": p99 / alone,
    }  # fmt: skip
