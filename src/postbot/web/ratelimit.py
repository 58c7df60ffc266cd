"""Failed logins, counted per client address within a sliding window. Pure: the caller gives
the time (`time.monotonic()`), so the rule is tested without waiting.

After `limit` failures within `window` seconds an address is refused until its oldest failure
in the window is older than `window`; a successful login clears its count.
"""

from __future__ import annotations

import threading
from collections import deque


class FailedLogins:
    def __init__(self, limit: int = 5, window: float = 900.0, max_addresses: int = 10_000):
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses  # a flood of addresses cannot grow this without end
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str, now: float) -> float | None:
        """Seconds until `address` may try again; None if it may now."""
        with self._lock:
            if address not in self._failures:
                return None
            failures = self._recent(address, now)
            if len(failures) < self.limit:
                return None
            return max(0.0, failures[0] + self.window - now)

    def failed(self, address: str, now: float) -> None:
        with self._lock:
            if address not in self._failures and len(self._failures) >= self.max_addresses:
                self._forget_stale(now)
            self._recent(address, now).append(now)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def _forget_stale(self, now: float) -> None:
        for address in list(self._failures):
            if not self._recent(address, now):
                del self._failures[address]
        while len(self._failures) >= self.max_addresses:  # all recent: drop the oldest
            oldest = min(self._failures, key=lambda a: self._failures[a][-1])
            del self._failures[oldest]
