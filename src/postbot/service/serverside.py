"""A person's changes to posts a server holds (status `scheduled`, `server_side = true`): the
server is asked first, the store changed after, so the server never publishes what was
withdrawn and postbot never sends a second copy of what it still holds.

- `cancel`: the scheduled status is deleted, then the delivery cancelled;
- `reschedule`: the scheduled status is moved (PUT scheduled_at); to a time too close for the
  server, or one it refuses (its limits), it is withdrawn and postbot publishes it then;
- a changed post file, or a deleted one (`[posts] on_delete = "cancel"`): withdrawn, then
  the import re-renders (or cancels) it like any queued delivery, and the new text is handed
  over again.

A scheduled status the server no longer holds (it published it meanwhile) cannot be changed:
the delivery is left as it is for the next check to record as published, and the change is
refused for it. A server that cannot be reached changes nothing (exit 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TypeVar

from postbot.config import Settings
from postbot.domain import Delivery, Post, Status
from postbot.errors import PostbotError, StateError
from postbot.platforms import platform_for
from postbot.platforms.base import PublishError
from postbot.store import Store, rules

T = TypeVar("T")


@dataclass
class Withdrawal:
    """What asking the server came to, per delivery."""

    changed: int = 0  # deliveries changed in the store
    gone: list[str] = field(default_factory=list)  # accounts whose server published it already

    def note(self, post_id: int) -> str:
        return (
            f"post {post_id}: the server already published it on {', '.join(self.gone)}"
            " (its next check records it)"
        )

    def then(self, verb: str, post_id: int, change: Callable[[], int]) -> int:
        """The store's own change (of the queued deliveries) after the servers': how many
        changed in all. Refused (StateError) only when neither changed anything."""
        try:
            return change() + self.changed
        except StateError:
            if self.changed:
                return self.changed
            if self.gone:
                raise StateError(f"cannot {verb} {self.note(post_id)}") from None
            raise


def cancel_post(
    settings: Settings, store: Store, post_id: int, now: datetime, *, live: bool = True
) -> tuple[int, Withdrawal]:
    """Cancel a post everywhere: what its servers hold (withdrawn first), then its queued
    deliveries. How many changed, and what the servers said; StateError when nothing could
    be. `live` False (a dry run): live deliveries on a server are left alone."""
    post = store.get_post(post_id)
    held = [d for d in scheduled(post) if live or d.dry_run]
    done = cancel(settings, store, post, now, held) if held else Withdrawal()
    return done.then("cancel", post_id, partial(store.cancel, post_id, now)), done


def scheduled(post: Post) -> list[Delivery]:
    return [d for d in post.deliveries if d.status == Status.SCHEDULED and d.scheduled_id]


def cancel(
    settings: Settings,
    store: Store,
    post: Post,
    now: datetime,
    deliveries: Sequence[Delivery] | None = None,
) -> Withdrawal:
    done = Withdrawal()
    for d in scheduled(post) if deliveries is None else deliveries:
        if _withdraw(settings, d):
            done.changed += store.change_scheduled(d.id, _sid(d), rules.cancelled_scheduled(now))
        else:
            done.gone.append(d.account)
    return done


def reschedule(
    settings: Settings, store: Store, post: Post, due: datetime, now: datetime
) -> Withdrawal:
    done = Withdrawal()
    times = {"due_at": due, "next_attempt_at": due}
    for d in scheduled(post):
        if d.dry_run:
            done.changed += store.change_scheduled(d.id, _sid(d), {**times, "updated_at": now})
            continue
        moved = _move(settings, d, due, now)
        if moved is None:
            done.gone.append(d.account)
        elif moved:
            done.changed += store.change_scheduled(d.id, _sid(d), {**times, "updated_at": now})
        elif _withdraw(settings, d):  # too close for the server, or refused: postbot's now
            done.changed += store.change_scheduled(d.id, _sid(d), rules.unscheduled(now, **times))
        else:
            done.gone.append(d.account)
    return done


def _move(settings: Settings, d: Delivery, due: datetime, now: datetime) -> bool | None:
    """Move the scheduled status to `due`: True if moved, False if the server will not take
    that time (too close, its limits), None if it no longer holds the status."""
    platform = platform_for(settings.account(d.account))
    server = platform.server_side
    if server is None or due - now <= server.min_ahead:
        return False
    try:
        held = _ask(d, partial(platform.move_scheduled, _sid(d), due))
    except _Refused:
        return False
    return None if held is None else True


def withdraw(settings: Settings, store: Store, posts: Sequence[Post], now: datetime) -> None:
    """Before a changed post file is imported: its deliveries the server holds go back in the
    queue (the import then re-renders them). One already published stays `scheduled`: the
    import reports the change as a conflict."""
    for post in posts:
        for d in scheduled(post):
            if d.dry_run or _withdraw(settings, d):
                store.change_scheduled(d.id, _sid(d), rules.unscheduled(now))


# -- asking the server ---------------------------------------------------------------------------
class _Refused(Exception):
    """The server refused the change (its limits, a time too close)."""


def _withdraw(settings: Settings, d: Delivery) -> bool:
    """Delete the scheduled status; False: the server no longer holds it."""
    if d.dry_run:
        return True  # a dry run's "scheduled" post is on no server
    platform = platform_for(settings.account(d.account))
    try:
        return _ask(d, partial(platform.cancel_scheduled, _sid(d)))
    except _Refused as exc:
        raise PostbotError(f"post {d.post_id}: {d.account}: {exc}; nothing was changed") from None


def _ask(d: Delivery, call: Callable[[], T]) -> T:
    try:
        return call()
    except PublishError as exc:
        if exc.transient:
            raise PostbotError(
                f"post {d.post_id}: cannot reach {d.account}'s server to change its scheduled"
                f" status {d.scheduled_id}: {exc.message}; nothing was changed"
            ) from None
        raise _Refused(exc.message) from None


def _sid(d: Delivery) -> str:
    assert d.scheduled_id is not None
    return d.scheduled_id
