"""What the store keeps about feeds and hands back, as plain frozen records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postbot.drafts import Plan


class PollResult(StrEnum):
    OK = "ok"  # fetched and parsed
    NOT_MODIFIED = "not modified"  # 304: nothing new
    ERROR = "error"  # unreachable, 5xx, malformed: the feed backs off


@dataclass(frozen=True)
class FeedState:
    """One feed's row: the last poll, what it found so far, and when it is polled next."""

    name: str
    url: str
    etag: str | None
    last_modified: str | None
    polled_at: datetime | None
    result: PollResult | None
    error: str | None
    failures: int  # polls failed in a row (the backoff counts them)
    next_poll_at: datetime | None
    watched_since: datetime | None  # the first good poll (None: none yet: the next is first)
    items_seen: int  # articles known (each once, whatever its keys)
    posts_created: int
    body_hash: str | None = None  # sha256 of the last good poll's body (an answer of 200)


@dataclass(frozen=True)
class KnownItem:
    """An article already seen, under one of its keys."""

    article: int  # the article's id (all its keys share it)
    key: str
    content_hash: str
    post_id: int | None  # None: seen but never posted (before the feed's first poll, a cap)


@dataclass(frozen=True)
class ItemWrite:
    """One article of a poll to record: new (with a post to create, or none), or changed."""

    keys: tuple[str, ...]  # GUID/id key first, then the canonical link's
    content_hash: str
    title: str
    link: str | None
    plan: Plan | None = None  # the teaser; None: only remember the article
    due: datetime | None = None
    note: str | None = None  # why no post, or what the editor should check (alt text ...)


@dataclass(frozen=True)
class PollWrite:
    """A poll's outcome: the feed's new state and the articles to record, in one transaction."""

    feed: str
    url: str
    polled_at: datetime
    result: PollResult
    next_poll_at: datetime
    failures: int = 0
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    items: tuple[ItemWrite, ...] = ()
    body_hash: str | None = None  # of a 200's body; None (a 304, an error): the last one stays


@dataclass(frozen=True)
class ItemOutcome:
    """What recording one article did: created | updated | unchanged | conflict | seen."""

    keys: tuple[str, ...]
    action: str
    post_id: int | None = None
    note: str | None = None
