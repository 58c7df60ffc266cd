"""When to try a failed publish again: a pure strategy (as procrastinate's `RetryStrategy`),
asked after each transient failure, answering with a `RetryDecision` or None (give up).

Exponential backoff with *equal* jitter, capped, never before the platform's rate-limit reset.
The n-th retry waits between half and all of `min(max_delay, base_delay * 2**(n-1))`. Equal,
not full, jitter: full jitter may draw a wait near zero and retry at once into the outage (or
the rate limit) that just failed; half the backoff is always kept, the other half spreads a
burst of retries apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryDecision:
    retry_at: datetime


@dataclass(frozen=True)
class RetryStrategy:
    max_attempts: int = 5
    base_delay: float = 30.0  # seconds before the second attempt
    max_delay: float = 3600.0

    def backoff(self, attempts: int) -> float:
        """The longest wait after `attempts` tries, in seconds (the jitter takes up to half)."""
        return min(self.max_delay, self.base_delay * 2 ** (attempts - 1))

    def decide(
        self, attempts: int, now: datetime, *, jitter: float, not_before: datetime | None = None
    ) -> RetryDecision | None:
        """After `attempts` tries: when to try again, or None when they are used up.

        `jitter` in [0, 1] picks the wait between half and all of the backoff (the caller
        draws it, so the strategy itself stays a pure function).
        """
        if attempts >= self.max_attempts:
            return None
        if not 0 <= jitter <= 1:
            raise ValueError(f"jitter must lie in [0, 1], not {jitter}")
        ceiling = self.backoff(attempts)
        when = now + timedelta(seconds=ceiling / 2 * (1 + jitter))
        return RetryDecision(max(when, not_before) if not_before else when)
