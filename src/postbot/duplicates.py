"""The duplicate guard's rule: is a text about to be queued the same as one that went, or is
going, to the same account within the last day?

Texts are compared normalised (`normalise`): whitespace collapsed, case folded, links without
their tracking parameters and fragments (`links.canonical_url`). Each delivery stores the hash
of its first part's normalised text (`text_hash`), so the store finds earlier ones by an index
on (account, hash) and never scans the queue; `earlier_match` decides over what it found.

A thread is compared by its first part: that is what readers see in the timeline, and the post
X refuses as a duplicate. Pure functions; the store reads, the service refuses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from postbot.domain import EXAMPLE_KEY_PREFIX, Status
from postbot.links import canonical_links

WINDOW = timedelta(hours=24)
# Still to go out: it counts when it was queued within the window.
PENDING = (Status.QUEUED, Status.PUBLISHING, Status.SCHEDULED)
# Gone out (or maybe, `unknown`): it counts when it went within the window.
SENT = (Status.PUBLISHED, Status.UNKNOWN)


def normalise(text: str) -> str:
    """What two texts must share to be the same post: links canonical, case folded, every run
    of whitespace one space, none at the ends."""
    return " ".join(canonical_links(text).casefold().split())


@lru_cache(maxsize=1024)  # pure; a post's targets mostly share one text
def text_hash(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Earlier:
    """A delivery with the same normalised text to the same account, as the store found it."""

    post_id: int
    post_key: str
    account: str
    status: Status
    created_at: datetime  # when it was queued
    updated_at: datetime  # for a published one: when it went out
    text_hash: str | None = None
    dry_run: bool = False  # its status was set by a dry run: nothing went out

    @property
    def sent(self) -> bool:
        """It went out (or maybe): a dry run's "published" is still to go out (`golive`)."""
        return self.status in SENT and not self.dry_run

    @property
    def at(self) -> datetime:
        """The moment that counts: when it went out, or when it was queued."""
        return self.updated_at if self.sent else self.created_at


def exempt(key: str | None, allow: bool = False) -> bool:
    """A post the guard does not check: allowed to repeat, or an example post."""
    return allow or (key is not None and key.startswith(EXAMPLE_KEY_PREFIX))


def earlier_match(
    found: Iterable[Earlier], key: str | None, now: datetime, window: timedelta = WINDOW
) -> Earlier | None:
    """The latest earlier delivery that makes a new post under `key` a duplicate: published
    (or unknown) within `window` before `now`, or still to go out and queued within it. The
    post itself (the same key: a post file imported again) never counts, nor does an example
    post (`example: true`): only dry runs publish it, so it never meets the new one."""
    if exempt(key):
        return None  # an example post is never checked either
    since = now - window
    hits = [
        e
        for e in found
        if (key is None or e.post_key != key)
        and not e.post_key.startswith(EXAMPLE_KEY_PREFIX)
        and (e.status in SENT or e.status in PENDING)
        and e.at >= since
    ]
    return max(hits, key=lambda e: (e.at, e.post_id), default=None)


def message(where: str, match: Earlier, when: str) -> str:
    """The one line that stops a duplicate, naming the earlier post, account and time."""
    done = "published" if match.sent else "queued"
    return (
        f"{where}: the same text as post {match.post_id}, {done} to {match.account} at {when}"
        " (within 24 hours); change the text, or give --allow-duplicate"
        " (allow_duplicate: true in a post file) to send it again"
    )
