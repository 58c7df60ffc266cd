"""Alerts through real Apprise to a local webhook, over the memory store with a clock the test
moves: the rate, the digest once the period allows, a target that is down, two processes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postbot.config import parse_settings
from postbot.domain import Worker
from postbot.operations import IncidentKind, NewIncident
from postbot.ops.alerts import Alerts
from postbot.store import Store, open_store
from tests.fakes.alert_receiver import TOKEN, AlertReceiver

T0 = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    with AlertReceiver() as r:
        yield r


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store("memory://alerts-test")
    yield s
    s.dispose()


def alerts(store: Store, receiver: AlertReceiver, clock: Clock, rate: str = "2/1h") -> Alerts:
    raw = {"alerts": {"urls_from": ["POSTBOT_ALERT_URL"], "rate": rate, "dead_man_minutes": 15}}
    settings = parse_settings(raw, Path("postbot.toml"), {})
    return Alerts(store, settings, clock=clock, environ={"POSTBOT_ALERT_URL": receiver.apprise_url})


def failure(n: int) -> NewIncident:
    return NewIncident(f"failed:{n}:1", IncidentKind.FAILED, f"post {n} -> x: failed", "x", n)


def test_over_the_rate_incidents_wait_and_go_out_as_one_digest(
    store: Store, receiver: AlertReceiver
) -> None:
    clock = Clock()
    a = alerts(store, receiver, clock)
    for n in range(5):
        a.raise_all([failure(n)])
        a.sweep()
    assert [m["title"] for m in receiver.messages] == ["postbot: failed (x)"] * 2
    clock.now += timedelta(hours=1, seconds=1)
    assert a.sweep() == 3
    digest = receiver.messages[-1]
    assert digest["title"] == "postbot: 3 alerts (failed)"
    assert [line for line in digest["message"].splitlines()[1:]] == [
        "- post 2 -> x: failed",
        "- post 3 -> x: failed",
        "- post 4 -> x: failed",
    ]
    assert a.sweep() == 0 and len(receiver.messages) == 3  # each incident told once


def test_a_target_that_is_down_gets_the_alert_later_once(
    store: Store, receiver: AlertReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    a = alerts(store, receiver, clock, rate="10/1h")
    receiver.refuse = 1
    with caplog.at_level(logging.INFO):
        a.raise_all([failure(1)])
        assert a.sweep() == 0
        assert a.sweep() == 1
    assert len(receiver.messages) == 1
    assert TOKEN not in caplog.text and receiver.apprise_url not in caplog.text


def test_two_processes_raise_one_dead_man_alert(store: Store, receiver: AlertReceiver) -> None:
    clock = Clock()
    other = open_store("memory://alerts-test")
    try:
        store.beat("w1", "host", 1, False, T0 - timedelta(minutes=20))
        first, second = alerts(store, receiver, clock), alerts(other, receiver, clock)
        for a in (first, second, first):
            a.check_heartbeats()
            a.sweep()
        assert len(receiver.messages) == 1
        assert "no postbot worker sent a heartbeat for 15 min" in receiver.messages[0]["message"]
        store.beat("w1", "host", 1, False, T0)  # back
        second.check_heartbeats()
        assert store.open_incidents() == []
        clock.now += timedelta(minutes=20)  # silent again: a new incident
        first.check_heartbeats()
        first.sweep()
        assert len(receiver.messages) == 2
    finally:
        other.dispose()
    assert isinstance(store.queue_gauges(T0).workers[0], Worker)
