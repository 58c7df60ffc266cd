"""Which budgeted X accounts this worker found holding a delivery (it would exceed the
account's `monthly_budget`), and a log line each time that changes: a held post is never
silent.

The decision itself is the store's, in the claim transaction (`Store.claim_budgeted`); this
board remembers the last answer per account so a pass leaves such an account alone for a
while. It asks again every `RECHECK` (a person may have cancelled the held post, or a worker
with a raised budget may have sent it) and at the month's end, when the spend starts at 0.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo

from postbot.costs import BudgetState
from postbot.dispatch import planner
from postbot.when import local_text

log = logging.getLogger("postbot.dispatch")

RECHECK = timedelta(seconds=60)


class BudgetBoard:
    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.out: dict[str, tuple[BudgetState, datetime]] = {}  # account -> (state, found at)

    def update(self, state: BudgetState, now: datetime) -> None:
        before = self.out.get(state.account)
        if state.out:
            self.out[state.account] = (state, now)
            if before is None:
                log.warning(
                    "%s: %d due post(s) held by the monthly budget: %s (month ends %s)",
                    state.account, state.held, state.reason(),
                    local_text(state.month_end, self.zone),
                )  # fmt: skip
        elif before is not None:
            del self.out[state.account]
            log.info("%s: monthly budget allows posting again", state.account)

    def until(self, account: str) -> datetime:
        state, found = self.out[account]
        return min(state.month_end, found + RECHECK)

    def held_back(self, now: datetime) -> list[str]:
        """Accounts to leave alone at `now`."""
        return planner.held_back({a: self.until(a) for a in self.out}, now)

    def next_check(self, accounts: list[str]) -> datetime | None:
        return planner.earliest(self.until(a) for a in accounts)
