"""RetryStrategy: exponential backoff with equal jitter, capped, never before a reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postbot.retry import RetryDecision, RetryStrategy

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
STRATEGY = RetryStrategy(max_attempts=5, base_delay=30, max_delay=300)


def wait(attempts: int, jitter: float) -> float:
    decision = STRATEGY.decide(attempts, T0, jitter=jitter)
    assert decision is not None
    return (decision.retry_at - T0).total_seconds()


@pytest.mark.parametrize(
    ("attempts", "shortest", "longest"),
    [(1, 15, 30), (2, 30, 60), (3, 60, 120), (4, 120, 240)],
)
def test_the_wait_doubles_and_the_jitter_takes_at_most_half(
    attempts: int, shortest: float, longest: float
) -> None:
    assert wait(attempts, 0.0) == shortest  # half the backoff is always kept: never at once
    assert wait(attempts, 0.5) == (shortest + longest) / 2
    assert wait(attempts, 1.0) == longest


def test_the_backoff_is_capped_at_max_delay() -> None:
    capped = RetryStrategy(max_attempts=20, base_delay=30, max_delay=300)
    assert capped.backoff(10) == 300
    assert capped.decide(10, T0, jitter=1.0) == RetryDecision(T0 + timedelta(seconds=300))
    assert capped.decide(10, T0, jitter=0.0) == RetryDecision(T0 + timedelta(seconds=150))


def test_no_retry_once_the_attempts_are_used_up() -> None:
    assert STRATEGY.decide(4, T0, jitter=0.5) is not None
    assert STRATEGY.decide(5, T0, jitter=0.5) is None
    assert STRATEGY.decide(6, T0, jitter=0.5) is None
    assert RetryStrategy(max_attempts=1).decide(1, T0, jitter=0.5) is None


def test_never_before_the_platforms_reset() -> None:
    reset = T0 + timedelta(hours=2)
    assert STRATEGY.decide(1, T0, jitter=1.0, not_before=reset) == RetryDecision(reset)
    soon = T0 + timedelta(seconds=1)  # a reset sooner than the backoff changes nothing
    assert STRATEGY.decide(1, T0, jitter=1.0, not_before=soon) == RetryDecision(
        T0 + timedelta(seconds=30)
    )
    # With the attempts used up there is no retry at all, reset or not.
    assert STRATEGY.decide(5, T0, jitter=1.0, not_before=reset) is None


@pytest.mark.parametrize("jitter", [-0.1, 1.5])
def test_a_jitter_outside_0_to_1_is_a_bug_and_says_so(jitter: float) -> None:
    with pytest.raises(ValueError, match="jitter must lie in"):
        STRATEGY.decide(1, T0, jitter=jitter)
