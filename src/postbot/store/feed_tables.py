"""The tables of review and feeds (migration 0009): `review` (every approval and rejection),
`feed` (one row per configured feed: its last poll and backoff) and `feed_item` (every article
key a feed ever listed, kept for good: unique per feed and key, so an article is posted once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field

from postbot.store.tables import RowModel


class ReviewRow(RowModel, table=True):
    """Append-only: one row per editor's decision on a draft."""

    __tablename__ = "review"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True, ondelete="CASCADE")
    decision: str = Field(max_length=20)
    by: str = Field(max_length=200)
    at: datetime
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class FeedRow(RowModel, table=True):
    __tablename__ = "feed"

    name: str = Field(primary_key=True, max_length=200)
    url: str = Field(max_length=2000)
    etag: str | None = Field(default=None, max_length=1000)
    last_modified: str | None = Field(default=None, max_length=200)
    polled_at: datetime | None = None
    result: str | None = Field(default=None, max_length=20)
    error: str | None = None
    failures: int = 0
    next_poll_at: datetime | None = None
    watched_since: datetime | None = None  # the first good poll: what it listed is backlog
    items_seen: int = 0
    posts_created: int = 0
    # The sha256 of the last good poll's body: the same bytes again are the same items.
    body_hash: str | None = Field(default=None, max_length=64)


class FeedItemRow(RowModel, table=True):
    """One key of one article. An article has one or two (its GUID/id, its canonical link):
    the rows share `article` (the first row's id), its post and its content hash."""

    __tablename__ = "feed_item"
    __table_args__ = (
        UniqueConstraint("feed", "key", name="uq_feed_item_feed_key"),
        Index("ix_feed_item_article", "article"),
    )

    id: int | None = Field(default=None, primary_key=True)
    feed: str = Field(max_length=200)
    key: str = Field(max_length=1000)
    article: int | None = None  # the first key row's id; NULL on that row itself
    post_id: int | None = Field(default=None, foreign_key="post.id", ondelete="SET NULL")
    content_hash: str = Field(max_length=64)
    title: str = ""
    link: str | None = Field(default=None, max_length=2000)
    seen_at: datetime
    updated_at: datetime
    note: str | None = None
