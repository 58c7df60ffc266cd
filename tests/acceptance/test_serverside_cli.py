"""Server-side scheduling through the CLI and a real `postbot run`, against the fake Mastodon's
scheduled statuses: posts handed over within the lead, moved by `reschedule`, withdrawn by
`cancel` and by a changed post file, published by the server (whose clock the test moves) and
recorded once; a daemon SIGKILLed between its request and its record reconciles the handover
from what the server holds, without a second scheduled status."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.conftest import Daemon, Platforms, query, sqlite_url
from tests.fakes.mastodon_server import Fault
from tests.support import run_postbot, wait_until

pytestmark = pytest.mark.timeout(120)

SERVER_SIDE = {"server_side": True, "server_side_lead": "1h", "server_side_check": "1s"}


def cli(project: Path, env: dict[str, str], *args: str) -> Any:
    done = run_postbot(project, *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def at(minutes: float) -> str:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def status_of(project: Path, post_id: int) -> dict[str, Any]:
    """The post's one delivery, as the database holds it (quicker than `postbot show`)."""
    [row] = query(sqlite_url(project), "SELECT status, scheduled_id, due_at, remote_id,"
                  " remote_url FROM delivery WHERE post_id = :p", p=post_id)  # fmt: skip
    return row


def post_file(project: Path, key: str, text: str, minutes: float) -> None:
    (project / "posts" / f"{key}.md").write_text(
        f"---\nid: {key}\nat: {at(minutes)}\nto: [mastodon]\n---\n{text}\n", "utf-8"
    )


def scheduled_texts(platforms: Platforms) -> list[str]:
    return sorted(s["params"]["text"] for s in platforms.mastodon.scheduled)


def test_handed_over_moved_withdrawn_and_published_by_the_server(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    project = platforms.project(tmp_path, account_options={"mastodon": SERVER_SIDE})
    env = platforms.env()
    post_file(project, "a", "Teaser A", 20)
    post_file(project, "b", "Teaser B", 25)
    post_file(project, "c", "Teaser C", 30)
    imported = {r["key"]: r["post_id"] for r in cli(project, env, "enqueue", "--file", "posts")}
    first, second, third = imported["a"], imported["b"], imported["c"]

    daemon = start_daemon(project, env)
    assert wait_until(lambda: len(platforms.mastodon.scheduled) == 3, 20), daemon.log()
    assert scheduled_texts(platforms) == ["Teaser A", "Teaser B", "Teaser C"]
    a = status_of(project, first)
    assert a["status"] == "scheduled" and a["scheduled_id"]
    shown = run_postbot(project, "show", str(first), env=env).stdout
    assert f"handed to the server as scheduled status {a['scheduled_id']}" in shown

    # reschedule: the scheduled status moves on the server.
    new_time = at(40)
    done = run_postbot(project, "reschedule", str(first), "--at", new_time, env=env)
    assert done.returncode == 0, done.stderr
    held = {s["id"]: s for s in platforms.mastodon.scheduled}
    assert held[a["scheduled_id"]]["scheduled_at"] == new_time.replace("Z", ".000Z")
    assert status_of(project, first)["status"] == "scheduled"
    # cancel: withdrawn from the server first.
    done = run_postbot(project, "cancel", str(second), env=env)
    assert done.returncode == 0 and "cancelled 1 delivery" in done.stdout, done.stderr
    assert scheduled_texts(platforms) == ["Teaser A", "Teaser C"]
    assert status_of(project, second)["status"] == "cancelled"
    # A changed post file: withdrawn, then handed over again with the new text.
    post_file(project, "c", "Teaser C, neu", 30)
    [changed] = cli(project, env, "enqueue", "--file", "posts/c.md")
    assert changed["action"] == "updated"
    assert wait_until(lambda: scheduled_texts(platforms) == ["Teaser A", "Teaser C, neu"], 20)

    platforms.mastodon.advance(41 * 60)  # the server publishes both at their times
    assert wait_until(
        lambda: {status_of(project, p)["status"] for p in (first, third)} == {"published"}, 20
    ), daemon.log()
    statuses = {s["status"]: s for s in platforms.mastodon.statuses}
    assert sorted(statuses) == ["Teaser A", "Teaser C, neu"]  # each once, nothing else
    a = status_of(project, first)
    assert (a["remote_id"], a["remote_url"]) == (
        statuses["Teaser A"]["id"], statuses["Teaser A"]["entity"]["url"],
    )  # fmt: skip
    assert daemon.terminate() == 0, daemon.log()
    log = cli(project, env, "log", str(first))
    assert [a["outcome"] for a in log] == ["scheduled"]  # one request: the handover


def test_sigkill_between_the_request_and_its_record_leaves_one_scheduled_status(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    project = platforms.project(tmp_path, account_options={"mastodon": SERVER_SIDE})
    env = platforms.env()
    platforms.mastodon.inject("/api/v1/statuses", Fault.slow(1.5))  # stored after 1.5 s
    post_id = cli(project, env, "enqueue", "Übergabe unterbrochen", "--at", at(20),
                  "--to", "mastodon")["id"]  # fmt: skip
    daemon = start_daemon(project, env)

    def in_flight() -> bool:
        return any(r.status is None for r in platforms.mastodon.requests_to("/api/v1/statuses"))

    assert wait_until(in_flight, 20, interval=0.02), daemon.log()
    daemon.kill()
    [row] = query(sqlite_url(project), "SELECT status FROM delivery")
    assert row["status"] == "publishing"
    assert wait_until(lambda: len(platforms.mastodon.scheduled) == 1, 5)  # it did get there

    daemon = start_daemon(project, env)
    assert wait_until(lambda: status_of(project, post_id)["status"] == "scheduled", 20), (
        daemon.log()
    )
    assert daemon.terminate() == 0, daemon.log()
    [held] = platforms.mastodon.scheduled
    assert status_of(project, post_id)["scheduled_id"] == held["id"]
    assert len(platforms.mastodon.requests_to("/api/v1/statuses", "POST")) == 1
