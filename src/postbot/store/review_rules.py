"""The rules of review and feeds every store follows (as `rules.py`'s): what an approval and a
rejection set, when a draft can be decided on, and what a poll does with an article it lists.
Pure functions, no database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from postbot.domain import Status
from postbot.errors import StateError
from postbot.feeds.records import KnownItem

# An article's post that is still this: an edited item updates it (nothing of it went out).
LIVE = (Status.DRAFT, Status.QUEUED)


def not_a_draft(verb: str, post_id: int, statuses: Iterable[str]) -> StateError:
    have = ", ".join(sorted(set(statuses)))
    return StateError(
        f"cannot {verb} post {post_id}: it is not a draft (its deliveries are {have});"
        " `postbot drafts` lists the drafts"
    )


def approved(due: datetime, now: datetime) -> dict[str, Any]:
    return {"status": Status.QUEUED, "due_at": due, "next_attempt_at": due, "updated_at": now,
            "dry_run": False}  # fmt: skip


def rejected(now: datetime) -> dict[str, Any]:
    return {"status": Status.CANCELLED, "updated_at": now, "dry_run": False}


def feed_item_action(
    known: KnownItem | None, new_hash: str, has_plan: bool, settled: int, live: int
) -> str:
    """What a poll does with one article:
    created (a new one, posted) | seen (a new one, only remembered) | unchanged |
    noted (changed, but it never had a post: the hash is kept) | updated (its post follows the
    edit) | conflict (something of it went out: never changed, never posted again) |
    kept (its post was rejected or cancelled: it stays so)."""
    if known is None:
        return "created" if has_plan else "seen"
    if known.content_hash == new_hash:
        return "unchanged"
    if known.post_id is None or not has_plan:
        return "noted"
    if settled:
        return "conflict"
    return "updated" if live else "kept"
