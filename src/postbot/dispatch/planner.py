"""What to claim next: pure decisions over the accounts' rules, with no store and no clock.

- Paced accounts are claimed one at a time, each within its budget (`Store.claim_paced`
  decides the budget inside the claim transaction, so workers together keep it); an account
  whose budget is used up is left alone until its next slot.
- Accounts whose platform cannot drop a repeat (X: `safe_to_resend` False) are claimed only
  into free publish slots, and first, so a free slot goes to them: a claimed X post that a
  crash leaves behind becomes `unknown`, for a person to check, so none waits claimed.
- Everything else is claimed together, up to the room left.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from postbot.config import Settings
from postbot.costs import Budget, budgets_of
from postbot.pacing import Pace, max_lateness_of, paces_of


@dataclass(frozen=True)
class AccountRules:
    """How the dispatcher treats each configured account."""

    paces: Mapping[str, Pace]  # the paced accounts
    free_slots_only: frozenset[str]  # accounts without duplicate protection (X)
    lateness: Mapping[str, timedelta | None]  # max_lateness per account (None: off)
    budgets: Mapping[str, Budget] = field(default_factory=dict)  # X: monthly_budget

    @classmethod
    def of(cls, settings: Settings, *, dry_run: bool) -> AccountRules:
        """From the config (ConfigError for a bad pace or lateness). A dry run sends nothing,
        so no account needs the free-slot rule there."""
        from postbot.platforms import platform_class

        accounts = list(settings.accounts.values())
        unsafe = (
            frozenset()
            if dry_run
            else frozenset(
                a.name for a in accounts if not platform_class(a.platform).safe_to_resend
            )
        )
        lateness = {a.name: max_lateness_of(a) for a in accounts}
        return cls(
            paces_of(accounts),
            unsafe,
            lateness,
            budgets_of(settings.accounts.values(), settings.x_prices, settings.timezone),
        )


@dataclass(frozen=True)
class ClaimRequest:
    """One claim to make: of one account (with its pace), or of every other account."""

    account: str | None  # None: all accounts not in `skip`
    pace: Pace | None = None
    skip: tuple[str, ...] = ()
    free_slots_only: bool = False
    budget: Budget | None = None  # claimed within its monthly budget (Store.claim_budgeted)


@dataclass(frozen=True)
class Room:
    """How many deliveries a refill may still claim, and of those how many into accounts that
    take only free slots."""

    total: int
    free_slots: int

    def cap(self, request: ClaimRequest) -> int:
        return max(0, min(self.total, self.free_slots if request.free_slots_only else self.total))

    def after(self, request: ClaimRequest, claimed: int) -> Room:
        free = self.free_slots - claimed if request.free_slots_only else self.free_slots
        return replace(self, total=self.total - claimed, free_slots=free)


def requests(rules: AccountRules, paced_out: Collection[str]) -> list[ClaimRequest]:
    """The claims of one refill, in order: free-slot accounts first, then all the others
    together, then the paced (and budgeted) ones; accounts in `paced_out` are left out."""
    separate = set(rules.paces) | rules.free_slots_only | set(rules.budgets)
    first = [
        ClaimRequest(a, rules.paces.get(a), free_slots_only=True, budget=rules.budgets.get(a))
        for a in sorted(rules.free_slots_only)
        if a not in paced_out
    ]
    paced = [
        ClaimRequest(a, rules.paces.get(a), budget=rules.budgets.get(a))
        for a in sorted((set(rules.paces) | set(rules.budgets)) - rules.free_slots_only)
        if a not in paced_out
    ]
    return [*first, ClaimRequest(None, skip=tuple(sorted(separate))), *paced]


def room(concurrency: int, batch: int, in_flight: int, free_slot_in_flight: int) -> Room:
    """The room of a refill with publishes in a pool of `concurrency` threads.

    Claims run ahead of the pool (up to four times its size in flight), but an account that
    takes only free slots gets what can start now, and under a backlog one at a time.
    """
    free = max(concurrency - in_flight, 0 if free_slot_in_flight else 1)
    return Room(max(0, min(batch, concurrency * 4 - in_flight)), free)


def held_back(next_slots: Mapping[str, datetime | None], now: datetime) -> list[str]:
    """Of the paced-out accounts (account -> next slot), those still out of budget at `now`."""
    return sorted(a for a, slot in next_slots.items() if slot is None or slot > now)


def earliest(times: Iterable[datetime | None]) -> datetime | None:
    """The first of some moments (None: none is known). The next pass runs at the earliest of
    the next due delivery of an account that may post and the next slot of a paced-out one."""
    return min((t for t in times if t is not None), default=None)
