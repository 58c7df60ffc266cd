"""Dispatch: claim -> publish -> record.

- `loop.Dispatcher`: the loop, run once per pass by the daemon;
- `planner`: what to claim (pace budgets, free slots for platforms that cannot drop a repeat);
- `outcomes`: what a publish's answer means (published, retry at, failed, unknown);
- `publisher`: the calls to the platforms, and one log line per attempt;
- `paced`: which accounts wait for their pace, logged as that changes;
- `outlook`: why queued deliveries wait and when the next one goes (for `status`, `list`,
  `show`).

The decisions are pure functions with unit tests; the loop and the publisher do the I/O.
"""

from postbot.dispatch.loop import Dispatcher, now_utc
from postbot.dispatch.publisher import outgoing_for

__all__ = ["Dispatcher", "now_utc", "outgoing_for"]
