"""Benchmark item 12: feeds.

(a) a feed of 10,000 items, first polled (every key stored, nothing posted) and then re-polled
    unchanged (a server that ignores ETags: fetched and parsed again, nothing written), against
    feedparser alone parsing the same bytes;
(b) 50 feeds of 100 items each answered with 304: one poll of all of them (`postbot feeds
    poll`), against the 50 conditional GETs alone.
Served by a local HTTP server on 127.0.0.1; SQLite database in the work folder.
"""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def feed_bytes(count: int, name: str = "feed") -> bytes:
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    items = [
        f"<item><title><![CDATA[Artikel {n}: Grüße aus Köln]]></title>"
        f"<link>https://www.example-zeitung.de/{name}/{n}.html?utm_source=rss</link>"
        f'<guid isPermaLink="false">urn:{name}:{n}</guid>'
        f"<description><![CDATA[<p>Die Abgeordneten stimmten &bdquo;mit gro&szlig;er"
        f" Mehrheit&ldquo; zu. Nummer {n}.</p>]]></description>"
        f"<category>Politik</category><pubDate>{format_datetime(t0 - timedelta(minutes=n))}"
        "</pubDate></item>"
        for n in range(count)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Bench</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


class _Server:
    def __init__(self, feeds: dict[str, bytes], conditional: bool = True) -> None:
        self.feeds = feeds
        self.conditional = conditional
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                body = outer.feeds[self.path]
                tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if outer.conditional and self.headers.get("If-None-Match") == tag:
                    self.send_response(304)
                    self.send_header("ETag", tag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", tag)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _app(work: Path, feeds: dict[str, str]) -> Any:
    from postbot.config import parse_settings
    from postbot.service import App
    from postbot.store import open_store

    db = work / f"feeds-{len(list(work.glob('feeds-*.db')))}.db"
    raw = {
        "timezone": "Europe/Berlin", "language": "de", "project_dir": str(work),
        "database": {"url": f"sqlite:///{db}"},
        "accounts": {"mastodon": {"platform": "mastodon", "base_url": "https://m.example"}},
        "feeds": {n: {"url": u, "to": ["mastodon"]} for n, u in feeds.items()},
    }  # fmt: skip
    store = open_store(raw["database"]["url"])  # type: ignore[index]
    store.ensure_schema()
    return App(parse_settings(raw, work / "postbot.toml", {}), store)


def big_feed(work: Path, items: int, runs: int) -> dict[str, Any]:
    import feedparser

    from postbot.service import feeds

    body = feed_bytes(items)
    server = _Server({"/big.xml": body}, conditional=False)
    parse, first, again = [], [], []
    names = [f"big{n}" for n in range(runs)]  # a first poll each: one feed per run
    try:
        app = _app(work, {name: server.url("/big.xml") for name in names})
        for name in names:  # alternating, so all three see the same machine
            started = time.perf_counter()
            feedparser.parse(body)
            parse.append(time.perf_counter() - started)
            started = time.perf_counter()
            [report] = feeds.poll_now(app, name)
            first.append(time.perf_counter() - started)
            seen = report.count("seen")
            started = time.perf_counter()
            [report] = feeds.poll_now(app, name)
            again.append(time.perf_counter() - started)
        app.store.dispose()
    finally:
        server.stop()
    first_s = min(first)
    return {
        "items": items, "parse": min(parse), "first_poll": first_s, "repoll": min(again),
        "seen": seen, "repoll_created": report.count("created"),
        "bytes": len(body),
    }  # fmt: skip


def many_304(work: Path, count: int, items: int, runs: int) -> dict[str, Any]:
    import requests

    from postbot.service import feeds

    bodies = {f"/f{n}.xml": feed_bytes(items, f"f{n}") for n in range(count)}
    server = _Server(bodies)
    try:
        app = _app(work, {f"f{n}": server.url(f"/f{n}.xml") for n in range(count)})
        feeds.poll_now(app)  # the first poll of each: the ETags are stored
        polls, gets = [], []
        http = requests.Session()
        tags = {p: '"' + hashlib.sha1(b).hexdigest()[:16] + '"' for p, b in bodies.items()}
        for _ in range(runs):
            started = time.perf_counter()
            reports = feeds.poll_now(app, http=http)
            polls.append(time.perf_counter() - started)
            started = time.perf_counter()
            for path, tag in tags.items():
                http.get(server.url(path), headers={"If-None-Match": tag}, timeout=5)
            gets.append(time.perf_counter() - started)
        app.store.dispose()
    finally:
        server.stop()
    not_modified = sum(r.result.value == "not modified" for r in reports)
    return {"feeds": count, "poll_all": statistics.median(polls),
            "gets": statistics.median(gets), "not_modified": not_modified}  # fmt: skip


# -- a running daemon: idle cost and latency --------------------------------------------------
def _daemon_project(work: Path, name: str, feeds: dict[str, str], every: str) -> Path:
    from benchmarks.common import config_text, create_schema, make_project

    project = work / name
    db = project / "var" / "postbot.db"
    text = config_text(f"sqlite:///{db}", {"bench-a": "bench-instant"})
    for feed, url in feeds.items():
        text += f'[feeds.{feed}]\nurl = "{url}"\nto = ["bench-a"]\nevery = "{every}"\n'
    make_project(project, text)
    create_schema(f"sqlite:///{db}")
    return project


def idle_cpu(work: Path, count: int, items: int, seconds: float) -> dict[str, Any]:
    """Two `postbot run` daemons side by side, one polling `count` feeds (every 5 minutes,
    answered 304 after the first poll), one without feeds: CPU over `seconds` between polls."""
    from benchmarks.common import Daemon, cpu_seconds

    bodies = {f"/f{n}.xml": feed_bytes(items, f"f{n}") for n in range(count)}
    server = _Server(bodies)
    projects = {
        "feeds": _daemon_project(work, "idle-feeds",
                                 {f"f{n}": server.url(f"/f{n}.xml") for n in range(count)}, "5m"),
        "plain": _daemon_project(work, "idle-plain", {}, "5m"),
    }  # fmt: skip
    daemons = {n: Daemon(p) for n, p in projects.items()}
    try:
        for d in daemons.values():
            d.wait_started()
        _wait_polled(projects["feeds"], count)  # the first polls (each parses its feed) ...
        time.sleep(2)  # ... then quiet until the next, in 5 minutes
        start = {n: cpu_seconds(d.pid) for n, d in daemons.items()}
        began = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - began
        used = {n: cpu_seconds(d.pid) - start[n] for n, d in daemons.items()}
    finally:
        for d in daemons.values():
            d.stop()
        server.stop()
    return {n: 100 * used[n] / elapsed for n in used} | {"seconds": elapsed}


def _wait_polled(project: Path, count: int, timeout: float = 600) -> None:
    import sqlite3

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = sqlite3.connect(project / "var" / "postbot.db")
        try:
            done = conn.execute("SELECT count(*) FROM feed WHERE polled_at IS NOT NULL")
            if done.fetchone()[0] >= count:
                return
        except sqlite3.OperationalError:  # the schema is being made
            pass
        finally:
            conn.close()
        time.sleep(0.5)
    raise RuntimeError(f"the daemon did not poll its {count} feeds within {timeout:g} s")


def latency(work: Path, articles: int, every: float) -> dict[str, Any]:
    """A daemon polls one feed every `every` seconds; `articles` new items appear one by one at
    random moments: from an item appearing to its post being in the queue."""
    import random

    from benchmarks.common import Daemon, percentile
    from postbot.store import open_store

    entries: list[bytes] = []

    def body() -> bytes:
        return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                "<title>L</title>" + "".join(e.decode() for e in entries)
                + "</channel></rss>").encode()  # fmt: skip

    server = _Server({"/l.xml": body()})
    project = _daemon_project(work, "latency", {"l": server.url("/l.xml")}, f"{every:g}s")
    daemon = Daemon(project)
    appeared: dict[str, float] = {}
    store = open_store(f"sqlite:///{project / 'var' / 'postbot.db'}")
    try:
        daemon.wait_started()
        time.sleep(every + 1)  # the first poll: the (empty) feed is watched from then on
        rng = random.Random(12)
        for n in range(articles):
            time.sleep(rng.uniform(0.2, every))
            entries.insert(0, f"<item><title>Artikel {n}</title><guid>l-{n}</guid>"
                              f"<link>https://e.org/{n}</link></item>".encode())  # fmt: skip
            server.feeds["/l.xml"] = body()
            appeared[f"Artikel {n}"] = time.time()
        deadline = time.monotonic() + 2 * every + 10
        posts: dict[str, float] = {}
        while time.monotonic() < deadline and len(posts) < articles:
            posts = {p.teaser: p.created_at.timestamp() for p in store.list_posts()}
            time.sleep(0.2)
    finally:
        store.dispose()
        daemon.stop()
        server.stop()
    waits = [posts[t] - at for t, at in appeared.items() if t in posts]
    return {"articles": articles, "queued": len(waits), "every": every,
            "p50": percentile(waits, 50) if waits else None,
            "p99": percentile(waits, 99) if waits else None,
            "max": max(waits) if waits else None}  # fmt: skip


def rows(work: Path, s: Any, details: dict[str, Any], row: Any) -> list[Any]:
    """Item 12's rows for benchmarks/run.py (`row` is its Row; `s` its Sizes)."""
    import sys

    feeds = sys.modules[__name__]
    big = feeds.big_feed(work, s.feed_items, s.feed_runs)
    many = feeds.many_304(work, s.feeds, s.feed_size, s.feed_runs)
    idle = feeds.idle_cpu(work, s.feeds, s.feed_size, s.feed_idle)
    late = feeds.latency(work, s.feed_articles, s.feed_every)
    details["12"] = {"big": big, "many_304": many, "idle": idle, "latency": late}
    n = f"{s.feed_items:,}"
    both = big["first_poll"] + big["repoll"]
    return [
        row("12a", 12, f"feed of {n} items: first poll + re-poll unchanged (no ETag)", both, "s",
            "feedparser alone parsing it, twice", 2 * big["parse"], "<= 1.5 x baseline",
            # each poll on its own within 1.5 x one parse, and nothing made by the re-poll
            max(big["first_poll"], big["repoll"]) <= 1.5 * big["parse"]
            and big["repoll_created"] == 0,
            note=f"first poll {big['first_poll']:.2f} s ({big['seen']:,} keys stored),"
                 f" re-poll {big['repoll']:.2f} s, parse {big['parse']:.2f} s; best of"
                 f" {s.feed_runs}; {big['bytes'] / 1e6:.1f} MB over local HTTP, SQLite"),
        row("12b", 12, f"{s.feeds} feeds of {s.feed_size} items answered 304: one poll of all",
            many["poll_all"], "s", f"the {s.feeds} conditional GETs alone", many["gets"],
            "<= 2 s", many["poll_all"] <= 2.0 and many["not_modified"] == s.feeds,
            note=f"median of {s.feed_runs}; {many['not_modified']} answered 304;"
                 " `postbot feeds poll` order, one after another"),
        row("12c", 12, f"idle CPU of `postbot run` polling {s.feeds} feeds (every 5 min)",
            idle["feeds"], "% of a core", "the same daemon without feeds", idle["plain"],
            "< 1% and <= 1.2 x baseline",
            idle["feeds"] < 1 and idle["feeds"] <= 1.2 * max(idle["plain"], 0.05),
            note=f"over {idle['seconds']:.0f} s between polls, side by side"),
        row("12d", 12, f"new article -> post queued, p99 of {late['queued']}, polled every"
            f" {s.feed_every:g} s", late["p99"], "s", "the poll interval", s.feed_every,
            "<= interval + 1 s",
            late["p99"] is not None and late["p99"] <= s.feed_every + 1
            and late["queued"] == s.feed_articles,
            note=f"p50 {late['p50'] or 0:.2f} s, max {late['max'] or 0:.2f} s; a running"
                 " daemon, articles appearing at random moments"),
    ]  # fmt: skip
