"""The X cost guard as people see it: each X delivery's cost in `preview`, each X account's
month in `status`, and why a delivery a monthly budget holds waits (`list`, `show`).

The rules are `postbot.costs`'; the spend is read from the store (`Store.month_texts`), and
whether a budget holds an account's next due delivery is asked of the store the way a claim
decides it (`Store.claim_budgeted` with room for none: it takes nothing and tells).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from postbot.config import Settings
from postbot.costs import BudgetState, budgets_of, cost_of, month_bounds, prices_for
from postbot.domain import Delivery, Status, Wait, WaitReason
from postbot.drafts import Target
from postbot.store import Store

LEASE_UNUSED = 60.0  # seconds: a claim of none holds no lease


@dataclass(frozen=True)
class Spend:
    """One X account's month: what it was billed, what is in flight, its budget if any."""

    account: str
    month_start: datetime
    spent: Decimal  # published this month
    in_flight: Decimal  # publishing now, or unknown: counted as sent by the budget
    posts: int  # posts (thread parts) published this month
    budget: Decimal | None = None
    held: BudgetState | None = None  # set when due deliveries wait for the budget


def target_costs(settings: Settings, targets: Sequence[Target]) -> dict[str, Decimal]:
    """account -> what its delivery costs, for accounts whose platform bills per post."""
    costs = {}
    for t in targets:
        prices = prices_for(settings.x_prices, t.platform)
        if prices is not None:
            costs[t.account] = cost_of(t.texts, prices)
    return costs


def month_spend(settings: Settings, store: Store, now: datetime) -> tuple[Spend, ...]:
    """Every X account's spend this month (in the configured zone's month)."""
    from datetime import timedelta

    start, end = month_bounds(now, settings.timezone)
    budgets = budgets_of(settings.accounts.values(), settings.x_prices, settings.timezone)
    found = []
    for account in settings.accounts.values():
        prices = prices_for(settings.x_prices, account.platform)
        if prices is None:
            continue
        texts = store.month_texts(account.name, start, end)
        budget = budgets.get(account.name)
        held = None
        if budget is not None:
            state = store.claim_budgeted(
                "postbot status", now, account.name, budget, 0, timedelta(seconds=LEASE_UNUSED)
            ).state
            held = state if state.out else None
        found.append(
            Spend(
                account.name, start, texts.spent(prices), cost_of(texts.in_flight, prices),
                len(texts.published), budget.amount if budget else None, held,
            )
        )  # fmt: skip
    return tuple(found)


def budget_waits(
    settings: Settings, store: Store, deliveries: Sequence[Delivery], now: datetime
) -> Mapping[int, Wait]:
    """The due queued deliveries a monthly budget holds: id -> why, and until when at least
    (the month's end)."""
    budgets = budgets_of(settings.accounts.values(), settings.x_prices, settings.timezone)
    due = [
        d for d in deliveries
        if d.account in budgets and d.status == Status.QUEUED and d.next_attempt_at <= now
    ]  # fmt: skip
    if not due:
        return {}
    from datetime import timedelta

    states = {
        a: store.claim_budgeted(
            "postbot list", now, a, budgets[a], 0, timedelta(seconds=LEASE_UNUSED)
        ).state
        for a in {d.account for d in due}
    }
    return {
        d.id: Wait(d.id, d.account, WaitReason.BUDGET, states[d.account].month_end,
                   note=states[d.account].reason())
        for d in due
        if states[d.account].out
    }  # fmt: skip
