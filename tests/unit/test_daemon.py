"""The daemon against the memory store, on background threads (`start_background`, the same jobs
as `postbot run`): arming the dispatch job, re-arming it after each pass, hearing of posts
other stores add, the shutdown drain, and the refusal to go live over dry-run results.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postbot.config import parse_settings
from postbot.daemon import Daemon
from postbot.domain import Status
from postbot.drafts import Draft, plan
from postbot.errors import StateError
from postbot.service import App
from postbot.store import Store, open_store
from tests.platforms import Script
from tests.support import wait_until

DAEMON = {"poll_interval": 0.1, "heartbeat_seconds": 0.2, "lease_seconds": 30,
          "shutdown_grace": 5}  # fmt: skip


@pytest.fixture
def make_app() -> Iterator[Callable[..., App]]:
    """`make_app(**daemon)`: an App on a memory database of this test's own, one account."""
    url = f"memory://daemon-{uuid.uuid4().hex[:8]}"
    opened: list[Store] = []

    def make(**daemon: Any) -> App:
        raw = {
            "timezone": "Europe/Berlin",
            "database": {"url": url},
            "daemon": {**DAEMON, **daemon},
            "accounts": {"a": {"platform": "scripted", "pace": "off"}},
        }
        settings = parse_settings(raw, Path("test.toml"), {})
        opened.append(open_store(url))
        return App(settings, opened[-1])

    yield make
    for store in opened:
        store.dispose()


@pytest.fixture
def started() -> Iterator[list[Daemon]]:
    """Daemons a test started in the background; stopped after it if it did not."""
    daemons: list[Daemon] = []
    yield daemons
    for daemon in daemons:
        if daemon.scheduler is not None and daemon.scheduler.running:
            daemon.stop()


def enqueue(app: App, text: str, due: datetime) -> int:
    return app.store.enqueue(plan(Draft(teaser=text, to=("a",)), app.settings), due, app.now())


def status_of(app: App, post_id: int) -> Status:
    [delivery] = app.store.get_post(post_id).deliveries
    return delivery.status


def dispatch_at(daemon: Daemon) -> datetime | None:
    job = daemon.scheduler.get_job("dispatch")
    return job.next_run_time if job is not None else None


def test_dispatch_is_armed_for_the_next_due_post_and_rearmed_after_each_pass(
    make_app: Callable[..., App], scripts: dict[str, Script], started: list[Daemon]
) -> None:
    app = make_app()
    now = datetime.now(UTC)
    first = enqueue(app, "Gleich", now + timedelta(seconds=0.6))
    second = enqueue(app, "Etwas später", now + timedelta(seconds=1.4))
    daemon = Daemon(app)
    started.append(daemon)
    daemon.start_background()
    # The pass at start finds nothing due and arms itself for the first post.
    assert wait_until(lambda: dispatch_at(daemon) == now + timedelta(seconds=0.6), timeout=5)
    assert status_of(app, first) == Status.QUEUED
    assert wait_until(lambda: status_of(app, first) == Status.PUBLISHED, timeout=5)
    # ... and after that pass, for the second.
    assert wait_until(lambda: dispatch_at(daemon) == now + timedelta(seconds=1.4), timeout=5)
    assert status_of(app, second) == Status.QUEUED
    assert wait_until(lambda: status_of(app, second) == Status.PUBLISHED, timeout=5)
    for post_id in (first, second):  # on time, not before
        [attempt] = app.store.attempts(post_id)
        assert attempt.started_at >= app.store.get_post(post_id).deliveries[0].due_at
    assert wait_until(lambda: dispatch_at(daemon) is None, timeout=5)  # nothing left to arm for
    daemon.stop()


def test_a_post_another_store_enqueues_is_seen_at_once(
    make_app: Callable[..., App], scripts: dict[str, Script], started: list[Daemon]
) -> None:
    app, other = make_app(), make_app()  # other: another process's view of the database
    daemon = Daemon(app)
    started.append(daemon)
    daemon.start_background()
    time.sleep(0.3)
    post_id = enqueue(other, "Eilmeldung", datetime.now(UTC))
    took = time.monotonic()
    assert wait_until(lambda: status_of(app, post_id) == Status.PUBLISHED, timeout=5)
    assert time.monotonic() - took < 2  # the watch job saw it, not a poll of minutes
    [worker] = app.store.status_summary().workers
    assert worker.worker == daemon.worker and worker.dry_run is False
    daemon.stop()
    assert app.store.status_summary().workers == ()  # it said goodbye


def test_stop_lets_a_publish_in_flight_finish_and_be_recorded(
    make_app: Callable[..., App], scripts: dict[str, Script], started: list[Daemon]
) -> None:
    app = make_app()
    scripts["a"] = Script()
    gate = scripts["a"].hold()
    post_id = enqueue(app, "Langsam", datetime.now(UTC))
    daemon = Daemon(app)
    started.append(daemon)
    daemon.start_background()
    scripts["a"].wait_started()
    stopping = threading.Thread(target=daemon.stop)
    stopping.start()
    time.sleep(0.3)
    assert stopping.is_alive()  # waiting for the publish, as SIGTERM does
    assert status_of(app, post_id) == Status.PUBLISHING
    gate.set()
    stopping.join(timeout=10)
    assert not stopping.is_alive()
    assert status_of(app, post_id) == Status.PUBLISHED
    assert [a.outcome for a in app.store.attempts(post_id)] == ["published"]
    assert app.store.status_summary().workers == ()


def test_stop_waits_no_longer_than_the_grace(
    make_app: Callable[..., App],
    scripts: dict[str, Script],
    started: list[Daemon],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(shutdown_grace=0.5)
    scripts["a"] = Script()
    scripts["a"].hold()  # never opened by the test (the fixture opens it at the end)
    post_id = enqueue(app, "Hängt", datetime.now(UTC))
    daemon = Daemon(app)
    started.append(daemon)
    daemon.start_background()
    scripts["a"].wait_started()
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, "postbot.daemon"):
        daemon.stop()
    assert time.monotonic() - began < 3
    assert "shutdown: publishes still running after 0.5 s; leaving them" in caplog.text
    # Left to lease recovery: still claimed, never marked as done.
    assert status_of(app, post_id) == Status.PUBLISHING


def test_a_live_daemon_refuses_to_start_over_dry_run_results_until_golive(
    make_app: Callable[..., App], scripts: dict[str, Script]
) -> None:
    app = make_app()
    post_id = enqueue(app, "Probe", datetime.now(UTC))
    assert Daemon(app, dry_run=True).run_once() == 1
    assert "a" not in scripts  # a dry run: nothing was sent
    live = Daemon(app)
    with pytest.raises(StateError) as refused:
        live.run_once()
    assert str(refused.value) == (
        "the database holds dry-run results (1 published); run `postbot golive` to queue them"
        " for real first, or keep trying with `postbot run --dry-run`"
    )
    with pytest.raises(StateError):
        live.start_background()
    assert status_of(app, post_id) == Status.PUBLISHED  # refused: nothing changed
    reset = app.store.reset_dry_run(app.now())
    assert (reset.requeued, reset.posts) == (1, (post_id,))
    assert Daemon(app).run_once() == 1
    assert [o.text for o in scripts["a"].calls] == ["Probe"]
    assert [a.dry_run for a in app.store.attempts(post_id)] == [True, False]
