"""The tables: post (the content), delivery (one post to one account), delivery_part (a thread's
parts, per delivery), attempt (the log), heartbeat (the workers). SQLModel classes, used by the
store only; what the store hands back are the records of `postbot.domain`.

All datetimes are aware and stored in UTC (SQLModel's UTCDateTime refuses naive ones).
The schema is built by the Alembic migrations in `postbot/store/migrations`, never by
`create_all`, so a database created today upgrades cleanly tomorrow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from postbot.domain import Status, utcnow


class RowModel(SQLModel):
    """The base of every table class. The store reads and writes through each class's
    `__table__` (SQLAlchemy Core) and never validates a row with pydantic, so pydantic builds
    a class's validator on first use, not at import (`defer_build`): 30 ms of every start-up."""

    model_config = SQLModelConfig(defer_build=True)


class PostRow(RowModel, table=True):
    __tablename__ = "post"
    __table_args__ = (
        Index("uq_post_occurrence", "series_id", "occurrence_at", unique=True),
        Index("ix_post_every", "every"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # For a post file: its `id` or its path; for the CLI: a fresh uuid. Import is idempotent on it.
    key: str = Field(unique=True, max_length=500)
    headline: str | None = None
    teaser: str
    hashtags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    link: str | None = None
    language: str | None = Field(default=None, max_length=35)
    # [{"path": ..., "alt": ...}]
    media: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    source: str = Field(default="cli", max_length=1000)  # file path, or "cli"
    content_hash: str = Field(max_length=64)  # what the file said, to notice a change
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # A thread's further parts (after the teaser), and the variants per platform or account
    # ([{"name", "text"|"parts"|"hashtags"|"link"...}]); NULL for posts stored before threads.
    parts: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    variants: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    # A recurring post (the first of its series): its rule as written, and its end.
    every: str | None = Field(default=None, max_length=200)
    until_at: datetime | None = None
    series_stopped_at: datetime | None = None  # cancelled: no more occurrences
    # A later occurrence of a series: the series' first post, and the occurrence it is.
    series_id: int | None = None
    occurrence_at: datetime | None = None


class DeliveryRow(RowModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("post_id", "account", name="uq_delivery_post_account"),
        Index("ix_delivery_status_next", "status", "next_attempt_at"),
        Index("ix_delivery_account_due", "account", "due_at"),
        # Not declared here: `uq_delivery_slot`, one delivery per account and slot not
        # counting cancelled ones (account, slot_at WHERE slot_at IS NOT NULL AND status <>
        # 'cancelled'), made by migration 0007. Its dialect-specific WHERE would load
        # SQLAlchemy's PostgreSQL dialect on every start-up, and these classes never build
        # the schema: the migrations do.
        Index("ix_delivery_account_hash", "account", "text_hash"),
        Index("ix_delivery_account_status_updated", "account", "status", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True, ondelete="CASCADE")
    account: str = Field(max_length=200)
    platform: str = Field(max_length=50)
    # Stable per delivery and unique everywhere: the platform idempotency key.
    key: str = Field(unique=True, max_length=64)
    text: str  # the rendered text, exactly as it will be sent
    status: str = Field(default=Status.QUEUED, max_length=20)
    due_at: datetime  # when the user wants it out
    next_attempt_at: datetime  # due_at, or later after a transient failure
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_expires_at: datetime | None = None
    remote_id: str | None = Field(default=None, max_length=500)
    remote_url: str | None = Field(default=None, max_length=1000)
    last_error: str | None = None
    # The status was set by a dry run (nothing was sent); `postbot golive` re-queues it.
    dry_run: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # How many parts it has (1: a single post; more: a thread, in delivery_part); NULL for
    # deliveries queued before threads existed.
    part_count: int | None = None
    # While handed to the instance's scheduled statuses (status "scheduled"): its id there.
    scheduled_id: str | None = Field(default=None, max_length=100)
    # The instance refused to take it (limits, too soon): postbot publishes it itself.
    handover_refused: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # The posting slot it took (--next-slot); NULL: its time was given, not a slot.
    slot_at: datetime | None = None
    # The hash of its first part's normalised text (postbot.duplicates): the duplicate guard
    # looks earlier deliveries up by (account, text_hash). NULL: queued before the guard.
    text_hash: str | None = Field(default=None, max_length=64)


class PartRow(RowModel, table=True):
    """One part of a thread as one account is sent it; recorded as soon as it is published."""

    __tablename__ = "delivery_part"
    __table_args__ = (
        UniqueConstraint("delivery_id", "idx", name="uq_delivery_part"),
        Index("ix_delivery_part_published_at", "published_at"),  # each part is billed (X)
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", ondelete="CASCADE")
    idx: int  # 1-based: part 1 is the head of the thread
    text: str  # rendered, exactly as it is sent
    remote_id: str | None = Field(default=None, max_length=500)
    remote_url: str | None = Field(default=None, max_length=1000)
    ref: str | None = Field(default=None, max_length=500)  # Bluesky: the record's CID
    published_at: datetime | None = None
    dry_run: bool = False  # published by a dry run: nothing was sent


class AttemptRow(RowModel, table=True):
    """Append-only: one row per publish attempt, never updated."""

    __tablename__ = "attempt"
    # Pace budgets count an account's attempts by start time.
    __table_args__ = (Index("ix_attempt_started_at", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True, ondelete="CASCADE")
    worker: str = Field(max_length=200)
    started_at: datetime
    finished_at: datetime
    outcome: str = Field(max_length=20)
    error_class: str | None = Field(default=None, max_length=200)
    error_message: str | None = None
    http_status: int | None = None
    remote_id: str | None = Field(default=None, max_length=500)
    remote_url: str | None = Field(default=None, max_length=1000)
    dry_run: bool = False
    # What was sent (text, language, media with alt text): dry-run records it here.
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class HeartbeatRow(RowModel, table=True):
    """One row per daemon process, refreshed while it lives (`postbot status` reads it)."""

    __tablename__ = "heartbeat"

    worker: str = Field(primary_key=True, max_length=200)
    host: str = Field(max_length=200)
    pid: int
    dry_run: bool = False
    started_at: datetime
    seen_at: datetime


class AlertMessageRow(RowModel, table=True):
    """One alert message sent (one incident, or a digest of several): the rate limit counts
    these."""

    __tablename__ = "alert_message"

    id: int | None = Field(default=None, primary_key=True)
    sent_at: datetime = Field(index=True)


class IncidentRow(RowModel, table=True):
    """Something an operator is told of once (postbot.ops.alerts). `open_key` is the key while
    the incident stands (unique: one open incident per key), NULL once a condition ends."""

    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300)
    open_key: str | None = Field(default=None, unique=True, max_length=300)
    kind: str = Field(max_length=20, index=True)
    subject: str
    account: str | None = Field(default=None, max_length=200)
    delivery_id: int | None = None  # no foreign key: the incident outlives a deleted post
    condition: bool = False
    opened_at: datetime
    last_seen_at: datetime
    seen: int = 1
    # The message that told of it; NULL: not told yet (pending).
    message_id: int | None = Field(
        default=None, foreign_key="alert_message.id", index=True, ondelete="SET NULL"
    )
    resolved_at: datetime | None = None
