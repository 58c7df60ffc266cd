"""The outcome rules: (error, attempts, platform capabilities, retry strategy) -> decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postbot.dispatch.outcomes import (
    PUBLISHED,
    Capabilities,
    Decision,
    Verdict,
    decide,
    reconciled,
    result_of,
)
from postbot.domain import Claimed, Outcome, Status
from postbot.errors import ConfigError
from postbot.platforms.base import (
    OutcomeUnknown,
    PermanentError,
    Published,
    PublishError,
    TransientError,
)
from postbot.platforms.bluesky import BlueskyPlatform
from postbot.platforms.mastodon import MastodonPlatform
from postbot.platforms.x import XPlatform
from postbot.retry import RetryStrategy

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
STRATEGY = RetryStrategy(max_attempts=3, base_delay=60, max_delay=600)
SAFE = Capabilities(safe_to_resend=True)  # Mastodon, Bluesky: a repeat is dropped
UNSAFE = Capabilities(safe_to_resend=False)  # X


def after(error: BaseException, attempts: int = 1, caps: Capabilities = SAFE) -> Decision:
    return decide(error, attempts, caps, STRATEGY, T0, jitter=1.0)


def test_capabilities_come_from_the_platform() -> None:
    assert Capabilities.of(XPlatform) == UNSAFE
    assert Capabilities.of(MastodonPlatform) == SAFE
    assert Capabilities.of(BlueskyPlatform) == SAFE


def test_a_transient_error_is_retried_with_backoff() -> None:
    d = after(TransientError("503 Service Unavailable", http_status=503))
    assert d == Decision(
        Verdict.RETRY, Outcome.TRANSIENT, Status.QUEUED, T0 + timedelta(seconds=60),
        "503 Service Unavailable", "TransientError", 503,
    )  # fmt: skip
    assert after(TransientError("x"), attempts=2).retry_at == T0 + timedelta(seconds=120)


def test_a_rate_limit_is_retried_no_earlier_than_its_reset() -> None:
    reset = T0 + timedelta(hours=1)
    d = after(TransientError("Too Many Requests", http_status=429, retry_after=reset))
    assert (d.verdict, d.retry_at, d.http_status) == (Verdict.RETRY, reset, 429)


def test_a_transient_error_fails_once_the_attempts_are_used_up() -> None:
    d = after(TransientError("500 Internal Server Error", http_status=500), attempts=3)
    assert (d.verdict, d.outcome, d.status) == (Verdict.FAILED, Outcome.TRANSIENT, Status.FAILED)
    assert d.message == "500 Internal Server Error (gave up after 3 attempts)"
    assert d.retry_at is None and d.http_status == 500


@pytest.mark.parametrize("caps", [SAFE, UNSAFE])
def test_a_refusal_fails_at_once(caps: Capabilities) -> None:
    d = after(PermanentError("duplicate content", http_status=403), caps=caps)
    assert d == Decision(
        Verdict.FAILED, Outcome.PERMANENT, Status.FAILED, None, "duplicate content",
        "PermanentError", 403,
    )  # fmt: skip


def test_an_unknown_outcome_waits_for_a_person_where_a_repeat_could_post_twice() -> None:
    error = OutcomeUnknown("connection dropped; may or may not have been published")
    d = after(error, caps=UNSAFE)
    assert (d.verdict, d.outcome, d.status) == (Verdict.UNKNOWN, Outcome.UNKNOWN, Status.UNKNOWN)
    assert d.retry_at is None and d.message == error.message
    # Where the platform drops a repeat, it is a transient error like any other.
    assert after(error, caps=SAFE).verdict == Verdict.RETRY
    assert after(error, attempts=3, caps=SAFE).verdict == Verdict.FAILED


def test_our_own_errors_fail_and_unsorted_ones_are_retried() -> None:
    missing = ConfigError("account 'x': environment variable X_AT (access_token) is not set")
    d = after(missing)
    assert (d.verdict, d.outcome, d.error_class) == (Verdict.FAILED, Outcome.PERMANENT,
                                                     "ConfigError")  # fmt: skip
    assert d.message == str(missing) and d.http_status is None
    bug = after(KeyError("id"))  # a library's surprise, or a bug: it might pass next time
    assert (bug.verdict, bug.error_class, bug.message) == (Verdict.RETRY, "KeyError", "'id'")
    assert after(RuntimeError()).message == "RuntimeError"  # no text: the class names it


def test_after_a_crash_the_platforms_answer_decides() -> None:
    found = Published("111", "https://m.example/@news/111")
    assert reconciled(found, None, UNSAFE, T0) == PUBLISHED
    again = reconciled(None, None, UNSAFE, T0)  # not there: send it (again)
    assert (again.verdict, again.status, again.retry_at) == (Verdict.RETRY, Status.QUEUED, T0)
    assert again.message == "worker stopped mid-publish; not on the platform, sending again"
    cannot_tell = PublishError("X cannot look a post up")
    unknown = reconciled(None, cannot_tell, UNSAFE, T0)
    assert (unknown.verdict, unknown.status) == (Verdict.UNKNOWN, Status.UNKNOWN)
    assert unknown.message == "worker stopped mid-publish; outcome unknown: X cannot look a post up"
    # Where a repeat is dropped, "cannot tell" is no reason to wait: send it with the same key.
    assert reconciled(None, cannot_tell, SAFE, T0).verdict == Verdict.RETRY
    # A dry run that died sent nothing, wherever it was going.
    dry = reconciled(None, cannot_tell, UNSAFE, T0, sent_nothing=True)
    assert (dry.verdict, dry.retry_at) == (Verdict.RETRY, T0)
    assert "dry run" in (dry.message or "")


ITEM = Claimed(7, 3, "x", "x", "k", "Text", T0, 2, T0, "de", None, (), ())


def test_the_result_carries_what_the_store_records() -> None:
    published = Published("111", "https://x.com/i/status/111", 201, {"text": "Text"})
    r = result_of(ITEM, PUBLISHED, T0, T0 + timedelta(seconds=1), dry_run=False,
                  published=published)  # fmt: skip
    assert (r.delivery_id, r.outcome, r.status) == (7, Outcome.PUBLISHED, Status.PUBLISHED)
    assert (r.remote_id, r.remote_url, r.http_status) == ("111", "https://x.com/i/status/111", 201)
    assert r.detail == {"text": "Text"} and r.dry_run is False and r.error_message is None
    recovered = result_of(ITEM, PUBLISHED, T0, T0, dry_run=False, published=published,
                          recovered=True)  # fmt: skip
    assert recovered.detail == {"recovered": True, "text": "Text"}
    assert recovered.http_status is None  # the lookup's status is not the publish's
    failed = result_of(ITEM, after(TransientError("503", http_status=503)), T0, T0, dry_run=True)
    assert (failed.status, failed.next_attempt_at, failed.error_class) == (
        Status.QUEUED, T0 + timedelta(seconds=60), "TransientError",
    )  # fmt: skip
    assert failed.dry_run is True and failed.remote_id is None
