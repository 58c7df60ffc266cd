"""What one attempt comes to: pure functions from (error, attempts, platform capabilities, retry
strategy) to a `Decision` (published, retry at, failed, unknown), and from a decision to the
`Result` the store records. No I/O: the publisher calls the platform, these say what it means.

The rules, in order:
- no error: published;
- the post may be out (`OutcomeUnknown`) on a platform that cannot drop a repeat (X): unknown,
  for a person to check; never sent again on our own;
- a transient error (network, timeout, 5xx, 429) or a failure we cannot sort (a bug, an
  unexpected library error): retried as the strategy says, never before the platform's reset;
  failed once the attempts are used up;
- any other refusal (bad token, content refused, duplicate, a missing credential): failed.

After a crash (a lease expired mid-publish), `reconciled` says what the platform's answer to
"is it there?" means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from postbot.domain import Claimed, Outcome, Result, Status
from postbot.errors import PostbotError
from postbot.platforms.base import OutcomeUnknown, Platform, Published, PublishError
from postbot.retry import RetryStrategy


class Verdict(StrEnum):
    PUBLISHED = "published"
    RETRY = "retry"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Capabilities:
    """What a platform can promise about re-sending (from its `Platform` class)."""

    # Re-sending after an unknown outcome cannot create a second post (idempotency key, fixed
    # record key). False (X): an unknown outcome waits for a person.
    safe_to_resend: bool

    @classmethod
    def of(cls, platform: type[Platform] | Platform) -> Capabilities:
        return cls(platform.safe_to_resend)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    outcome: Outcome  # what this attempt came to, for the attempt log
    status: Status  # the delivery's next state
    retry_at: datetime | None = None
    message: str | None = None  # the error, for a person (never a secret)
    error_class: str | None = None
    http_status: int | None = None


PUBLISHED = Decision(Verdict.PUBLISHED, Outcome.PUBLISHED, Status.PUBLISHED)


def decide(
    error: BaseException,
    attempts: int,
    capabilities: Capabilities,
    strategy: RetryStrategy,
    now: datetime,
    jitter: float,
) -> Decision:
    """What a failed attempt (the `attempts`-th) means for its delivery."""
    http_status = error.http_status if isinstance(error, PublishError) else None

    def decision(verdict: Verdict, outcome: Outcome, status: Status, **more: object) -> Decision:
        fields = {
            "message": message_of(error),
            "error_class": type(error).__name__,
            "http_status": http_status,
            **more,
        }
        return Decision(verdict, outcome, status, **fields)  # type: ignore[arg-type]

    if isinstance(error, OutcomeUnknown) and not capabilities.safe_to_resend:
        # The post may be out; re-sending could publish it twice. A person decides.
        return decision(Verdict.UNKNOWN, Outcome.UNKNOWN, Status.UNKNOWN)
    # A PostbotError (e.g. a credential that is not set) will not fix itself; an error nobody
    # sorted (a bug, a library's surprise) might, and is retried.
    transient = (
        error.transient if isinstance(error, PublishError) else not isinstance(error, PostbotError)
    )
    if not transient:
        return decision(Verdict.FAILED, Outcome.PERMANENT, Status.FAILED)
    not_before = error.retry_after if isinstance(error, PublishError) else None
    retry = strategy.decide(attempts, now, jitter=jitter, not_before=not_before)
    if retry is None:
        gave_up = f"{message_of(error)} (gave up after {attempts} attempts)"
        return decision(Verdict.FAILED, Outcome.TRANSIENT, Status.FAILED, message=gave_up)
    return decision(Verdict.RETRY, Outcome.TRANSIENT, Status.QUEUED, retry_at=retry.retry_at)


def reconciled(
    found: Published | None,
    lookup_error: PublishError | None,
    capabilities: Capabilities,
    now: datetime,
    *,
    sent_nothing: bool = False,
) -> Decision:
    """A delivery whose worker died mid-publish, after asking the platform whether it is there.

    `sent_nothing`: the dead worker was a dry run; no platform was asked, none needs to be.
    """
    if sent_nothing:
        return _again("worker stopped mid-publish (dry run): nothing was sent, queued again", now)
    if found is not None:
        return PUBLISHED
    if lookup_error is not None and not capabilities.safe_to_resend:
        note = f"worker stopped mid-publish; outcome unknown: {lookup_error.message}"
        return Decision(
            Verdict.UNKNOWN,
            Outcome.UNKNOWN,
            Status.UNKNOWN,
            message=note,
            error_class=PublishError.__name__,
        )
    # Not there, or cannot tell where re-sending with the same key cannot duplicate it.
    return _again("worker stopped mid-publish; not on the platform, sending again", now)


def reconciled_part(
    found: Published | None,
    lookup_error: PublishError | None,
    capabilities: Capabilities,
    now: datetime,
    number: int,
    total: int,
) -> Decision:
    """A thread whose worker died with part `number` of `total` (not the last, if `found`)
    perhaps out: what the platform's answer about that one part means for the thread."""
    if found is not None:
        return _again(
            f"worker stopped mid-thread; part {number} of {total} is out (recorded now);"
            f" the thread goes on at part {number + 1}",
            now,
        )
    if lookup_error is not None and not capabilities.safe_to_resend:
        note = (
            f"worker stopped mid-thread at part {number} of {total}; outcome unknown:"
            f" {lookup_error.message}"
        )
        return Decision(
            Verdict.UNKNOWN,
            Outcome.UNKNOWN,
            Status.UNKNOWN,
            message=note,
            error_class=PublishError.__name__,
        )
    return _again(
        f"worker stopped mid-thread; part {number} of {total} is not on the platform,"
        " sending it again",
        now,
    )


def _again(note: str, now: datetime) -> Decision:
    return Decision(
        Verdict.RETRY,
        Outcome.TRANSIENT,
        Status.QUEUED,
        now,
        message=note,
        error_class=PublishError.__name__,
    )


def message_of(error: BaseException) -> str:
    return getattr(error, "message", None) or str(error) or type(error).__name__


def result_of(
    item: Claimed,
    decision: Decision,
    started: datetime,
    finished: datetime,
    *,
    dry_run: bool,
    published: Published | None = None,
    recovered: bool = False,
) -> Result:
    """The record of one attempt, as the store writes it."""
    detail = dict(published.detail) if published is not None else {}
    if recovered and published is not None:
        detail = {"recovered": True, **detail}
    return Result(
        item.delivery_id,
        decision.outcome,
        started,
        finished,
        decision.status,
        next_attempt_at=decision.retry_at,
        remote_id=published.remote_id if published else None,
        remote_url=published.url if published else None,
        error_class=decision.error_class,
        error_message=decision.message,
        # A post found after a crash: the status of the lookup is not the publish's.
        http_status=(None if recovered else published.http_status)
        if published
        else decision.http_status,
        dry_run=dry_run,
        detail=detail,
    )
