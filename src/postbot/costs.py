"""What X bills for posts, and whether a delivery fits an account's monthly budget.

X bills every post it creates (pay-per-use): a post with a URL at `post_with_link`, one
without at `post`; every part of a thread is a post, and so is the link reply of
`link_placement = "reply"` (billed as a post with a URL, on top of the post before it). Prices
come from the config (`[prices.x]`); the defaults are X's published prices (README, "Cost guard
for X"). Money is `Decimal` US dollars, never a float.

The budget decision (`fits`) is a pure function: the store calls it inside the claim
transaction with the month's spend, so several workers together never exceed a budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from postbot.domain import Claimed, PaceState, Status
from postbot.links import has_url

if TYPE_CHECKING:
    from postbot.domain import Account

# X's published pay-per-use prices (docs.x.com/x-api/getting-started/pricing, "Content:
# Create" and "Content: Create (with URL)", per request; the rates since April 2026).
DEFAULT_POST = Decimal("0.015")
DEFAULT_POST_WITH_LINK = Decimal("0.200")
PRICED_PLATFORMS = ("x",)
# What counts against a month's budget: what went out, and what may have (a publish in flight,
# an outcome unknown), so that workers together never spend past it. Every store reads these.
BILLED = (Status.PUBLISHED, Status.PUBLISHING, Status.UNKNOWN)
IN_FLIGHT = (Status.PUBLISHING, Status.UNKNOWN)


@dataclass(frozen=True)
class Prices:
    post: Decimal = DEFAULT_POST
    post_with_link: Decimal = DEFAULT_POST_WITH_LINK

    def of(self, text: str) -> Decimal:
        """What one post with this text costs."""
        return self.post_with_link if has_url(text) else self.post


def cost_of(texts: Iterable[str], prices: Prices) -> Decimal:
    """What posting these texts (a single post, or every part of a thread) costs."""
    return sum((prices.of(t) for t in texts), Decimal(0))


def money(value: Decimal) -> str:
    """$0.215: dollars with at least two decimals, as many as the price has (at most 4)."""
    shown = f"{value.quantize(Decimal('0.0001')).normalize():f}"
    whole, _, cents = shown.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def usd(value: Decimal) -> str:
    """A sum for `--json`: as `money` shows it, without the dollar sign ("0.215", "0.20")."""
    return money(value).removeprefix("$")


def parse_money(value: str | int | float) -> Decimal:
    """A price or budget from the config: a number of US dollars, not negative."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"must be a number of US dollars, e.g. 0.015, not {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"must be a number of US dollars, 0 or more, not {value!r}")
    return amount


# -- the month ----------------------------------------------------------------------------------
def month_bounds(now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """The calendar month `now` falls in, in the configured zone: [start, end) in UTC."""
    local = now.astimezone(zone)
    start = datetime(local.year, local.month, 1, tzinfo=zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    end = datetime(year, month, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


# -- the budget ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """An account's `monthly_budget`, with the prices and the zone its month is counted in."""

    amount: Decimal
    prices: Prices
    zone: tzinfo


@dataclass(frozen=True)
class BudgetState:
    """An account's month at one moment: spent (published and in flight), and what waits."""

    account: str
    budget: Decimal
    spent: Decimal
    month_end: datetime  # when the month's spend starts again at 0
    held: int = 0  # due deliveries that wait because they would exceed the budget
    next_cost: Decimal | None = None  # what the first of them costs

    @property
    def out(self) -> bool:
        return self.held > 0

    def reason(self) -> str:
        """Why a delivery of this account waits, in one line."""
        cost = money(self.next_cost) if self.next_cost is not None else "its cost"
        if self.next_cost is not None and self.next_cost > self.budget:
            return (
                f"held: costs {cost}, more than the monthly budget of {money(self.budget)};"
                " raise monthly_budget"
            )
        return (
            f"held: {money(self.spent)} of the monthly budget of {money(self.budget)} spent,"
            f" {cost} would exceed it; goes out in the next month or when monthly_budget"
            " is raised"
        )


def fits(spent: Decimal, costs: Sequence[Decimal], budget: Decimal) -> int:
    """How many of the due deliveries (their costs, in due order) go out now: each while the
    month's spend with it stays within the budget. The first that does not fit holds those
    behind it too: none jumps the queue for being cheaper."""
    taken = 0
    for cost in costs:
        if spent + cost > budget:
            break
        spent += cost
        taken += 1
    return taken


def budget_state(
    account: str,
    budget: Budget,
    spent: Decimal,
    month_end: datetime,
    costs: Sequence[Decimal],
    fit: int,
    waiting: Callable[[], int],
) -> BudgetState:
    """The month after a claim that took `fit` of the due `costs` (spent: with them): when the
    budget holds the next one, how many due deliveries wait (`waiting`, read only then)."""
    held = fit < len(costs)  # the budget, not the pace or the room, holds the next one
    return BudgetState(
        account, budget.amount, spent, month_end,
        held=waiting() if held else 0, next_cost=costs[fit] if held else None,
    )  # fmt: skip


# -- what the store reads and takes -------------------------------------------------------------
@dataclass(frozen=True)
class SpendTexts:
    """The texts an account's month is billed for: posts (and thread parts) published in it,
    and those in flight now (publishing, or `unknown`: maybe sent), counted as if sent."""

    published: tuple[str, ...] = ()
    in_flight: tuple[str, ...] = ()

    def spent(self, prices: Prices) -> Decimal:
        return cost_of(self.published, prices)

    def committed(self, prices: Prices) -> Decimal:
        return cost_of((*self.published, *self.in_flight), prices)


@dataclass(frozen=True)
class BudgetClaim:
    """What a claim under a monthly budget took, the budget it left, and the pace (if any)."""

    claimed: tuple[Claimed, ...]
    state: BudgetState
    pace: PaceState | None = None


def budgets_of(accounts: Iterable[Account], prices: Prices, zone: tzinfo) -> dict[str, Budget]:
    """The accounts with a `monthly_budget` (X accounts: the only ones billed per post), each
    counted at `prices` (the config's [x_prices]) over a month in `zone`."""
    return {
        a.name: Budget(a.options["monthly_budget"], prices, zone)
        for a in accounts
        if a.platform in PRICED_PLATFORMS and a.options.get("monthly_budget") is not None
    }


def prices_for(prices: Prices, platform: str) -> Prices | None:
    """`prices` (the config's [x_prices]) for a platform that bills per post; None else."""
    return prices if platform in PRICED_PLATFORMS else None
