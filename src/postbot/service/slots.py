"""Posting slots for the CLI and scripts: `--next-slot` at enqueue and reschedule, and
`postbot slots` (the coming week's slots and what fills each).

A slot is free for an account when no delivery of that account that is not cancelled is due
at that instant; each target takes its own first free slot. The store takes it in the same
transaction that stores the delivery, and the database refuses a slot taken twice
(store/slots.py), so concurrent enqueues never share one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from postbot.domain import Status
from postbot.slot_config import schedule_of, schedules_for

if TYPE_CHECKING:
    from postbot.drafts import Plan
    from postbot.service import App
    from postbot.slots import Schedule

TITLE_LENGTH = 40


@dataclass(frozen=True)
class Fill:
    """What fills one account's slot: a post due then."""

    post_id: int
    title: str  # the headline, or the start of the text
    status: Status


@dataclass(frozen=True)
class SlotLine:
    at: datetime  # UTC
    slot: str  # the slot as written in the config
    fills: Mapping[str, Fill | None]  # account -> what fills it (None: free)


@dataclass(frozen=True)
class SlotTable:
    """One place slots are configured (`accounts.NAME` or `queues.NAME`) over the week."""

    name: str
    accounts: tuple[str, ...]
    lines: tuple[SlotLine, ...]


@dataclass(frozen=True)
class SlotWeek:
    start: datetime
    end: datetime
    tables: tuple[SlotTable, ...]


def place(app: App, checked: Plan, now: datetime) -> tuple[int, dict[str, datetime]]:
    """Store a checked post with each target in its first free slot."""
    accounts = tuple(t.account for t in checked.targets)
    return app.store.enqueue_slotted(checked, schedules_for(app.settings, accounts), now)


def reschedule(app: App, post_id: int) -> dict[str, datetime]:
    """`reschedule ID --next-slot`: each queued (or missed) delivery to its account's first
    free slot; those a server holds are withdrawn from it first."""
    from postbot.service import serverside

    now = app.now()
    post = app.store.get_post(post_id)
    movable = tuple(d.account for d in post.deliveries
                    if d.status in (Status.QUEUED, Status.MISSED, Status.SCHEDULED))  # fmt: skip
    schedules = schedules_for(app.settings, movable)
    if serverside.scheduled(post):
        serverside.withdraw(app.settings, app.store, [post], now)
    return app.store.reschedule_slotted(post_id, schedules, now)


def week(app: App, weeks_ahead: int = 0) -> SlotWeek:
    """The slots of the 7 days from now (`weeks_ahead` weeks later), per configured place,
    each with what fills it for every account it serves."""
    now = app.now()
    zone = app.zone
    start_local = now.astimezone(zone) + timedelta(weeks=weeks_ahead)
    start = start_local.astimezone(now.tzinfo) if weeks_ahead else now
    end = (start_local.replace(tzinfo=None) + timedelta(days=7)).replace(tzinfo=zone)
    end = end.astimezone(now.tzinfo)
    places = slot_places(app)
    fills: dict[tuple[str, datetime], Fill] = {}
    for post in app.store.posts_due_between(start, end):
        title = (post.headline or post.teaser).replace("\n", " ")
        if len(title) > TITLE_LENGTH:
            title = title[: TITLE_LENGTH - 1] + "…"
        for d in post.deliveries:
            if d.status != Status.CANCELLED:
                fills.setdefault((d.account, d.due_at), Fill(post.id, title, d.status))
    tables = []
    for name, accounts in places:
        schedule = schedule_of(app.settings, accounts[0])
        assert schedule is not None
        lines = tuple(
            SlotLine(at, _slot_text(schedule, at), {a: fills.get((a, at)) for a in accounts})
            for at in schedule.between(start, end)
        )
        tables.append(SlotTable(name, accounts, lines))
    return SlotWeek(start, end, tuple(tables))


def _slot_text(schedule: Schedule, at: datetime) -> str:
    slot = schedule.slot_of(at)
    return slot.text if slot is not None else ""


def slot_places(app: App) -> list[tuple[str, tuple[str, ...]]]:
    """Every place slots are configured, with the accounts they serve, in config order."""
    found: list[tuple[str, tuple[str, ...]]] = [
        (f"accounts.{name}", (name,))
        for name, account in app.settings.accounts.items()
        if account.options.get("slots")
    ]
    found += [(f"queues.{q.name}", q.accounts) for q in app.settings.queues.values()]
    return found


def slot_times(app: App, start: datetime, end: datetime) -> list[tuple[datetime, tuple[str, ...]]]:
    """Every configured slot in [start, end), with the accounts it serves (filled or not)."""
    found = []
    for _name, accounts in slot_places(app):
        schedule = schedule_of(app.settings, accounts[0])
        assert schedule is not None
        found += [(at, accounts) for at in schedule.between(start, end)]
    return found
