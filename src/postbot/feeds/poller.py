"""The daemon's feed jobs: one date job per feed, at its next poll, which hands the poll to a
small pool of their own and, when it is done, arms itself for the poll after. So a slow or
failing feed (it backs off: `schedule.next_poll`) never holds up another feed, nor the
dispatch of deliveries (on the scheduler's threads), and between polls nothing runs at all."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from postbot.errors import PostbotError

if TYPE_CHECKING:
    from postbot.service import App
    from postbot.service.feeds import PollReport

log = logging.getLogger("postbot.feeds")


class FeedPoller:
    def __init__(
        self, app: App, on_posts: Callable[[], None] | None = None, workers: int = 4
    ) -> None:
        from postbot.feeds.fetch import session

        self.app = app
        self.on_posts = on_posts  # the daemon re-arms its dispatch when posts were queued
        self.feeds = dict(app.settings.feeds)
        self._pool = ThreadPoolExecutor(min(workers, max(1, len(self.feeds))),
                                        thread_name_prefix="feed")  # fmt: skip
        self._http: dict[str, Any] = {}  # one session per pool thread (requests is not shared)
        self._running: dict[str, Future[None]] = {}
        self._next: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._scheduler: Any = None
        self._closed = False
        self.session = session
        try:
            for state in app.store.feed_states():
                if state.name in self.feeds and state.next_poll_at is not None:
                    self._next[state.name] = state.next_poll_at
        except PostbotError as exc:
            log.warning("feeds: cannot read their state (%s): polling all now", exc)

    def start(self, scheduler: Any) -> None:
        """Arm one date job per feed on `scheduler` (APScheduler), at its next poll."""
        self._scheduler = scheduler
        for name in self.feeds:
            self._arm(name)

    def _arm(self, name: str) -> None:
        if self._scheduler is None or self._closed:
            return
        when = max(self._next.get(name, datetime.now(UTC)), datetime.now(UTC))
        with contextlib.suppress(Exception):  # the scheduler is shutting down
            self._scheduler.add_job(self._due, "date", run_date=when, args=[name],
                                    id=f"feed:{name}", replace_existing=True)  # fmt: skip

    def _due(self, name: str) -> None:
        with self._lock:
            running = self._running.get(name)
            if (running is None or running.done()) and not self._closed:
                self._running[name] = self._pool.submit(self._poll, name)

    def tick(self, now: datetime | None = None) -> int:
        """Start the polls that are due and not running; returns how many started."""
        now = now or datetime.now(UTC)
        started = 0
        with self._lock:
            for name in self.feeds:
                running = self._running.get(name)
                if running is not None and not running.done():
                    continue
                if self._next.get(name, now) <= now:
                    self._running[name] = self._pool.submit(self._poll, name)
                    started += 1
        return started

    def _poll(self, name: str) -> None:
        from postbot.service.feeds import poll_feed

        feed = self.feeds[name]
        thread = threading.current_thread().name
        http = self._http.setdefault(thread, self.session())
        try:
            states = {s.name: s for s in self.app.store.feed_states()}
            report: PollReport = poll_feed(self.app, feed, states.get(name), http)
            self._next[name] = report.next_poll_at
            if report.created and self.on_posts is not None:
                self.on_posts()
            if report.created:
                log.info("feed %s: %d new post(s)", name, len(report.created))
        except PostbotError as exc:  # the database is away: the feed waits its interval
            log.error("feed %s: poll failed: %s", name, exc)
            self._next[name] = datetime.now(UTC) + feed.every
        except Exception:  # never let one feed's surprise stop the job
            log.exception("feed %s: poll failed", name)
            self._next[name] = datetime.now(UTC) + feed.every
        finally:
            self._arm(name)

    def close(self, timeout: float = 10.0) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        for future in list(self._running.values()):
            # Stopping: what a poll did is committed or not, never half.
            with contextlib.suppress(Exception):
                future.result(timeout=timeout)
