"""Recurring posts through the CLI and a real dry-run daemon: the rule and next occurrence in
`list` and `show`, a daemon outage that never fires a burst of catch-up posts, the next
occurrence queued once the one before went out, cancel stopping the series, and a deleted
post file stopping it under `[posts] on_delete`."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from postbot.domain import Status
from postbot.recurring import parse_every
from postbot.store import open_store
from tests.acceptance.cli_helpers import refused
from tests.stores import force_delivery
from tests.support import (
    DRY_CONFIG,
    POSTBOT,
    clean_env,
    make_project,
    postbot_json,
    run_postbot,
    wait_until,
)

BERLIN = ZoneInfo("Europe/Berlin")
RULE = "mon 09:00"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(
        tmp_path, DRY_CONFIG.replace("[database]", '[posts]\ndir = "posts"\n\n[database]')
    )


@pytest.fixture
def daemon(project: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [*POSTBOT, "run", "--dry-run"], cwd=project, env=clean_env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return err


def next_monday(after: datetime) -> datetime:
    found = parse_every(RULE).after(after, BERLIN)
    assert found is not None
    return found


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def posts(project: Path) -> dict[int, dict[str, Any]]:
    return {p["id"]: p for p in postbot_json(project, "list")}


def move(project: Path, post: dict[str, Any], due: datetime) -> None:
    """Time passing while the daemon is down: the occurrence's due time is moved back."""
    store = open_store(f"sqlite:///{project / 'var' / 'postbot.db'}")
    try:
        for d in post["deliveries"]:
            force_delivery(store, d["id"], Status.QUEUED, due_at=due, next_attempt_at=due)
    finally:
        store.dispose()


def test_a_recurring_post_across_a_daemon_outage(project: Path, daemon: Any) -> None:
    done = run_postbot(project, "enqueue", "Der Newsletter ist da", "--every", RULE,
                       "--until", "2031-12-31 23:59", "--to", "mastodon")  # fmt: skip
    assert done.returncode == 0, done.stderr
    head = int(done.stdout)
    first = next_monday(datetime.now(UTC))
    listed = posts(project)[head]
    until = "2031-12-31T22:59:00Z"
    assert listed["recurrence"] == {"every": RULE, "series_id": head, "until": until,
                                    "next_at": iso(first), "stopped": False}  # fmt: skip
    assert listed["deliveries"][0]["due_at"] == iso(first)
    text = run_postbot(project, "list").stdout
    assert f"post {head}: every {RULE}, until 2031-12-31 23:59:00 CET, next" in text
    assert f"repeats:  every {RULE}" in run_postbot(project, "show", str(head)).stdout

    # The daemon was down for three weeks: three Mondays went by. When it starts, the stale
    # occurrence is missed (beyond max_lateness), and one next occurrence is queued, the next
    # Monday to come: no burst of catch-up posts.
    move(project, listed, first - timedelta(weeks=3))
    proc = daemon()
    both = wait_until(lambda: len(p := posts(project)) == 2 and p, timeout=30)
    assert both, posts(project)
    assert [d["status"] for d in both[head]["deliveries"]] == ["missed"]
    [second] = [p for i, p in both.items() if i != head]
    assert [(d["status"], d["due_at"]) for d in second["deliveries"]] == [("queued", iso(first))]
    assert second["recurrence"]["series_id"] == head
    wait_until(lambda: False, timeout=12)  # two more rounds of the daemon's recurring job
    assert len(posts(project)) == 2

    # The second occurrence comes due while the daemon runs: it goes out (a dry run), and the
    # third is queued for the Monday after the second's own.
    move(project, second, datetime.now(UTC) + timedelta(seconds=1))
    three = wait_until(lambda: len(p := posts(project)) == 3 and p, timeout=30)
    assert three, posts(project)
    assert [d["status"] for d in three[second["id"]]["deliveries"]] == ["published"]
    [third] = [p for i, p in three.items() if i not in (head, second["id"])]
    assert [d["due_at"] for d in third["deliveries"]] == [iso(first + timedelta(weeks=1))]

    # Cancelling stops the series: its queued occurrence is cancelled, no other follows.
    done = run_postbot(project, "cancel", str(head))
    assert done.returncode == 0, done.stderr
    wait_until(lambda: False, timeout=7)
    after = posts(project)
    assert len(after) == 3
    assert [d["status"] for d in after[third["id"]]["deliveries"]] == ["cancelled"]
    assert after[head]["recurrence"]["stopped"] is True
    assert "stopped (cancelled)" in run_postbot(project, "show", str(third["id"])).stdout
    stop(proc)


def test_a_deleted_post_file_stops_its_series(project: Path, daemon: Any) -> None:
    path = project / "posts" / "evergreen.md"
    path.write_text(f'---\nevery: "{RULE}"\nto: [mastodon]\n---\nImmer wieder #Evergreen\n',
                    encoding="utf-8")  # fmt: skip
    proc = daemon()
    [head] = wait_until(lambda: list(posts(project).values()), timeout=30)
    assert head["recurrence"]["every"] == RULE
    path.unlink()  # on_delete = "cancel" (the default): the series stops
    assert wait_until(lambda: posts(project)[head["id"]]["recurrence"]["stopped"], timeout=30), (
        posts(project)
    )
    assert [d["status"] for d in posts(project)[head["id"]]["deliveries"]] == ["cancelled"]
    stop(proc)


def test_recurring_refusals_are_one_line(project: Path) -> None:
    run_postbot(project, "list")
    assert "--every: 'mon 9'" in refused(project, "enqueue", "T", "--every", "mon 9")
    assert "--until ends a recurring post" in refused(
        project, "enqueue", "T", "--until", "2031-01-01 00:00"
    )
    assert "is relative" in refused(project, "enqueue", "T", "--every", RULE, "--until", "+2w")
    assert "give either --now or --every, not both" in refused(
        project, "enqueue", "T", "--now", "--every", RULE
    )
