"""The things postbot talks about, as plain typed values: a leaf module that imports nothing of ours
but the errors.

- `Status` and `Outcome`: the states of a delivery and what one attempt came to;
- `MediaItem` and `Account`: what a post carries and where it goes;
- `Post`, `Delivery`, `Attempt`, `Worker`, `QueueSummary`: what the store hands back when it is
  read. They are frozen: a record is what the database said at one moment.
- `Claimed`, `Result`, `Handover`, `ImportResult`, `PaceState`, `PacedClaim`, `DryRunReset`:
  what flows between the store and the dispatcher or the service when work is taken, done or
  reset;
- `Wait`, `Outlook`: why a queued delivery has not gone out yet and until when; when the next
  one goes, pacing counted (for `status`, `list` and `show`);
- `Variant`, `Part`: a post's override for one platform or account, and one part of a thread
  as it is sent (and where it went);
- `QueueGauges`, `NewIncident`, `Incident`: what metrics and health checks read, and what
  alerts are about (`postbot.ops`).

All datetimes are aware and in UTC.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
    # Handed to the instance's own scheduled statuses (Mastodon `server_side`): the instance
    # publishes it at its time; postbot records the outcome when it sees the published status.
    SCHEDULED = "scheduled"
    DRAFT = "draft"  # held for an editor's approval (`postbot approve`); never claimed


class Outcome(StrEnum):
    """What one attempt came to."""

    PUBLISHED = "published"
    TRANSIENT = "transient"  # will be tried again
    PERMANENT = "permanent"
    UNKNOWN = "unknown"
    SCHEDULED = "scheduled"  # handed to the server's scheduled statuses (not published yet)


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


# -- threads and variants ------------------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """One part of a thread, as it is sent to one account, and where it went once published."""

    index: int  # 1-based: part 1 is the thread's head
    text: str  # rendered for the account's platform, exactly as it is sent
    remote_id: str | None = None
    remote_url: str | None = None
    # What a reply to this part needs beside its id (Bluesky: the record's CID); None elsewhere.
    ref: str | None = None
    published_at: datetime | None = None
    dry_run: bool = False  # published by a dry run: nothing was sent

    @property
    def published(self) -> bool:
        return self.remote_id is not None


@dataclass(frozen=True)
class Variant:
    """A post file's override for one platform or one account (`variants:` in front matter).

    Only what it gives is overridden: `text` (the first part), `parts` (every part, the first
    included), `hashtags`, `link` (None in `given` with link None: no link).
    """

    name: str  # an account name, or a platform name (every account on that platform)
    given: frozenset[str]  # the keys it overrides: text, parts, hashtags, link
    text: str | None = None
    parts: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    link: str | None = None
    line: int | None = None  # where its name stands in the post file, for messages


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
    # The status was set by a dry run (`postbot run --dry-run`): nothing was sent.
    # `postbot golive` puts such deliveries back in the queue.
    dry_run: bool = False
    # How many parts it has (1: a single post); None: queued before threads existed.
    part_count: int | None = 1
    parts: tuple[Part, ...] = ()  # a thread's parts, in order (empty for a single post)
    # The instance's scheduled status while handed over (status `scheduled`).
    scheduled_id: str | None = None
    # The instance refused to take it (limits, too soon): postbot publishes it at its time.
    handover_refused: bool = False
    slot_at: datetime | None = None  # the posting slot it holds (--next-slot), if any
    # The hash of its first part's normalised text (postbot.duplicates); None: queued before
    # the duplicate guard existed.
    text_hash: str | None = None


# An example post (`example: true` in its file) is stored under a key with this prefix: only
# dry runs publish it (see the README, "Example posts").
EXAMPLE_KEY_PREFIX = "example:"


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
    parts: tuple[str, ...] = ()  # a thread's further parts, after the teaser
    variants: tuple[Variant, ...] = ()
    # Recurring (`every:`): the rule and end of the series' first post; a later occurrence
    # has the first post's id and its occurrence; `stopped_at`: the series was cancelled.
    every: str | None = None
    until: datetime | None = None
    series_id: int | None = None
    occurrence_at: datetime | None = None
    stopped_at: datetime | None = None

    @property
    def example(self) -> bool:
        """Only dry runs publish it (`example: true` in its file)."""
        return self.key.startswith(EXAMPLE_KEY_PREFIX)


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
    # Of `counts`, the deliveries whose status a dry run set, per status (none: empty).
    dry_run: Mapping[str, int] = field(default_factory=dict)


# -- what flows between the store and the dispatcher ---------------------------------------------
@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds, with what it needs to publish it."""

    delivery_id: int
    post_id: int
    account: str
    platform: str
    key: str
    text: str
    due_at: datetime
    attempts: int  # including this one
    created_at: datetime
    language: str | None
    link: str | None
    hashtags: tuple[str, ...]
    media: tuple[MediaItem, ...]
    # The claim this delivery is held under was taken by a dry run. For a delivery taken over
    # from a dead worker (`claim_expired`): that worker was a dry run, so nothing was sent.
    dry_run: bool = False
    part_count: int | None = 1  # as `Delivery.part_count`
    parts: tuple[Part, ...] = ()  # a thread's parts, those published so far with their ids


