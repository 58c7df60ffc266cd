"""The daemon's feed jobs (feeds/poller.py) on a real APScheduler and a real store: a slow
feed and a failing one never hold up a good one; each is polled on its own schedule."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from postbot.config import parse_settings
from postbot.feeds.poller import FeedPoller
from postbot.feeds.records import PollResult
from postbot.service import App
from postbot.store import Store
from tests.fakes.feed_server import FeedServer, german_news, rss
from tests.support import wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as fake:
        yield fake


def test_a_slow_and_a_failing_feed_never_hold_up_a_good_one(
    store: Store, server: FeedServer, tmp_path: Path
) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    for path in ("/good.xml", "/slow.xml", "/bad.xml"):
        server.publish(path, rss(german_news(1)))
    server.slow("/slow.xml", 20)
    server.fail("/bad.xml", 500, times=100)
    feed = {"to": ["mastodon"], "every": "1s", "timeout": 15}
    raw = {
        "timezone": "Europe/Berlin", "database": {"url": store.url},
        "accounts": {"mastodon": {"platform": "mastodon", "base_url": "https://m.example"}},
        "feeds": {name: {"url": server.url(f"/{name}.xml"), **feed}
                  for name in ("good", "slow", "bad")},
    }  # fmt: skip
    app = App(parse_settings(raw, tmp_path / "postbot.toml", {}), store)
    scheduler = BackgroundScheduler(timezone=UTC)
    poller = FeedPoller(app, workers=3)
    scheduler.start()
    poller.start(scheduler)
    try:
        good_polls = lambda: sum(p == "/good.xml" for p, _ in server.requests)  # noqa: E731
        assert wait_until(lambda: good_polls() >= 4, 15)  # every second, the slow one hanging
        states = {s.name: s for s in store.feed_states()}
        assert states["good"].result in (PollResult.OK, PollResult.NOT_MODIFIED)
        assert states["bad"].result == PollResult.ERROR and states["bad"].failures >= 1
        assert "slow" not in states  # still waiting for its first answer
        bad = states["bad"]
        assert bad.next_poll_at is not None and bad.polled_at is not None
        assert (bad.next_poll_at - bad.polled_at).total_seconds() == 2**bad.failures
        time.sleep(0.5)
    finally:
        poller.close(timeout=0.1)
        scheduler.shutdown(wait=False)
