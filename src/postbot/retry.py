"""When to try a failed publish again."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped; never before a rate-limit reset."""

    max_attempts: int = 5
    base_delay: float = 30.0
    max_delay: float = 3600.0

    def next_attempt(
        self, attempts: int, now: datetime, not_before: datetime | None = None
    ) -> datetime | None:
        """When to try again after `attempts` tries, or None when they are used up."""
        if attempts >= self.max_attempts:
            return None
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        # Half fixed, half random: spreads a burst of retries without ever retrying at once.
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        when = now + timedelta(seconds=delay)
        return max(when, not_before) if not_before else when