@dataclass(frozen=True)
class Result:
    """What became of one claimed delivery; written by `Store.record`."""

    delivery_id: int
    outcome: Outcome
    started_at: datetime
    finished_at: datetime
    status: Status  # the delivery's new status
    next_attempt_at: datetime | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    error_class: str | None = None
    error_message: str | None = None
    http_status: int | None = None
    dry_run: bool = False
    detail: Mapping[str, Any] = field(default_factory=dict)
    # False: this attempt is in the log already (a thread's last part, written with the part).
    logged: bool = True


@dataclass(frozen=True)
class Handover:
    """What became of handing a claimed delivery to its server's own scheduling (Mastodon's
    scheduled statuses); written by `Store.record_handover`."""

    delivery_id: int
    started_at: datetime
    finished_at: datetime
    scheduled_id: str | None  # set: the server holds it now (status `scheduled`)
    # Not set: it stays queued for postbot to publish at its time; `refused`: the server will
    # not take it (limits), so it is not offered again; else the next pass tries once more.
    refused: bool = False
    sent: bool = True  # a request reached (or may have reached) the server: an attempt
    error_class: str | None = None
    error_message: str | None = None
    http_status: int | None = None
    dry_run: bool = False
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportResult:
    post_id: int | None
    key: str
    action: str  # created | updated | unchanged | conflict
    message: str = ""


@dataclass(frozen=True)
class PaceState:
    """One account's pace budget at one moment: `used` of `count` per `period`.

    Counted from the attempts that started within the period plus the publishes running now,
    live and dry-run apart (a demo never uses up the live budget).
    """

    account: str
    count: int
    period: timedelta
    used: int
    next_slot: datetime | None  # when a slot frees up, if none is free now
    waiting: int = 0  # due deliveries that wait for a slot (counted only when none is free)

    @property
    def paced_out(self) -> bool:
        return self.used >= self.count


@dataclass(frozen=True)
class PacedClaim:
    """What a claim under a pace took, and the pace budget it left."""

    claimed: tuple[Claimed, ...]
    state: PaceState


@dataclass(frozen=True)
class DryRunReset:
    """What `Store.reset_dry_run` (`postbot golive`) put back in the queue."""

    requeued: int  # deliveries queued again, as they were before the dry run took them
    posts: tuple[int, ...]  # the posts they belong to
    by_status: Mapping[str, int]  # what the dry run had made of them (published: 3, ...)


class WaitReason(StrEnum):
    SCHEDULED = "scheduled"  # its due time has not come
    RETRY = "retry"  # a transient failure: the next attempt is later
    PACED = "paced"  # due, but its account used its pace budget: next slot later
    DUE = "due"  # due now: a running daemon takes it at once
    BUDGET = "budget"  # due, but it would exceed its X account's monthly budget: held


@dataclass(frozen=True)
class Wait:
    """Why a queued delivery has not gone out, and when it will (at the earliest)."""

    delivery_id: int
    account: str
    reason: WaitReason
    until: datetime
    pace: PaceState | None = None  # for PACED: the budget that holds it back
    note: str | None = None  # for BUDGET: the reason, in one line (postbot.costs)


@dataclass(frozen=True)
class NextSend:
    """The first queued delivery's account, and when it can go out (its pace counted)."""

    at: datetime
    account: str
    pace: PaceState | None = None  # set when the account's pace is what it waits for


@dataclass(frozen=True)
class Outlook:
    """The queue as a daemon sees it: every paced account's live budget, and the next send."""

    paces: Mapping[str, PaceState]
    next_send: NextSend | None
