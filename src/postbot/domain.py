"""The things postbot talks about, as plain typed values: a leaf module that imports nothing of ours
but the errors.

- `Status` and `Outcome`: the states of a delivery and what one attempt came to;
- `MediaItem` and `Account`: what a post carries and where it goes;
- `Post`, `Delivery`, `Attempt`, `Worker`, `QueueSummary`: what the store hands back when it is
  read. They are frozen: a record is what the database said at one moment.

All datetimes are aware and in UTC.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from postbot.errors import ConfigError


def utcnow() -> datetime:
    return datetime.now(UTC)


class Status(StrEnum):
    QUEUED = "queued"  # waiting for its due time (or its next attempt)
    PUBLISHING = "publishing"  # claimed by a worker, lease running
    PUBLISHED = "published"
    FAILED = "failed"  # permanent error, or attempts used up
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # a worker died mid-publish and the platform cannot tell us
    MISSED = "missed"  # overdue by more than max_lateness: a stale teaser is not sent


class Outcome(StrEnum):
    """What one attempt came to."""

    PUBLISHED = "published"
    TRANSIENT = "transient"  # will be tried again
    PERMANENT = "permanent"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class MediaItem:
    path: str
    alt: str = ""


@dataclass(frozen=True)
class Account:
    """One configured account on one platform, as named in the config (`[accounts.NAME]`)."""

    name: str
    platform: str
    base_url: str | None = None
    # credential role (e.g. "access_token") -> name of the environment variable holding it
    credential_vars: Mapping[str, str] = field(default_factory=dict)
    char_limit: int | None = None
    # platform-specific settings: visibility, link_placement, pace, max_lateness, ...
    options: Mapping[str, Any] = field(default_factory=dict)
    # The project folder: files the account keeps for itself (a Bluesky session) live under it
    # unless an option names an absolute path. None: the working folder.
    home: Path | None = None

    def credentials(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Read this account's secrets from the environment; name the first one missing."""
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for role, var in self.credential_vars.items():
            value = env.get(var, "")
            if not value:
                raise ConfigError(
                    f"account '{self.name}': environment variable {var} ({role}) is not set"
                    " (put it in the environment or in .env)"
                )
            values[role] = value
        return values


# -- what the store hands back -------------------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    """One post to one account, and where it stands."""

    id: int
    post_id: int
    account: str
    platform: str
    key: str  # stable per delivery, unique everywhere: the platform idempotency key
    text: str  # the rendered text, exactly as it will be sent
    status: Status
    due_at: datetime
    next_attempt_at: datetime
    attempts: int
    lease_owner: str | None
    lease_expires_at: datetime | None
    remote_id: str | None
    remote_url: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Post:
    """The content of a post, with its deliveries (in id order)."""

    id: int
    key: str
    headline: str | None
    teaser: str
    hashtags: tuple[str, ...]
    link: str | None
    language: str | None
    media: tuple[MediaItem, ...]
    source: str
    content_hash: str
    created_at: datetime
    updated_at: datetime
    deliveries: tuple[Delivery, ...] = ()


@dataclass(frozen=True)
class Attempt:
    """One publish attempt (append-only), with the delivery it belongs to."""

    id: int
    delivery_id: int
    post_id: int
    account: str
    platform: str
    worker: str
    started_at: datetime
    finished_at: datetime
    outcome: Outcome
    error_class: str | None
    error_message: str | None
    http_status: int | None
    remote_id: str | None
    remote_url: str | None
    dry_run: bool
    detail: Mapping[str, Any]  # what was sent (text, language, media with alt text)


@dataclass(frozen=True)
class Worker:
    """A daemon process, as its heartbeat row shows it."""

    worker: str
    host: str
    pid: int
    dry_run: bool
    started_at: datetime
    seen_at: datetime


@dataclass(frozen=True)
class QueueSummary:
    """`postbot status` in one read: deliveries per status, the next due time, the workers."""

    counts: Mapping[str, int]
    next_due: datetime | None
    workers: tuple[Worker, ...]
