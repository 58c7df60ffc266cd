"""Claim -> publish -> record. One pass publishes everything that is due, then returns.

The claim commits before any network call; publishes run in a bounded thread pool; outcomes
are recorded in batches. A delivery whose worker died (lease expired) is reconciled through
its platform: looked up, re-sent where that cannot duplicate, or marked `unknown`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from postbot.config import Settings
from postbot.domain import Outcome, Status
from postbot.errors import PostbotError
from postbot.pacing import budgets, max_lateness_of, pace_of
from postbot.platforms import platform_class, platform_for
from postbot.platforms.base import (
    OutcomeUnknown,
    Outgoing,
    Platform,
    Published,
    PublishError,
)
from postbot.platforms.dryrun import DryRunPlatform
from postbot.retry import RetryPolicy
from postbot.store import Claimed, Result, Store

log = logging.getLogger("postbot.dispatch")

RECORD_EVERY = 0.1  # seconds: results wait at most this long to be written in one batch


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Budgets:
    remaining: dict[str, int]  # per paced account: posts it may start now
    paced_until: datetime | None  # when the first paced-out account may post again


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
        self.environ = environ
        self.clock = clock
        self.policy = RetryPolicy(
            settings.retry.max_attempts, settings.retry.base_delay, settings.retry.max_delay
        )
        self.lease = timedelta(seconds=settings.daemon.lease_seconds)
        self.stopping = threading.Event()
        self._platforms: dict[str, Platform] = {}
        self._platform_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(settings.daemon.concurrency, thread_name_prefix="publish")
        self.in_flight: set[int] = set()  # delivery ids, for lease renewal
        accounts = settings.accounts.values()
        self.paces = {a.name: p for a in accounts if (p := pace_of(a)) is not None}
        self.lateness = {a.name: max_lateness_of(a) for a in accounts}
        # When a paced-out account may post again (the daemon wakes then), if one is waiting.
        self.paced_until: datetime | None = None
        self.blocked: list[str] = []  # paced-out accounts after the last pass
        # Accounts whose platform has no duplicate protection (X): claimed only to publish now.
        self.unsafe = (
            set()
            if dry_run
            else {a.name for a in accounts if not platform_class(a.platform).safe_to_resend}
        )

    # -- one pass ------------------------------------------------------------------------
    def run_pass(self) -> int:
        """Publish everything due now; return how many deliveries were handled."""
        concurrency = self.settings.daemon.concurrency
        batch = self.settings.daemon.batch_size
        pending: set[Future[Result]] = set()
        results: list[Result] = []
        handled = 0
        last_flush = time.monotonic()
        exhausted = False
        budget = self._start_pass()
        unsafe: set[Future[Result]] = set()  # in flight to platforms we must not re-send to
        while True:
            room = concurrency * 4 - len(pending)
            # Refill when no more than `concurrency` are left: the pool never runs dry, and
            # each claim takes a few dozen rows rather than a handful (claims cost the most).
            if not exhausted and not self.stopping.is_set() and len(pending) <= concurrency:
                # Claim ahead to keep the pool busy, but for X only what can start now (and
                # one at a time under a backlog): a claimed X post that a crash leaves behind
                # becomes `unknown`, for a person to check.
                free = max(concurrency - len(pending), 0 if unsafe else 1)
                claimed = self._claim(min(batch, room), budget, free)
                exhausted = not claimed
                for item in claimed:
                    self.in_flight.add(item.delivery_id)
                    future = self._pool.submit(self.publish, item)
                    pending.add(future)
                    if item.account in self.unsafe:
                        unsafe.add(future)
            if not pending:
                break
            done, pending = wait(pending, timeout=RECORD_EVERY, return_when=FIRST_COMPLETED)
            unsafe -= done
            results.extend(f.result() for f in done)
            if results and (
                (exhausted and not pending)
                or len(results) >= batch
                or time.monotonic() - last_flush > RECORD_EVERY
            ):
                handled += self._record(results)
                results, last_flush = [], time.monotonic()
            if exhausted and pending:
                exhausted = False  # look again once some finish: more may have come due
        handled += self._record(results)
        self.blocked = [account for account, left in budget.items() if left <= 0]
        if self.blocked:  # what we just sent decides when the next slot frees up
            self.paced_until = self._budgets(self.clock()).paced_until
        return handled

    def next_wake(self) -> datetime | None:
        """When the next pass should run: the next due post of an account that may post,
        or the moment a paced-out account may post again."""
        due = self.store.next_due_for(self.blocked)
        times = [t for t in (due, self.paced_until if self.blocked else None) if t is not None]
        return min(times, default=None)

    def _start_pass(self) -> dict[str, int]:
        """Mark stale first attempts `missed`; return what each paced account may still start."""
        now = self.clock()
        for account, lateness in self.lateness.items():
            if lateness is not None and (n := self.store.mark_missed(account, now - lateness, now)):
                log.warning("%s: %d post(s) overdue by more than %s: missed", account, n, lateness)
        self.paced_until = None
        if not self.paces:
            return {}
        left = self._budgets(now)
        self.paced_until = left.paced_until
        return left.remaining

    def _budgets(self, now: datetime) -> Budgets:
        longest = max(p.period for p in self.paces.values())
        left = budgets(self.paces, self.store.recent_starts(list(self.paces), now - longest), now)
        return Budgets(
            {name: b.remaining for name, b in left.items()},
            min((b.free_at for b in left.values() if b.free_at), default=None),
        )

    def _claim(self, limit: int, budget: dict[str, int], unsafe_slots: int) -> list[Claimed]:
        """Claim due deliveries: paced accounts only within their budget, accounts that
        cannot be re-sent to safely (X) only into free slots, everything else up to `limit`."""
        now = self.clock()
        claimed: list[Claimed] = []

        def take(account: str, cap: int) -> None:
            cap = min(cap, limit - len(claimed), budget.get(account, limit))
            if cap > 0:
                got = self.store.claim_due(self.worker, now, cap, self.lease, only=[account])
                if account in budget:
                    budget[account] -= len(got)
                claimed.extend(got)

        for account in sorted(self.unsafe):  # first, so a free slot goes to them
            before = len(claimed)
            take(account, unsafe_slots)
            unsafe_slots -= len(claimed) - before
        separate = set(budget) | self.unsafe
        if len(claimed) < limit:
            claimed += self.store.claim_due(
                self.worker, now, limit - len(claimed), self.lease, skip=sorted(separate)
            )
        for account in sorted(set(budget) - self.unsafe):
            take(account, limit)
        return claimed

    def _record(self, results: list[Result]) -> int:
        if not results:
            return 0
        self.store.record(self.worker, results)
        for r in results:
            self.in_flight.discard(r.delivery_id)
        return len(results)

    # -- recovery ------------------------------------------------------------------------
    def recover(self, limit: int = 100) -> int:
        """Reconcile deliveries whose worker died mid-publish: did the post go out?"""
        items = self.store.claim_expired(self.worker, self.clock(), limit, self.lease)
        # Saved one by one: a crash during recovery must not lose what was already found out.
        return sum(self._record([self.reconcile(item)]) for item in items)

    def reconcile(self, item: Claimed) -> Result:
        started = self.clock()
        outgoing = outgoing_for(item)
        platform = self.platform(item.account)
        try:
            found = platform.lookup(outgoing)
        except PublishError as exc:
            if platform.safe_to_resend:
                found = None  # re-sending with the same key cannot duplicate it
            else:
                note = PublishError(f"worker stopped mid-publish; outcome unknown: {exc.message}")
                return self._finish(item, started, Outcome.UNKNOWN, Status.UNKNOWN, error=note)
        if found is not None:
            result = Result(
                item.delivery_id, Outcome.PUBLISHED, started, self.clock(), Status.PUBLISHED,
                remote_id=found.remote_id, remote_url=found.url, dry_run=self.dry_run,
                detail={"recovered": True, **found.detail},
            )  # fmt: skip
            self._log(item, result)
            return result
        note = PublishError("worker stopped mid-publish; not on the platform, sending again")
        return self._finish(
            item, started, Outcome.TRANSIENT, Status.QUEUED, error=note,
            next_attempt_at=self.clock(),
        )  # fmt: skip

    def renew_leases(self) -> None:
        if self.in_flight:
            self.store.renew_leases(self.worker, list(self.in_flight), self.clock() + self.lease)

    # -- one delivery --------------------------------------------------------------------
    def publish(self, item: Claimed) -> Result:
        started = self.clock()
        outgoing = outgoing_for(item)
        try:
            platform = self.platform(item.account)
            published = self._already_published(platform, item, outgoing)
            if published is None:
                published = platform.publish(outgoing)
        except PublishError as exc:
            return self._failure(item, outgoing, exc, started)
        except PostbotError as exc:  # e.g. a credential variable that is not set
            return self._finish(item, started, Outcome.PERMANENT, Status.FAILED, error=exc)
        except Exception as exc:  # a bug or an unsorted library error: retry, keep the class
            log.debug("unexpected error publishing delivery %s", item.delivery_id, exc_info=True)
            return self._retry_or_fail(item, started, exc, None, None)
        result = Result(
            item.delivery_id, Outcome.PUBLISHED, started, self.clock(), Status.PUBLISHED,
            remote_id=published.remote_id, remote_url=published.url,
            http_status=published.http_status, dry_run=self.dry_run,
            detail=dict(published.detail),
        )  # fmt: skip
        self._log(item, result)
        return result

    def _already_published(
        self, platform: Platform, item: Claimed, outgoing: Outgoing
    ) -> Published | None:
        """On a retry, where the platform's duplicate protection may have lapsed: look first."""
        if item.attempts <= 1 or not platform.lookup_before_retry:
            return None
        try:
            return platform.lookup(outgoing)
        except PublishError:
            return None  # cannot tell (e.g. no read scope): the idempotency key still helps

    def _failure(
        self, item: Claimed, outgoing: Outgoing, exc: PublishError, started: datetime
    ) -> Result:
        if isinstance(exc, OutcomeUnknown) and not self.platform(item.account).safe_to_resend:
            # The post may be out; re-sending could publish it twice. A person decides.
            return self._finish(
                item, started, Outcome.UNKNOWN, Status.UNKNOWN, error=exc,
                http_status=exc.http_status,
            )  # fmt: skip
        if exc.transient:
            return self._retry_or_fail(item, started, exc, exc.http_status, exc.retry_after)
        return self._finish(
            item, started, Outcome.PERMANENT, Status.FAILED, error=exc, http_status=exc.http_status
        )

    def _retry_or_fail(
        self,
        item: Claimed,
        started: datetime,
        exc: BaseException,
        http_status: int | None,
        retry_after: datetime | None,
    ) -> Result:
        when = self.policy.next_attempt(item.attempts, self.clock(), retry_after)
        if when is None:
            return self._finish(
                item, started, Outcome.TRANSIENT, Status.FAILED, error=exc,
                http_status=http_status, suffix=f" (gave up after {item.attempts} attempts)",
            )  # fmt: skip
        return self._finish(
            item, started, Outcome.TRANSIENT, Status.QUEUED, error=exc,
            http_status=http_status, next_attempt_at=when,
        )  # fmt: skip

    def _finish(
        self,
        item: Claimed,
        started: datetime,
        outcome: Outcome,
        status: Status,
        *,
        error: BaseException,
        http_status: int | None = None,
        next_attempt_at: datetime | None = None,
        suffix: str = "",
    ) -> Result:
        message = (getattr(error, "message", None) or str(error) or type(error).__name__) + suffix
        result = Result(
            item.delivery_id, outcome, started, self.clock(), status,
            next_attempt_at=next_attempt_at, error_class=type(error).__name__,
            error_message=message, http_status=http_status, dry_run=self.dry_run,
        )  # fmt: skip
        self._log(item, result)
        return result

    def _log(self, item: Claimed, result: Result) -> None:
        extra = {
            "post_id": item.post_id, "delivery_id": item.delivery_id, "account": item.account,
            "platform": item.platform, "outcome": str(result.outcome),
            "status": str(result.status), "attempt": item.attempts,
            "remote_url": result.remote_url, "remote_id": result.remote_id,
            "error": result.error_message, "dry_run": self.dry_run,
        }  # fmt: skip
        if result.outcome == Outcome.PUBLISHED:
            where = result.remote_url or result.remote_id
            text = f" text={item.text!r}" if self.dry_run else ""
            log.info(
                "post %s -> %s: %s %s%s", item.post_id, item.account,
                "would publish" if self.dry_run else "published", where, text, extra=extra,
            )  # fmt: skip
        else:
            then = (
                f", next attempt {result.next_attempt_at.isoformat(timespec='seconds')}"
                if result.next_attempt_at
                else ""
            )
            log.warning(
                "post %s -> %s: %s (attempt %s): %s%s", item.post_id, item.account,
                result.status, item.attempts, result.error_message, then, extra=extra,
            )  # fmt: skip

    def platform(self, account_name: str) -> Platform:
        with self._platform_lock:
            platform = self._platforms.get(account_name)
            if platform is None:
                account = self.settings.account(account_name)
                platform = (
                    DryRunPlatform(account, self.environ)
                    if self.dry_run
                    else platform_for(account, self.environ)
                )
                self._platforms[account_name] = platform
            return platform

    def close(self, timeout: float | None = None) -> None:
        self.stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=False)
        for platform in self._platforms.values():
            platform.close()


def outgoing_for(item: Claimed) -> Outgoing:
    return Outgoing(
        delivery_id=item.delivery_id,
        post_id=item.post_id,
        account=item.account,
        text=item.text,
        language=item.language,
        link=item.link,
        hashtags=item.hashtags,
        media=item.media,
        idempotency_key=f"postbot-{item.key}",
        created_at=item.created_at,
    )
