"""`postbot resolve` for a thread: the part whose outcome is unknown (X) is recorded as found,
and the thread goes on with the parts after it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbot.domain import Delivery, Part, Post

if TYPE_CHECKING:
    from postbot.service import App, Resolved


def resolve_part(app: App, post: Post, delivery: Delivery, url: str) -> Resolved | None:
    """Resolve the unknown part of a thread delivery; None for a single post (the store's
    `resolve` does that)."""
    from postbot.dispatch.thread import next_part, thread_parts
    from postbot.platforms import platform_for
    from postbot.service import Resolved
    from postbot.store.rules import remote_id_of

    platform = platform_for(app.settings.account(delivery.account))
    parts = thread_parts(delivery.part_count, delivery.parts, delivery.text, post.link, platform)
    if not parts:
        return None
    at = next_part(parts, dry_run=False)
    if at == len(parts):
        return None  # every part is recorded: the delivery itself is what is unknown
    now = app.now()
    found = Part(parts[at].index, parts[at].text, remote_id_of(url), url, published_at=now)
    app.store.resolve_part(delivery.id, found, now, remaining=len(parts) - at - 1)
    return Resolved(post.id, delivery.account, url, found.index, len(parts))
