"""The dispatch loop: claim -> publish -> record. One pass publishes everything that is due, then
returns; the decisions are elsewhere (`planner`: what to claim; `outcomes`: what an answer
means; `paced`: which accounts wait for their pace), the calls to platforms in `publisher`.

The claim commits before any network call; publishes run in a bounded thread pool; outcomes
are recorded in batches. A dry run publishes in the loop itself: it sends nothing, so there is
no network wait for threads to overlap. A delivery whose worker died (lease expired) is
reconciled through its platform: looked up, re-sent where that cannot duplicate, or `unknown`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import partial
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING

from postbot.config import Settings
from postbot.dispatch import planner
from postbot.dispatch.budget import BudgetBoard
from postbot.dispatch.events import Events, Recorded
from postbot.dispatch.paced import PaceBoard
from postbot.dispatch.publisher import Publisher
from postbot.domain import Claimed, Result
from postbot.store import Store

if TYPE_CHECKING:
    from postbot.dispatch.serverside import ServerSideJob
    from postbot.platforms.base import Platform

log = logging.getLogger("postbot.dispatch")

RECORD_EVERY = 0.1  # seconds: results wait at most this long to be written in one batch


def now_utc() -> datetime:
    return datetime.now(UTC)


class Pass:
    """One pass's bookkeeping: what is in flight, what waits to be recorded."""

    def __init__(self) -> None:
        self.pending: set[Future[Result]] = set()
        self.pending_free_slot: set[Future[Result]] = set()  # of `pending`, to X-like accounts
        # Each publish puts its future here as it finishes: one queue to wait on, rather than
        # a waiter added to (and taken off) every future in flight at each wait.
        self.finished: SimpleQueue[Future[Result]] = SimpleQueue()
        self.results: list[Result] = []
        self.claims: dict[int, Claimed] = {}  # started and not yet recorded, for the observers
        self.exhausted = False  # the last claim found nothing (or no room for what is due)
        self.handled = 0
        self._flushed = time.monotonic()

    def collect(self, timeout: float) -> int:
        """Wait up to `timeout` for publishes to finish; returns how many did."""
        try:
            done = [self.finished.get(timeout=timeout)]
        except Empty:
            return 0
        with suppress(Empty):
            while True:
                done.append(self.finished.get_nowait())
        self.pending.difference_update(done)
        self.pending_free_slot.difference_update(done)
        self.results.extend(f.result() for f in done)
        return len(done)

    def flush_due(self, batch: int) -> bool:
        return bool(self.results) and (
            (self.exhausted and not self.pending)
            or len(self.results) >= batch
            or time.monotonic() - self._flushed > RECORD_EVERY
        )

    def take(self) -> list[Result]:
        results, self.results, self._flushed = self.results, [], time.monotonic()
        return results


