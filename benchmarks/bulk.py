"""Item 6: bulk import of 100,000 posts to three real accounts (Mastodon, X, Bluesky).

- from files: a folder of Markdown post files, `service.import_paths` (what
  `postbot enqueue --file posts/` runs after start-up): read, parse, render and count per
  account, check, then one transaction;
- from a loop of library calls: `service.enqueue_text` once per post (what `postbot enqueue`
  runs), each its own committed transaction, as the README promises;
against the floor: the same post and delivery rows, pre-built, written with `sqlite3`
`executemany` in one transaction. For the loop, a second floor: the same rows with `sqlite3`,
one transaction per post, which is what a loop of committed enqueues has to pay at least.

For the files, a second baseline, the irreducible work (`irreducible`): the same folder of
files read, their front matter parsed with PyYAML (libyaml's `CSafeLoader` where PyYAML has
it, as postbot does), each target's text rendered and counted with the same counting
functions (`compose`: twitter-text for X, the `regex` grapheme clusters for Mastodon and
Bluesky), and the rows written with one `executemany` in one transaction. Nothing is
validated: no closed key set, no time zone rules, no limits, no idempotency check. It runs in
one process; the import reads a big folder in worker processes, one per core
(`postbot.file_checks`), so both say their CPU seconds too (the import's with its workers').
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    LINK,
    TAGS,
    TEASER,
    config_text,
    create_schema,
    make_project,
    open_app,
    sql_time,
)

ACCOUNTS = {"mastodon": "mastodon", "x": "x", "bluesky": "bluesky"}
POST_SQL = (
    "INSERT INTO post (key, headline, teaser, hashtags, link, language, media, source,"
    " content_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
DELIVERY_SQL = (
    "INSERT INTO delivery (post_id, account, platform, key, text, status, due_at,"
    " next_attempt_at, attempts, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, 0, ?, ?)"
)


def _teaser(i: int) -> str:
    return f"{TEASER} (Folge {i})"


def _project(workdir: Path, name: str) -> tuple[Path, Path]:
    project = workdir / name
    db = project / "var" / "postbot.db"
    config = make_project(project, config_text(f"sqlite:///{db}", ACCOUNTS))
    create_schema(f"sqlite:///{db}")
    return config, db


def _rows(posts: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows the library writes for `posts` posts (ids 1..posts), built beforehand."""
    now = sql_time(datetime.now(UTC))
    due = sql_time(datetime.now(UTC) + timedelta(days=1))
    hashtags = json.dumps(list(TAGS))
    post_rows, delivery_rows = [], []
    for i in range(posts):
        teaser = _teaser(i)
        text = f"{teaser} {LINK} #{TAGS[0]} #{TAGS[1]}"
        digest = hashlib.sha256(teaser.encode()).hexdigest()
        post_rows.append((f"file:posts/p{i:06d}.md", None, teaser, hashtags, LINK, "de", "[]",
                          f"posts/p{i:06d}.md", digest, now, now))  # fmt: skip
        for account, platform in ACCOUNTS.items():
            delivery_rows.append(
                (i + 1, account, platform, uuid.uuid4().hex, text, due, due, now, now)
            )
    return post_rows, delivery_rows


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in ("busy_timeout = 30000", "journal_mode = WAL", "synchronous = NORMAL",
                   "foreign_keys = ON"):  # fmt: skip
        conn.execute(f"PRAGMA {pragma}")
    return conn


