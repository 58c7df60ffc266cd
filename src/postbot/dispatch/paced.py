"""Which paced accounts this worker found out of budget, until when, and a log line each time
that changes: an account that is paced out is never silent.

The budget itself is decided by the store, in the claim transaction (`Store.claim_paced`);
this board only remembers the last answer per account, so a pass leaves such an account alone
until its next slot, and the daemon knows when to wake for it.
"""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo

from postbot.dispatch import planner
from postbot.domain import PaceState
from postbot.pacing import describe_period
from postbot.when import local_text

log = logging.getLogger("postbot.dispatch")


class PaceBoard:
    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.out: dict[str, PaceState] = {}  # paced-out accounts, as the last claim found them

    def update(self, state: PaceState) -> None:
        """Take in what a claim under a pace found; log when an account runs out of budget
        (with when its next slot opens) and when it may post again."""
        before = self.out.get(state.account)
        if state.paced_out:
            self.out[state.account] = state
            if state.waiting and (before is None or before.next_slot != state.next_slot):
                slot = local_text(state.next_slot, self.zone) if state.next_slot else "-"
                log.info(
                    "%s: paced out, %d of %d per %s used; %d due post(s) wait; next slot %s",
                    state.account, state.used, state.count, describe_period(state.period),
                    state.waiting, slot,
                )  # fmt: skip
        elif before is not None:
            del self.out[state.account]
            log.info(
                "%s: pace slot open, %d of %d per %s used", state.account, state.used,
                state.count, describe_period(state.period),
            )  # fmt: skip

    def held_back(self, now: datetime) -> list[str]:
        """Accounts still out of budget at `now`."""
        return planner.held_back({a: s.next_slot for a, s in self.out.items()}, now)

    def next_slot(self, accounts: list[str]) -> datetime | None:
        return planner.earliest(self.out[a].next_slot for a in accounts)