class Dispatcher:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        worker: str,
        *,
        dry_run: bool = False,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.store = store
        self.settings = settings
        self.worker = worker
        self.dry_run = dry_run
        self.clock = clock
        self.rules = planner.AccountRules.of(settings, dry_run=dry_run)
        self.lease = timedelta(seconds=settings.daemon.lease_seconds)
        self.stopping = threading.Event()
        self.publisher = Publisher(
            settings, dry_run=dry_run, clock=clock, environ=environ,
            record_part=partial(store.record_part, worker),  # threads record part by part
        )  # fmt: skip
        self.board = PaceBoard(settings.timezone)
        self.budgets = BudgetBoard(settings.timezone)  # accounts a monthly budget holds
        self.events = Events()  # metrics and alerts subscribe (dispatch/events.py)
        # Accounts that hand posts to their server's scheduling (dispatch/serverside.py).
        self.server_side = server_side_job(self, environ)
        self._pool = ThreadPoolExecutor(settings.daemon.concurrency, thread_name_prefix="publish")
        self._held: set[int] = set()  # deliveries claimed and not yet recorded: leases to renew
        self._running: set[Future[Result]] = set()  # publishes in the pool, for `close`
        self._held_lock = threading.Lock()

    # -- one pass ------------------------------------------------------------------------
    def run_pass(self) -> int:
        """Publish everything due now; return how many deliveries were handled."""
        d = self.settings.daemon
        self._mark_missed()
        work = Pass()
        while True:
            if (
                not work.exhausted
                and not self.stopping.is_set()
                and len(work.pending) <= d.concurrency
            ):
                # Refill when no more than `concurrency` are left: the pool never runs dry, and
                # each claim takes a few dozen rows rather than a handful (claims cost the most).
                room = (
                    planner.Room(d.batch_size, d.batch_size)
                    if self.dry_run
                    else planner.room(d.concurrency, d.batch_size, len(work.pending),
                                      len(work.pending_free_slot))
                )  # fmt: skip
                claimed = self._claim(room)
                work.exhausted = not claimed
                for item in claimed:
                    self._start(work, item)
            if work.pending:
                if work.collect(RECORD_EVERY):
                    # Look again once some finish: there is room now (an X post may have had
                    # none), and more may have come due.
                    work.exhausted = False
            elif work.exhausted or self.stopping.is_set():
                break
            if work.flush_due(d.batch_size):
                work.handled += self._record(work.take(), work.claims)
        return work.handled + self._record(work.take(), work.claims)

    def next_wake(self) -> datetime | None:
        """When the next pass should run: the next due post of an account that may post,
        or the moment a paced-out account may post again."""
        now = self.clock()
        held, budgeted = self.board.held_back(now), self.budgets.held_back(now)
        return planner.earliest((
            self.store.next_due_for(sorted({*held, *budgeted})), self.board.next_slot(held),
            self.budgets.next_check(budgeted),
        ))  # fmt: skip

    @property
    def blocked(self) -> list[str]:
        """The accounts found paced out (their budget used up), as of the last claim."""
        return sorted(self.board.out)

    @property
    def paced_until(self) -> datetime | None:
        """When the first paced-out account may post again."""
        return self.board.next_slot(self.blocked)

    def _mark_missed(self) -> None:
        now = self.clock()
        for account, lateness in self.rules.lateness.items():
            if lateness is None:
                continue
            missed = self.store.mark_missed(account, now - lateness, now, dry_run=self.dry_run)
            if missed:
                log.warning("%s: %d post(s) overdue by more than %s: missed", account, missed,
                            lateness)  # fmt: skip
                self.events.missed(account, missed, now, dry_run=self.dry_run)

    def _claim(self, room: planner.Room) -> list[Claimed]:
        now = self.clock()
        claimed: list[Claimed] = []
        left_alone = {*self.board.held_back(now), *self.budgets.held_back(now)}
        for request in planner.requests(self.rules, left_alone):
            limit = room.cap(request)
            if limit <= 0:
                continue
            got = self._take(request, limit, now)
            room = room.after(request, len(got))
            claimed += got
        return claimed

    def _take(self, request: planner.ClaimRequest, limit: int, now: datetime) -> list[Claimed]:
        if request.account is not None and request.budget is not None:
            got = self.store.claim_budgeted(
                self.worker, now, request.account, request.budget, limit, self.lease,
                pace=request.pace, dry_run=self.dry_run,
            )  # fmt: skip
            self.budgets.update(got.state, now)
            if got.pace is not None:
                self.board.update(got.pace)
            return list(got.claimed)
        if request.account is None:
            return self.store.claim_due(self.worker, now, limit, self.lease, skip=request.skip,
                                        dry_run=self.dry_run)  # fmt: skip
        if request.pace is None:
            return self.store.claim_due(self.worker, now, limit, self.lease,
                                        only=[request.account], dry_run=self.dry_run)  # fmt: skip
        paced = self.store.claim_paced(self.worker, now, request.account, request.pace, limit,
                                       self.lease, dry_run=self.dry_run)  # fmt: skip
        self.board.update(paced.state)
        return list(paced.claimed)

    def _start(self, work: Pass, item: Claimed) -> None:
        if self.events:
            work.claims[item.delivery_id] = item
        if self.dry_run:  # nothing to wait for: publish here, no thread, no lease to renew
            work.results.append(self.publisher.publish(item))
            return
        with self._held_lock:  # before the publish starts: renewed and waited for from then on
            self._held.add(item.delivery_id)
            future = self._pool.submit(self.publisher.publish, item)
            self._running.add(future)
        future.add_done_callback(self._finished)
        work.pending.add(future)
        future.add_done_callback(work.finished.put)
        if item.account in self.rules.free_slots_only:
            work.pending_free_slot.add(future)

    def _record(self, results: list[Result], claims: dict[int, Claimed]) -> int:
        if not results:
            return 0
        self.store.record(self.worker, results)
        with self._held_lock:
            self._held.difference_update(r.delivery_id for r in results)
        if self.events:
            pairs = [(claims.pop(r.delivery_id, None), r) for r in results]
            self.events.recorded([Recorded(c, r) for c, r in pairs if c is not None])
        return len(results)

    def _finished(self, future: Future[Result]) -> None:
        with self._held_lock:
            self._running.discard(future)

    # -- leases ----------------------------------------------------------------------------
    def recover(self, limit: int = 100) -> int:
        """Reconcile deliveries whose worker died mid-publish: did the post go out?"""
        items = self.store.claim_expired(self.worker, self.clock(), limit, self.lease,
                                         dry_run=self.dry_run)  # fmt: skip
        # Saved one by one: a crash during recovery must not lose what was already found out.
        job = self.server_side
        return sum(
            job.reconcile(item) if job is not None and job.takes(item)
            else self._record([self.publisher.reconcile(item)], {item.delivery_id: item})
            for item in items
        )  # fmt: skip

    def hand_over(self) -> int:
        """Hand posts due within their lead to their server; record what the server did."""
        return self.server_side.run() if self.server_side is not None else 0

    def renew_leases(self) -> None:
        with self._held_lock:
            ids = list(self._held)
        if ids:
            self.store.renew_leases(self.worker, ids, self.clock() + self.lease)

    def room(self, account: str, now: datetime) -> int:
        """How many posts `account` may still send now within its pace (handovers count)."""
        pace = self.rules.paces.get(account)
        if pace is None:
            return self.settings.daemon.batch_size
        state = self.store.pace_states({account: pace}, now, dry_run=self.dry_run)[account]
        return max(0, state.count - state.used)

    def close(self, timeout: float | None = None) -> bool:
        """Stop claiming; wait up to `timeout` seconds (None: as long as it takes) for publishes
        in flight, then let the platforms go. True if none was left running."""
        self.stopping.set()
        with self._held_lock:
            running = list(self._running)
        _, left = wait(running, timeout=timeout)
        self._pool.shutdown(wait=False)
        if left:
            # Their leases expire and another worker (or our next start) reconciles them.
            log.warning("%d publish(es) still running after %s s; leaving them", len(left),
                        timeout)  # fmt: skip
            return False
        self.publisher.close()
        return True


def server_side_job(d: Dispatcher, environ: Mapping[str, str] | None) -> ServerSideJob | None:
    """The handover job, if any account hands its posts to its server."""
    from postbot.dispatch.serverside import ServerSideJob, settings_of
    from postbot.platforms import platform_for

    def real(name: str) -> Platform:  # its settings, even in a dry run
        return platform_for(d.settings.account(name), environ)

    accounts = settings_of(d.settings.accounts, real)
    if not accounts:
        return None
    return ServerSideJob(
        d.store, d.worker, accounts, d.publisher.platform, d.publisher.outgoing, d.clock,
        d.lease, d.settings.timezone, dry_run=d.dry_run, room=d.room,
    )  # fmt: skip
