"""Threads through the dispatch loop against the memory store, with the scripted test platforms:
part by part, each recorded as it is published; a failure resumes at the failed part; a crash is
reconciled at the one part that may be out; X-like platforms leave an unknown part to a person.
(Over real HTTP against the fake platforms: tests/integration/test_thread_adapters.py and the
acceptance tests.)"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postbot.config import Settings, parse_settings
from postbot.dispatch import Dispatcher
from postbot.domain import Status
from postbot.drafts import Draft, plan
from postbot.platforms.base import OutcomeUnknown, Published, TransientError
from postbot.store import Store, open_store
from tests.platforms import Script

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
PARTS = ("Teil 2: die Gäste", "Teil 3: der Ausblick")


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings_for(**accounts: str) -> Settings:
    raw = {
        "timezone": "Europe/Berlin",
        "retry": {"max_attempts": 3, "base_delay": 60, "max_delay": 600},
        "daemon": {"concurrency": 2, "batch_size": 10, "lease_seconds": 60},
        "accounts": {name: {"platform": platform} for name, platform in accounts.items()},
    }
    return parse_settings(raw, Path("test.toml"), {})


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store("memory://")
    yield s
    s.dispose()


def thread(store: Store, settings: Settings, to: str, parts: tuple[str, ...] = PARTS) -> int:
    draft = Draft(teaser="Teil 1: der Gipfel", parts=parts, to=(to,))
    return store.enqueue(plan(draft, settings), T0, T0)


def reply_chain(script: Script) -> list[tuple[int, str | None]]:
    """(part, the remote id it replied to) of every publish call, in order."""
    return [(o.part, o.reply_to.parent_id if o.reply_to else None) for o in script.calls]


def test_a_thread_is_published_as_a_reply_chain_each_part_recorded(
    store: Store, scripts: dict[str, Script], caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(a="scripted")
    scripts["a"] = Script()
    scripts["a"].answers.extend(
        Published(f"r{n}", f"https://p.example/{n}", 200) for n in (1, 2, 3)
    )
    post_id = thread(store, settings, "a")
    d = Dispatcher(store, settings, "w1", clock=Clock())
    with caplog.at_level(logging.INFO, "postbot.dispatch"):
        assert d.run_pass() == 1
    calls = scripts["a"].calls
    assert [o.text for o in calls] == ["Teil 1: der Gipfel", *PARTS]
    assert reply_chain(scripts["a"]) == [(1, None), (2, "r1"), (3, "r2")]
    assert {o.reply_to.root_id for o in calls[1:] if o.reply_to} == {"r1"}
    # Each part has its own idempotency key; part 1 keeps the delivery's.
    keys = [o.idempotency_key for o in calls]
    assert keys[1:] == [f"{keys[0]}-2", f"{keys[0]}-3"] and len(set(keys)) == 3
    [delivery] = store.get_post(post_id).deliveries
    assert (delivery.status, delivery.remote_id, delivery.remote_url) == (
        Status.PUBLISHED, "r1", "https://p.example/1",
    )  # fmt: skip
    assert [(p.index, p.remote_id, p.remote_url) for p in delivery.parts] == [
        (1, "r1", "https://p.example/1"), (2, "r2", "https://p.example/2"),
        (3, "r3", "https://p.example/3"),
    ]  # fmt: skip
    # One attempt per part, nothing more: each was one post on the platform.
    attempts = store.attempts(post_id)
    assert [(a.outcome, a.remote_id, a.detail["part"]) for a in attempts] == [
        ("published", "r1", 1), ("published", "r2", 2), ("published", "r3", 3),
    ]  # fmt: skip
    assert "post 1 -> a: part 2/3 published https://p.example/2" in caplog.text


def test_a_failed_part_is_retried_later_without_posting_the_earlier_ones_again(
    store: Store, scripts: dict[str, Script]
) -> None:
    settings = settings_for(a="scripted")
    scripts["a"] = Script()
    scripts["a"].answers.extend([
        Published("r1", "https://p.example/1", 200), TransientError("503 Service Unavailable"),
        Published("r2", "https://p.example/2", 200), Published("r3", "https://p.example/3", 200),
    ])  # fmt: skip
    post_id = thread(store, settings, "a")
    clock = Clock()
    d = Dispatcher(store, settings, "w1", clock=clock)
    assert d.run_pass() == 1
    [delivery] = store.get_post(post_id).deliveries
    assert delivery.status == Status.QUEUED
    assert delivery.last_error == "part 2 of 3: 503 Service Unavailable"
    assert delivery.remote_id == "r1"  # the head is out, and shown
    assert [p.published for p in delivery.parts] == [True, False, False]

    clock.now = delivery.next_attempt_at
    assert d.run_pass() == 1
    assert [o.part for o in scripts["a"].calls] == [1, 2, 2, 3]  # part 1 never again
    assert reply_chain(scripts["a"])[2:] == [(2, "r1"), (3, "r2")]
    [delivery] = store.get_post(post_id).deliveries
    assert delivery.status == Status.PUBLISHED
    failed = [a for a in store.attempts(post_id) if a.outcome == "transient"]
    assert [(a.detail["part"], a.error_message) for a in failed] == [
        (2, "part 2 of 3: 503 Service Unavailable")
    ]


def test_a_crash_in_mid_thread_is_reconciled_at_the_one_part_in_doubt(
    store: Store, scripts: dict[str, Script]
) -> None:
    settings = settings_for(a="scripted")
    post_id = thread(store, settings, "a")
    clock = Clock()
    # The dead worker published part 1 and recorded it; part 2 it sent, then died.
    [claimed] = store.claim_due("dead", T0, 10, timedelta(seconds=60))
    head = replace(claimed.parts[0], remote_id="r1", remote_url="https://p.example/1",
                   published_at=T0)  # fmt: skip
    assert store.record_part("dead", claimed.delivery_id, head, T0, {"part": 1})
    scripts["a"] = Script()
    scripts["a"].found.append(Published("r2", "https://p.example/2", 200))
    clock.now = T0 + timedelta(seconds=61)  # the lease has expired
    d = Dispatcher(store, settings, "w2", clock=clock)
    assert d.recover() == 1
    # Only the part that may be out unrecorded is looked up.
    assert [o.part for o in scripts["a"].lookups] == [2]
    [delivery] = store.get_post(post_id).deliveries
    assert delivery.status == Status.QUEUED
    assert "part 2 of 3 is out (recorded now); the thread goes on at part 3" in (
        delivery.last_error or ""
    )
    assert [p.remote_id for p in delivery.parts] == ["r1", "r2", None]
    assert d.run_pass() == 1
    assert reply_chain(scripts["a"]) == [(3, "r2")]  # parts 1 and 2 never again
    assert store.get_post(post_id).deliveries[0].status == Status.PUBLISHED


def test_an_unknown_part_on_an_x_like_platform_waits_for_a_person(
    store: Store, scripts: dict[str, Script]
) -> None:
    settings = settings_for(x="scripted-x")
    scripts["x"] = Script()
    scripts["x"].answers.extend(
        [Published("t1", "https://x.example/1", 201), OutcomeUnknown("timed out after sending")]
    )
    post_id = thread(store, settings, "x")
    d = Dispatcher(store, settings, "w1", clock=Clock())
    assert d.run_pass() == 1
    [delivery] = store.get_post(post_id).deliveries
    assert delivery.status == Status.UNKNOWN
    assert delivery.last_error == "part 2 of 3: timed out after sending"
    assert [p.published for p in delivery.parts] == [True, False, False]


def test_a_dry_run_goes_through_every_part_and_golive_forgets_them(
    store: Store, scripts: dict[str, Script], caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(a="scripted")
    post_id = thread(store, settings, "a")
    d = Dispatcher(store, settings, "demo", dry_run=True, clock=Clock())
    with caplog.at_level(logging.INFO, "postbot.dispatch"):
        assert d.run_pass() == 1
    assert "a" not in scripts  # nothing was sent
    [delivery] = store.get_post(post_id).deliveries
    assert (delivery.status, delivery.dry_run) == (Status.PUBLISHED, True)
    assert [(p.remote_id, p.dry_run) for p in delivery.parts] == [
        ("dry-run:1", True), ("dry-run:1:2", True), ("dry-run:1:3", True),
    ]  # fmt: skip
    assert "would publish part 3/3 dry-run:1:3 text='Teil 3: der Ausblick'" in caplog.text
    sent = [a.detail for a in store.attempts(post_id)]
    assert [(s["part"], s.get("reply_to")) for s in sent] == [
        (1, None), (2, "dry-run:1"), (3, "dry-run:1:2"),
    ]  # fmt: skip

    store.reset_dry_run(T0)
    [delivery] = store.get_post(post_id).deliveries
    assert delivery.status == Status.QUEUED
    assert [p.published for p in delivery.parts] == [False, False, False]
    live = Dispatcher(store, settings, "w1", clock=Clock())
    assert live.run_pass() == 1
    assert [o.part for o in scripts["a"].calls] == [1, 2, 3]  # for real, every part
