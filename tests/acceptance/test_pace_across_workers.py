"""Pacing that holds across workers and shows itself, and dry runs kept apart from live pacing:
real `postbot` processes on real databases.

1. Four daemons on one database (SQLite, then PostgreSQL), one account paced at 10 per hour,
   200 posts due: at most 10 attempts, the other 190 still queued, and a log line that says
   the account is paced out and when its next slot opens, in the configured zone.
2. A dry run keeps its own budget: the live run after a demo is not held back by it; and a live
   run refuses to start over dry-run results (one line, exit 2) until they are re-queued.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postbot.config import load_settings
from postbot.drafts import Draft, plan
from postbot.store import open_store
from tests.acceptance.conftest import Daemon, query, sqlite_url
from tests.support import clean_env, make_project, postbot_json, run_postbot, wait_until

CONFIG = """
project_dir = ".."
timezone = "Europe/Berlin"
language = "de"

[database]
url = "sqlite:///var/postbot.db"

[daemon]
poll_interval = 0.2
heartbeat_seconds = 0.5
lease_seconds = 30
shutdown_grace = 10

[accounts.paced]
platform = "dryrun"
pace = "{pace}"
"""
DAEMONS = 4
POSTS = 200


def count(url: str, sql: str) -> int:
    return int(query(url, sql)[0]["n"])


def enqueue_due(project: Path, url: str, n: int) -> None:
    """`n` posts due now, in one transaction (as `postbot enqueue` stores them)."""
    settings = load_settings(project / "config" / "postbot.toml", environ=clean_env())
    store = open_store(url)
    try:
        store.ensure_schema()
        now = datetime.now(UTC)
        items = [(plan(Draft(teaser=f"Takt {i:03d}", to=("paced",)), settings), now)
                 for i in range(n)]  # fmt: skip
        store.enqueue_many(items, now)
    finally:
        store.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_four_daemons_together_keep_one_accounts_pace(
    backend: str,
    tmp_path: Path,
    start_daemon: Callable[..., Daemon],
    request: pytest.FixtureRequest,
) -> None:
    project = make_project(tmp_path, CONFIG.format(pace="10/1h"))
    url = sqlite_url(project)
    extra: dict[str, str] = {}
    if backend == "postgresql":
        url = request.getfixturevalue("pg_empty_url")
        extra["POSTBOT_DATABASE_URL"] = url
    env = clean_env(**extra)
    assert run_postbot(project, "status", env=env).returncode == 0  # creates the schema
    daemons = [start_daemon(project, env) for _ in range(DAEMONS)]
    assert wait_until(lambda: count(url, "SELECT count(*) AS n FROM heartbeat") == DAEMONS, 60)

    enqueue_due(project, url, POSTS)  # all four wake at once (watch job / NOTIFY)
    assert wait_until(lambda: count(url, "SELECT count(*) AS n FROM attempt") >= 10, 30)
    time.sleep(1.5)  # time enough for any daemon to overshoot
    attempts = count(url, "SELECT count(*) AS n FROM attempt")
    statuses = {r["status"]: r["n"] for r in query(
        url, "SELECT status, count(*) AS n FROM delivery GROUP BY status")}  # fmt: skip
    codes = [d.terminate() for d in daemons]
    logs = [d.log() for d in daemons]
    assert codes == [0] * DAEMONS, "\n".join(log[-2000:] for log in logs)
    assert attempts == 10, statuses
    assert statuses == {"published": 10, "queued": POSTS - 10}
    workers = query(url, "SELECT DISTINCT worker FROM attempt")
    assert len(workers) >= 1
    # The account is not silent: a daemon says it is paced out, and until when (local time).
    paced = [line for log in logs for line in log.splitlines() if "paced out" in line]
    assert paced, "\n".join(log[-2000:] for log in logs)
    assert re.search(
        r"paced: paced out, 10 of 10 per 1h used; \d+ due post\(s\) wait; "
        r"next slot \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CET$",
        paced[0],
    ), paced[0]


def test_a_dry_run_does_not_use_up_the_live_budget_and_a_live_run_waits_for_golive(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path, CONFIG.format(pace="3/24h"))
    url = sqlite_url(project)
    for i in range(3):
        assert run_postbot(project, "enqueue", f"Probe {i}", "--now").returncode == 0

    demo = run_postbot(project, "run", "--dry-run", "--once")
    assert demo.returncode == 0, demo.stderr
    assert "handled 3 deliveries" in demo.stderr
    shown = postbot_json(project, "status")
    assert shown["counts"] == {"published": 3}

    before = query(url, "SELECT id, status, dry_run FROM delivery ORDER BY id")
    live = run_postbot(project, "run", "--once")
    assert live.returncode == 2, live.stderr
    assert live.stderr.strip() == (
        "postbot: error: the database holds dry-run results (3 published); run `postbot golive`"
        " to queue them for real first, or keep trying with `postbot run --dry-run`"
    )
    assert query(url, "SELECT id, status, dry_run FROM delivery ORDER BY id") == before

    listed = run_postbot(project, "list").stdout
    assert "published*" in listed and "set by a dry run: nothing was sent" in listed
    golive = run_postbot(project, "golive")
    assert golive.returncode == 0, golive.stderr
    assert golive.stdout.startswith(
        "re-queued 3 deliveries of 3 posts (a dry run had 3 published)"
    ), golive.stdout
    assert postbot_json(project, "golive") == {
        "requeued": 0,
        "posts": [],
        "by_status": {},
        "examples_cancelled": [],
    }
    went_live = run_postbot(project, "run", "--once")
    assert went_live.returncode == 0, went_live.stderr
    # All three: the three dry-run attempts of a moment ago did not use the live budget.
    assert "handled 3 deliveries" in went_live.stderr
    attempts = query(url, "SELECT dry_run, count(*) AS n FROM attempt GROUP BY dry_run")
    assert {bool(r["dry_run"]): r["n"] for r in attempts} == {True: 3, False: 3}


def test_a_paced_out_account_says_why_its_due_posts_wait_and_until_when(tmp_path: Path) -> None:
    project = make_project(tmp_path, CONFIG.format(pace="2/24h"))
    for i in range(3):
        assert run_postbot(project, "enqueue", f"Takt {i}", "--now").returncode == 0
    done = run_postbot(project, "run", "--once")
    assert done.returncode == 0 and "handled 2 deliveries" in done.stderr, done.stderr

    local = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T"
    status = run_postbot(project, "status").stdout
    assert re.search(
        rf"^next due: {local} \(paced waits for its pace: 2 of 2 per 1d used\)$",
        status,
        re.MULTILINE,
    ), status
    assert re.search(
        rf"^paced: paced out \(2 of 2 per 1d used\), 1 due wait\(s\), next slot {local}$",
        status,
        re.MULTILINE,
    ), status
    [waiting] = [p for p in postbot_json(project, "list") if p["text"] == "Takt 2"]
    [delivery] = waiting["deliveries"]
    assert delivery["status"] == "queued"
    assert delivery["waiting"]["reason"] == "paced"
    assert delivery["waiting"]["pace"] == {
        "account": "paced",
        "pace": "2/1d",
        "used": 2,
        "next_slot": delivery["waiting"]["until"],
        "waiting": 1,
    }
    next_slot = datetime.fromisoformat(delivery["waiting"]["until"].replace("Z", "+00:00"))
    assert timedelta(hours=23) < next_slot - datetime.now(UTC) <= timedelta(hours=24)
    shown = run_postbot(project, "show", str(waiting["id"])).stdout
    assert re.search(rf"waits for its pace \(2 of 2 per 1d used\) until {local}", shown), shown
    assert "paced" in run_postbot(project, "list").stdout
    assert postbot_json(project, "status")["paced_out"][0]["used"] == 2
