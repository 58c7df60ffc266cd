"""`postbot run --dry-run` as a real process, driven by `postbot` commands from other processes."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import (
    POSTBOT,
    clean_env,
    make_project,
    postbot_json,
    run_postbot,
    wait_until,
)

SEED = Path(__file__).parents[1] / "data" / "seed" / "soz-gipfel-teaser.txt"
SEED_TEXT = (
    "Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel teilnimmt und über die Zukunft der "
    "Shanghaier Organisation für Zusammenarbeit spricht. #XiJinping #SOZGipfel"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = (Path(__file__).parents[2] / "config" / "postbot.toml").read_text(encoding="utf-8")
    faster = config.replace("poll_interval = 0.5", "poll_interval = 0.2").replace(
        "heartbeat_seconds = 10", "heartbeat_seconds = 1"
    )
    root = make_project(tmp_path, faster, with_posts=True)
    # Beside the shipped example post, the newsroom's plain-text seed as a user would drop it in.
    shutil.copy(SEED, root / "posts" / SEED.name)
    return root


@pytest.fixture
def daemon(project: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [*POSTBOT, "run", "--dry-run"],
        cwd=project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def statuses(project: Path) -> dict[int, set[str]]:
    posts = postbot_json(project, "list")
    return {p["id"]: {d["status"] for d in p["deliveries"]} for p in posts}


def test_daemon_publishes_example_posts_and_a_post_enqueued_by_another_process(
    project: Path, daemon: subprocess.Popen[str]
) -> None:
    # The example posts in posts/ are imported at start and published (dry run) to all accounts.
    published = wait_until(
        lambda: (
            (s := statuses(project)) and len(s) == 2 and all(v == {"published"} for v in s.values())
        ),
        timeout=20,
    )
    assert published, statuses(project)

    posts = postbot_json(project, "list")
    seed = next(p for p in posts if p["key"].endswith("soz-gipfel-teaser.txt"))
    assert seed["headline"] == "Xi Jinping übernimmt rotierende Präsidentschaft der SOZ in Astana"
    assert {d["account"] for d in seed["deliveries"]} == {"mastodon", "x", "bluesky"}
    for delivery in seed["deliveries"]:
        assert delivery["text"] == SEED_TEXT
        assert delivery["remote_id"] == f"dry-run:{delivery['id']}"

    # The attempt log records exactly what would have been sent.
    attempts = postbot_json(project, "log", str(seed["id"]))
    assert len(attempts) == 3
    for attempt in attempts:
        assert attempt["dry_run"] is True
        assert attempt["outcome"] == "published"
        assert attempt["sent"]["text"] == SEED_TEXT
        assert attempt["sent"]["language"] == "de"

    # A post enqueued by a second process is seen and published within a second or two.
    done = run_postbot(project, "enqueue", "Eilmeldung: Gipfel beendet", "--tag", "SOZGipfel",
                       "--now", "--to", "mastodon")  # fmt: skip
    assert done.returncode == 0, done.stderr
    post_id = int(done.stdout.strip())
    start = time.monotonic()
    assert wait_until(lambda: statuses(project).get(post_id) == {"published"}, timeout=5)
    assert time.monotonic() - start < 3

    # A post due in a few seconds is published when due, not before. (Under load a `postbot`
    # command can take seconds itself: the status is only asserted if seen before the due time.)
    done = run_postbot(project, "enqueue", "Gleich mehr dazu", "--at", "+4s", "--to", "bluesky")
    post_id = int(done.stdout.strip())
    [queued] = postbot_json(project, "show", str(post_id))["deliveries"]
    due = datetime.fromisoformat(queued["due_at"].replace("Z", "+00:00"))
    seen = statuses(project)[post_id]
    if datetime.now(UTC) < due - timedelta(seconds=0.2):
        assert seen == {"queued"}
    assert wait_until(lambda: statuses(project)[post_id] == {"published"}, timeout=10)
    [delivery] = postbot_json(project, "show", str(post_id))["deliveries"]
    [attempt] = postbot_json(project, "log", str(post_id))
    assert attempt["started_at"] >= delivery["due_at"]

    # `status` sees the daemon's heartbeat.
    status = postbot_json(project, "status")
    assert status["counts"] == {"published": 8}
    assert len(status["workers"]) == 1 and status["workers"][0]["dry_run"] is True

    # SIGTERM: a clean stop, exit code 0, heartbeat removed.
    daemon.send_signal(signal.SIGTERM)
    _, stderr = daemon.communicate(timeout=20)
    assert daemon.returncode == 0, stderr
    assert "would publish" in stderr and "Traceback" not in stderr
    assert postbot_json(project, "status")["workers"] == []


def test_run_once_publishes_what_is_due_and_exits(project: Path) -> None:
    done = run_postbot(project, "enqueue", "Später", "--at", "+1h")
    later = int(done.stdout)
    done = run_postbot(project, "run", "--dry-run", "--once")
    assert done.returncode == 0, done.stderr
    s = statuses(project)
    assert s[later] == {"queued"}
    assert all(v == {"published"} for k, v in s.items() if k != later)
    # Running again publishes nothing twice.
    run_postbot(project, "run", "--dry-run", "--once")
    assert len(postbot_json(project, "log")) == 2 * 3
