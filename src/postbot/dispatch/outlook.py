"""Why the queue waits, for people: each paced account's live budget, when the next delivery
goes out, and (through `pacing.wait_of` over its paces) why each queued delivery has not gone
yet.

`status` shows `next_send` instead of the bare next due time: while everything due waits for
its pace, that is the account's next slot, never a moment already past. `list` and `show`
show `wait_of` per queued delivery ("paced: 10 of 10 per 1h used, next slot 09:00:01").
"""

from __future__ import annotations

from datetime import datetime

from postbot.config import Settings
from postbot.domain import Outlook
from postbot.pacing import next_send, paces_of
from postbot.store import Store


def read_outlook(store: Store, settings: Settings, now: datetime) -> Outlook:
    """The live outlook (dry-run budgets never hold a live delivery back): two reads."""
    paces = store.pace_states(paces_of(settings.accounts.values()), now)
    return Outlook(paces, next_send(store.next_due_by_account(), paces))
