"""Where posting slots are configured: `slots = [...]` on an account, or a named queue
(`[queues.NAME] slots = [...]`, `accounts = [...]`) whose slots several accounts share.

Each account's slots are its own to fill: a queue only says its slots once for all of them.
An account has its slots in one place: on itself or in one queue, never both (that would be
two schedules for one account, and which one wins would be a guess).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from postbot.errors import UserError
from postbot.options import Option
from postbot.schema import Where, check_keys, label, suggest
from postbot.slots import SLOT_HELP, Schedule, Slot, parse_slots

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from postbot.domain import Account

SLOTS = Option(list, parse=parse_slots, help='a list of slots, e.g. ["mon-fri 07:30", "sat 10:00"]')
QUEUE_KEYS = ("slots", "accounts")


@dataclass(frozen=True)
class Queue:
    """A named queue: slots shared by several accounts."""

    name: str
    slots: tuple[Slot, ...]
    accounts: tuple[str, ...]


def parse_queues(
    raw: Mapping[str, Any], accounts: Mapping[str, Account], where: Where
) -> dict[str, Queue]:
    """`[queues.NAME]` tables, checked: known keys, slots by the slot grammar, known accounts,
    each account in at most one place."""
    from postbot.schema import check_value

    queues: dict[str, Queue] = {}
    home: dict[str, str] = {a.name: f"accounts.{a.name}" for a in accounts.values()
                            if a.options.get("slots")}  # fmt: skip
    for name, table_ in raw.items():
        path = ("queues", name)
        if not isinstance(table_, dict):
            raise where.error(path, f"[{label(path)}] must be a table with slots and accounts")
        check_keys(table_, QUEUE_KEYS, path, where)
        for key in QUEUE_KEYS:
            if key not in table_:
                raise where.error(
                    path, f"{label(path)}.{key} is missing: a queue has slots = [...] ({SLOT_HELP})"
                    ' and accounts = ["name", ...]'
                )  # fmt: skip
        slots = check_value(table_["slots"], SLOTS, (*path, "slots"), where, where.file.parent)
        members = table_["accounts"]
        if (
            not isinstance(members, list)
            or not members
            or not all(isinstance(m, str) for m in members)
        ):
            raise where.error(
                (*path, "accounts"),
                f'{label(path)}.accounts must list account names, e.g. ["mastodon", "bluesky"]',
            )
        for member in members:
            if member not in accounts:
                known = ", ".join(sorted(accounts)) or "none configured"
                raise where.error(
                    (*path, "accounts"),
                    f"{label(path)}.accounts: unknown account '{member}'"
                    f"{suggest(member, accounts)} (known: {known})",
                )
            if member in home:
                raise where.error(
                    (*path, "accounts"),
                    f"{label(path)}.accounts: '{member}' has its slots in {home[member]} already;"
                    " give an account's slots in one place",
                )
            home[member] = label(path)
        queues[name] = Queue(name, slots, tuple(members))
    return queues


class SlotSettings(Protocol):
    """What the slots read of the settings (config.Settings is one)."""

    @property
    def timezone(self) -> ZoneInfo: ...

    @property
    def queues(self) -> Mapping[str, Queue]: ...

    def account(self, name: str) -> Account: ...


def schedule_of(settings: SlotSettings, account: str) -> Schedule | None:
    """The account's slots (its own, or its queue's) in the configured zone; None: none."""
    own = settings.account(account).options.get("slots")
    if own:
        return Schedule(tuple(own), settings.timezone, f"accounts.{account}")
    for queue in settings.queues.values():
        if account in queue.accounts:
            return Schedule(queue.slots, settings.timezone, f"queues.{queue.name}")
    return None


def schedules_for(settings: SlotSettings, accounts: tuple[str, ...]) -> dict[str, Schedule]:
    """Every target's schedule; a target without slots is refused in one line."""
    found: dict[str, Schedule] = {}
    for account in accounts:
        schedule = schedule_of(settings, account)
        if schedule is None:
            raise UserError(
                f"account '{account}' has no posting slots for --next-slot: give it"
                f' slots = ["mon-fri 07:30", ...] in [accounts.{account}], or add it to a'
                " [queues.NAME] with slots and accounts; or give a time with --at"
            )
        found[account] = schedule
    return found
