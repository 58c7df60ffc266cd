"""`postbot run`: an APScheduler BlockingScheduler drives the dispatch loop.

The database is the queue, not APScheduler's job store (APScheduler 3 cannot see jobs another
process adds to a shared store). The scheduler holds a few in-memory jobs:
- `dispatch`, a one-shot job at the next due time, which re-arms itself after every pass;
- `watch`, every poll interval: a cheap "did another process change the database?" check
  (SQLite `PRAGMA data_version`, PostgreSQL LISTEN/NOTIFY) that re-arms `dispatch` earlier;
- `heartbeat`, `recover` (leases of dead workers) and `renew` (our own leases), and
  `import` of the posts folder when one is configured;
- `feed:NAME`, one date job per configured feed at its next poll: the poll runs in a pool of
  its own (feeds/poller.py), each feed on its own schedule and backoff;
- `server_side`, when an account hands its posts to its server (`server_side = true`): every
  `server_side_check`, posts due within the lead are handed over and what the server did with
  the ones it holds is recorded (dispatch/serverside.py);
- `recurring`, every few seconds: the next occurrence of each recurring post whose latest one
  is done, at the rule's next time after now (service/recurring.py: never a catch-up burst).

A live daemon does not start on a database that holds dry-run results: a post a demo
"published" would otherwise never go out for real, silently. `postbot golive` re-queues them
(`Store.reset_dry_run`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from postbot.dispatch import Dispatcher
from postbot.errors import PostbotError, StateError
from postbot.importing import log_lines as import_log_lines
from postbot.service import App, import_folder
from postbot.service.golive import queued_examples

log = logging.getLogger("postbot.daemon")
RECUR_SECONDS = 5  # how soon after an occurrence went out the next one is queued


class Daemon:
    def __init__(self, app: App, *, dry_run: bool = False) -> None:
        self.app = app
        self.dry_run = dry_run
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.dispatcher = Dispatcher(app.store, app.settings, self.worker, dry_run=dry_run)
        self._arm_lock = threading.Lock()
        self._pass_lock = threading.Lock()
        self._posts_stamp: tuple[tuple[str, float], ...] = ()
        self.scheduler: Any = None
        self._watcher: Any = None
        self.ops: Any = None  # postbot.ops.runtime.OpsRuntime: alerts, metrics, health
        self.feeds: Any = None  # postbot.feeds.poller.FeedPoller, when feeds are configured

    # -- entry points --------------------------------------------------------------------
    def check_can_start(self) -> None:
        """Refuse (StateError, one line) a live start while dry-run results are in the queue."""
        if self.dry_run:
            return
        left = self.app.store.status_summary().dry_run
        if left:
            what = ", ".join(f"{n} {status}" for status, n in sorted(left.items()))
            raise StateError(
                f"the database holds dry-run results ({what}); run `postbot golive` to queue"
                " them for real first, or keep trying with `postbot run --dry-run`"
            )
        examples = queued_examples(self.app)
        if examples:
            listed = ", ".join(str(i) for i in examples)
            raise StateError(
                f"example post(s) {listed} are queued (a dry run imported them) and would go out"
                " for real: run `postbot golive` (it cancels them), or `postbot cancel ID`"
            )

    def run_once(self) -> int:
        """Publish everything due now and return (for cron)."""
        self.check_can_start()
        from postbot.ops.runtime import OpsRuntime

        self.ops = OpsRuntime(self.app, self.dispatcher, serve=False)
        self.import_posts()
        self.dispatcher.recover()
        self.dispatcher.hand_over()
        handled = self.dispatcher.run_pass()
        self._recur()
        self.dispatcher.close()
        self.ops.alerts.stop()  # sends what this run raised
        return handled

    def run_forever(self) -> None:
        """`postbot run`: serve until SIGTERM or SIGINT, then drain and return."""
        from apscheduler.schedulers.blocking import BlockingScheduler

        self._schedule(BlockingScheduler)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        try:
            self.scheduler.start()
        finally:
            self._drain()

    def start_background(self) -> None:
        """The same daemon on background threads (to embed it, and for tests); `stop()` ends it."""
        from apscheduler.schedulers.background import BackgroundScheduler

        self._schedule(BackgroundScheduler)
        self.scheduler.start()

    def stop(self) -> None:
        """End a daemon started with `start_background`, as SIGTERM ends `run_forever`."""
        self._halt()
        self._drain()

    def _schedule(self, kind: Any) -> None:
        self.check_can_start()
        from apscheduler.executors.pool import ThreadPoolExecutor

        from postbot.ops.runtime import OpsRuntime

        self.ops = OpsRuntime(self.app, self.dispatcher, serve=True, live=self._live)

        d = self.app.settings.daemon
        now = datetime.now(UTC)
        self.scheduler = kind(
            timezone=UTC, executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )  # fmt: skip
        self._watcher = self.app.store.change_watcher()
        self.scheduler.add_job(self._watch, "interval", seconds=d.poll_interval,
                               args=[self._watcher], id="watch")  # fmt: skip
        self.scheduler.add_job(self._heartbeat, "interval", seconds=d.heartbeat_seconds,
                               id="heartbeat", next_run_time=now)  # fmt: skip
        self.scheduler.add_job(self.dispatcher.recover, "interval", seconds=d.lease_seconds / 4,
                               id="recover", next_run_time=now)  # fmt: skip
        self.scheduler.add_job(self.dispatcher.renew_leases, "interval",
                               seconds=d.lease_seconds / 3, id="renew")  # fmt: skip
        if self.app.settings.posts_dir:
            self.scheduler.add_job(self.import_posts, "interval", seconds=10, id="import",
                                   next_run_time=now)  # fmt: skip
        self.scheduler.add_job(self._recur, "interval", seconds=RECUR_SECONDS, id="recurring",
                               next_run_time=now)  # fmt: skip
        if self.app.settings.feeds:
            from postbot.feeds.poller import FeedPoller

            self.feeds = FeedPoller(self.app, on_posts=self._posts_added)
            self.feeds.start(self.scheduler)
        job = self.dispatcher.server_side
        if job is not None:
            every = min(s.check for s in job.accounts.values()).total_seconds()
            self.scheduler.add_job(self._hand_over, "interval", seconds=every, id="server_side",
                                   next_run_time=now)  # fmt: skip
        self.arm(now)
        self.ops.start()
        log.info(
            "postbot %s started (worker %s, %s)", "dry run" if self.dry_run else "daemon",
            self.worker, self.app.store.dialect,
        )  # fmt: skip

    def _live(self) -> bool:
        """/healthz: the scheduler runs and the daemon is not stopping."""
        running = self.scheduler is not None and self.scheduler.running
        return bool(running) and not self.dispatcher.stopping.is_set()

    # -- jobs ----------------------------------------------------------------------------
    def arm(self, when: datetime | None) -> None:
        """Make sure `dispatch` runs no later than `when` (None: nothing is queued)."""
        if when is None or self.dispatcher.stopping.is_set():
            return
        if self._pass_lock.locked():
            return  # the running pass re-arms itself when it ends, seeing what is new by then
        with self._arm_lock:
            job = self.scheduler.get_job("dispatch")
            if job is not None and job.next_run_time is not None and job.next_run_time <= when:
                return
            self.scheduler.add_job(
                self._dispatch, "date", run_date=max(when, datetime.now(UTC)),
                id="dispatch", replace_existing=True,
            )  # fmt: skip

    def _dispatch(self) -> None:
        with self._pass_lock:  # held while a pass runs, so shutdown can wait for its records
            try:
                self.dispatcher.run_pass()
                failed = False
            except PostbotError as exc:  # e.g. the database is away: try again shortly
                log.error("dispatch pass failed: %s", exc)
                failed = True
        try:
            wake = self.dispatcher.next_wake() if not failed else None
        except PostbotError as exc:
            log.error("cannot read the next due time: %s", exc)
            failed = True
        self.arm(datetime.now(UTC) + timedelta(seconds=5) if failed else wake)

    def _watch(self, watcher: Any) -> None:
        try:
            if watcher.changed():
                self.arm(self.dispatcher.next_wake())
        except PostbotError as exc:
            log.warning("watch: %s", exc)

    def _posts_added(self) -> None:
        """A feed queued posts: the dispatch looks at once (the watcher sees other processes)."""
        try:
            self.arm(self.dispatcher.next_wake())
        except PostbotError as exc:
            log.warning("feeds: %s", exc)

    def _hand_over(self) -> None:
        try:
            self.dispatcher.hand_over()
        except PostbotError as exc:  # e.g. the database is away: the next run tries again
            log.error("server-side scheduling: %s", exc)

    def _recur(self) -> None:
        from postbot.service.recurring import requeue

        try:
            if requeue(self.app) and self.scheduler is not None:
                self.arm(self.dispatcher.next_wake())
        except PostbotError as exc:  # e.g. the database is away: the next run tries again
            log.error("recurring posts: %s", exc)

    def _heartbeat(self) -> None:
        try:
            self.app.store.beat(
                self.worker, socket.gethostname(), os.getpid(), self.dry_run, datetime.now(UTC)
            )
        except PostbotError as exc:
            log.warning("heartbeat failed: %s", exc)

    def import_posts(self) -> None:
        """Import the posts folder when its files changed: every good file is imported, each
        broken one is logged (and recorded for `postbot status`), and so is every post whose
        file is gone."""
        folder = self.app.settings.posts_dir
        if folder is None or not folder.is_dir():
            return
        stamp = tuple(sorted((p.name, p.stat().st_mtime) for p in folder.iterdir()))
        if stamp == self._posts_stamp:
            return
        self._posts_stamp = stamp
        try:
            report = import_folder(self.app, folder, live=not self.dry_run)
        except PostbotError as exc:
            log.error("import of %s failed: %s", folder, exc)
            return
        for level, line in import_log_lines(folder, report):
            log.log(level, "%s", line)
        if self.scheduler is not None:
            self.arm(self.dispatcher.next_wake())

    # -- stopping ------------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: finishing publishes in flight", signal.Signals(signum).name)
        self._halt()

    def _halt(self) -> None:
        """Stop claiming and stop the scheduler; the pass that runs finishes."""
        self.dispatcher.stopping.set()
        self.scheduler.shutdown(wait=False)

    def _drain(self) -> None:
        """Let publishes in flight finish and be recorded (bounded), then say goodbye."""
        if self._watcher is not None:
            self._watcher.close()
        if self.feeds is not None:
            self.feeds.close()
        grace = self.app.settings.daemon.shutdown_grace
        deadline = time.monotonic() + grace
        if self._pass_lock.acquire(timeout=grace):
            self.dispatcher.close(timeout=max(0.0, deadline - time.monotonic()))
        else:
            # Their leases expire and another worker (or our next start) reconciles them.
            log.warning("shutdown: publishes still running after %g s; leaving them", grace)
        if self.ops is not None:
            self.ops.stop()  # sends what is pending
        with contextlib.suppress(PostbotError):  # the heartbeat row simply goes stale
            self.app.store.forget_worker(self.worker)
        log.info("postbot stopped")