def raw_executemany(workdir: Path, posts: int) -> float:
    _, db = _project(workdir, "bulk-raw")
    post_rows, delivery_rows = _rows(posts)
    conn = _connect(db)
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(POST_SQL, post_rows)
    conn.executemany(DELIVERY_SQL, delivery_rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def raw_per_transaction(workdir: Path, posts: int) -> float:
    _, db = _project(workdir, "bulk-raw-loop")
    post_rows, delivery_rows = _rows(posts)
    per_post = len(ACCOUNTS)
    conn = _connect(db)
    started = time.perf_counter()
    for i, row in enumerate(post_rows):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(POST_SQL, row)
        conn.executemany(DELIVERY_SQL, delivery_rows[i * per_post : (i + 1) * per_post])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _write_posts(folder: Path, posts: int) -> None:
    folder.mkdir(exist_ok=True)
    at = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    for i in range(posts):
        (folder / f"p{i:06d}.md").write_text(
            f"---\nat: {at}\nhashtags: [{TAGS[0]}, {TAGS[1]}]\nlink: {LINK}\nlanguage: de\n---\n"
            f"{_teaser(i)}\n",
            encoding="utf-8",
        )


def irreducible(workdir: Path, posts: int) -> dict[str, float]:
    """The work no import of these files can skip, with the same libraries, done bare, in one
    process: its seconds, and its CPU seconds."""
    import yaml

    from postbot.compose import count_graphemes, count_with_url_weight, count_x

    config, db = _project(workdir, "bulk-irreducible")
    folder = config.parent.parent / "posts"
    _write_posts(folder, posts)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    counters = {"mastodon": count_with_url_weight, "x": count_x, "bluesky": count_graphemes}
    count_x("warm-up https://example.org")  # twitter-text's import is start-up, not import
    conn = _connect(db)
    started, cpu = time.perf_counter(), _cpu()
    now = sql_time(datetime.now(UTC))
    post_rows, delivery_rows = [], []
    for post_id, path in enumerate(sorted(folder.iterdir()), 1):
        _, block, body = path.read_text(encoding="utf-8").split("---\n", 2)
        meta = yaml.load(block, Loader=loader)
        teaser, link, tags = body.strip(), meta["link"], meta["hashtags"]
        text = f"{teaser} {link} " + " ".join(f"#{tag}" for tag in tags)
        for platform in ACCOUNTS.values():
            counters[platform](text)
        due = sql_time(meta["at"])
        source = f"posts/{path.name}"
        digest = hashlib.sha256(teaser.encode()).hexdigest()
        post_rows.append((f"file:{source}", None, teaser, json.dumps(tags), link,
                          meta["language"], "[]", source, digest, now, now))  # fmt: skip
        for account, platform in ACCOUNTS.items():
            delivery_rows.append(
                (post_id, account, platform, uuid.uuid4().hex, text, due, due, now, now)
            )
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(POST_SQL, post_rows)
    conn.executemany(DELIVERY_SQL, delivery_rows)
    conn.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
    conn.close()
    return {"seconds": elapsed, "cpu": cpu}


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (an import's workers)."""
    import resource

    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def from_files(workdir: Path, posts: int) -> dict[str, Any]:
    config, db = _project(workdir, "bulk-files")
    folder = config.parent.parent / "posts"
    _write_posts(folder, posts)
    from postbot import service
    from postbot.compose import count_x

    app = open_app(config)
    count_x("warm-up https://example.org")  # as for `irreducible`: library imports are start-up
    started, cpu = time.perf_counter(), _cpu()
    report = service.import_paths(app, [folder])
    elapsed, cpu = time.perf_counter() - started, _cpu() - cpu  # the workers have ended
    app.store.dispose()
    created = sum(1 for r in report.results if r.action == "created")
    return {"seconds": elapsed, "cpu": cpu, "readers": report.readers, "created": created,
            "deliveries": _deliveries(db)}  # fmt: skip


def enqueue_loop(workdir: Path, posts: int) -> dict[str, Any]:
    config, db = _project(workdir, "bulk-loop")
    from postbot import service

    app = open_app(config)
    started = time.perf_counter()
    for i in range(posts):
        service.enqueue_text(app, _teaser(i), hashtags=TAGS, link=LINK, at="+1d", language="de")
    elapsed = time.perf_counter() - started
    app.store.dispose()
    return {"seconds": elapsed, "deliveries": _deliveries(db)}


def _deliveries(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM delivery").fetchone()[0])
    finally:
        conn.close()
