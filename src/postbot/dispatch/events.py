"""What the dispatch loop tells the rest of the process, once a change is in the database:

- `recorded`: a batch of attempts was written (each with the claim it belongs to, so an
  observer knows the account, the platform and the due time), and with it each delivery's new
  state (published, queued again, failed, unknown);
- `missed`: deliveries of one account were marked `missed` (overdue by more than
  `max_lateness`).

Metrics (`postbot.ops.metrics`) and alerts (`postbot.ops.alerts`) subscribe; the loop knows
nothing of either. An observer runs in the loop's thread, after the write, so it must be quick
(an alert is sent from a thread of its own), and one that fails is logged and never stops a
pass: what was recorded stays recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from postbot.domain import Claimed, Result

log = logging.getLogger("postbot.dispatch")


@dataclass(frozen=True)
class Recorded:
    """One attempt as it was written, with the claim it was made under."""

    claimed: Claimed
    result: Result


class Observer:
    """Override what you need; every hook does nothing by default."""

    def recorded(self, records: Sequence[Recorded]) -> None:
        """Attempts and the deliveries' new states were written (one batch)."""

    def missed(self, account: str, count: int, now: datetime, *, dry_run: bool) -> None:
        """`count` queued deliveries of `account` were marked missed at `now`."""


class Events:
    """The observers of one dispatcher."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []

    def subscribe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def __bool__(self) -> bool:
        return bool(self._observers)

    def recorded(self, records: Sequence[Recorded]) -> None:
        for observer in self._observers:
            try:
                observer.recorded(records)
            except Exception:  # an observer's bug never stops dispatch
                log.exception("observer %s failed on recorded attempts", type(observer).__name__)

    def missed(self, account: str, count: int, now: datetime, *, dry_run: bool) -> None:
        for observer in self._observers:
            try:
                observer.missed(account, count, now, dry_run=dry_run)
            except Exception:
                log.exception("observer %s failed on missed deliveries", type(observer).__name__)
