"""The store contract: what every database behind the queue does, documented once here.

A backend subclasses `Store` and implements every abstract method: `sql.SQLStore` (shared by
`sqlite.py` and `postgresql.py`) and `memory.MemoryStore`. One contract suite
(tests/integration/test_store_contract.py) runs unchanged against all of them.

Rules every backend keeps:
- every method is one transaction: all of it happens, or none of it does;
- datetimes go in aware and come back aware, in UTC, to the microsecond;
- the store never reads the clock: callers pass `now`;
- what comes back are the records of `postbot.domain`, never rows or dicts;
- every change to a claimed delivery is guarded by the state and lease it expects, so a worker
  that lost its lease changes nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from postbot.domain import (
    Attempt,
    Claimed,
    Delivery,
    DryRunReset,
    Handover,
    ImportResult,
    PacedClaim,
    PaceState,
    Part,
    Post,
    QueueSummary,
    Result,
    Status,
    Worker,
)
from postbot.errors import PostbotError
from postbot.operations import Incident, NewIncident, QueueGauges
from postbot.store import rules

if TYPE_CHECKING:
    from postbot.costs import Budget, BudgetClaim, SpendTexts
    from postbot.drafts import Plan
    from postbot.duplicates import Earlier
    from postbot.feeds.records import FeedState, ItemOutcome, KnownItem, PollWrite
    from postbot.pacing import Pace
    from postbot.recurring import SeriesState
    from postbot.reviews import Review
    from postbot.slots import Schedule
    from postbot.store.watch import ChangeWatcher

# postbot's schema versions (the Alembic revisions), oldest first; the last is the newest.
REVISIONS = ("0001", "0002", "0004", "0006", "0007", "0008", "0009")
SCHEMA_HEAD = REVISIONS[-1]


class StoreError(PostbotError):
    """The database cannot be reached or used."""


class ConstraintError(StoreError):
    """A write the database refuses: a post key, or a post's account, given twice."""


class Store(ABC):
    dialect: ClassVar[str]  # "sqlite", "postgresql", "memory"

    def __init__(self, url: str, **options: Any) -> None:
        """Open the store for `url` (`open_store` picks the class by the URL's scheme)."""
        self.url = url

    # -- schema and lifetime -------------------------------------------------------------------
    @abstractmethod
    def schema_version(self) -> str | None:
        """The schema version the database is at; None for an empty one."""

    @abstractmethod
    def ensure_schema(self) -> None:
        """Create or upgrade the schema to SCHEMA_HEAD. Refuses (ConfigError) a database that
        holds another application's tables, or a schema version postbot does not know."""

    @abstractmethod
    def dispose(self) -> None:
        """Close connections; the store is not used afterwards."""

    @abstractmethod
    def change_watcher(self) -> ChangeWatcher:
        """A watcher that sees changes other processes (other stores) commit."""

    # -- posts ---------------------------------------------------------------------------------
    @abstractmethod
    def enqueue(self, plan: Plan, due: datetime, now: datetime) -> int:
        """Store a post and one queued delivery per target; return the post id.
        ConstraintError if the post's key exists or a target account is given twice."""

    @abstractmethod
    def enqueue_many(self, items: Sequence[tuple[Plan, datetime]], now: datetime) -> list[int]:
        """Many posts at once (bulk import); one duplicate refuses them all."""

    @abstractmethod
    def import_plans(
        self, items: Sequence[tuple[Plan, datetime | None]], now: datetime
    ) -> list[ImportResult]:
        """Idempotent import by key (`rules.import_action`): created, unchanged, updated (content
        and deliveries re-rendered, `rules.update_of`) or conflict (something is settled).
        `due` None keeps the stored due time (or means now, for a new post)."""

    @abstractmethod
    def find_post_by_key(self, key: str) -> Post | None:
        """The post stored under `key`, without its deliveries; None if there is none."""

    @abstractmethod
    def get_post(self, post_id: int) -> Post:
        """A post with its deliveries in id order; NotFound for an unknown id."""

    @abstractmethod
    def get_delivery(self, delivery_id: int) -> Delivery:
        """One delivery; NotFound for an unknown id."""

    @abstractmethod
    def list_posts(
        self, status: str | None = None, limit: int | None = None, key_prefix: str | None = None
    ) -> list[Post]:
        """Posts with their deliveries, latest due first; `status` filters the deliveries (and
        so the posts), `key_prefix` the posts (through the key's index), `limit` caps the
        number of posts."""

    @abstractmethod
    def posts_due_between(self, start: datetime, end: datetime) -> list[Post]:
        """The posts with a delivery due in [start, end), each with only those deliveries;
        by their first such due time, then delivery id (the calendar's read)."""

    @abstractmethod
    def attempts(self, post_id: int | None = None, limit: int = 200) -> list[Attempt]:
        """The newest `limit` attempts (of one post, or of all), oldest first."""

    def cancel(self, post_id: int, now: datetime) -> int:
        """`rules.cancel`; returns how many deliveries changed. NotFound, StateError."""
        return self.apply_change(post_id, rules.cancel(now))

    def reschedule(self, post_id: int, due: datetime, now: datetime) -> int:
        """`rules.reschedule`; returns how many deliveries changed. NotFound, StateError."""
        return self.apply_change(post_id, rules.reschedule(due, now))

    def retry(self, post_id: int, now: datetime) -> int:
        """`rules.retry`; returns how many deliveries changed. NotFound, StateError."""
        return self.apply_change(post_id, rules.retry(now))

    @abstractmethod
    def apply_change(self, post_id: int, change: rules.Change) -> int:
        """A person's change to a post: every delivery in a state `change` allows gets its
        values; returns how many. NotFound for an unknown post; `change.refused` (StateError)
        when none of its deliveries is in such a state."""

    @abstractmethod
    def resolve(self, post_id: int, url: str, now: datetime, account: str | None = None) -> int:
        """A person found an `unknown` delivery on the platform: published at `url`, with an
        attempt by `rules.RESOLVER`; returns the delivery id. NotFound, StateError."""

    @abstractmethod
    def reset_dry_run(self, now: datetime) -> DryRunReset:
        """Going live after a demo: every delivery whose status a dry run set goes back in the
        queue as it was before (`rules.reset_values`, due at its own due time). The attempt
        log keeps the dry-run attempts (marked). StateError while a dry run is publishing."""

    # -- posting slots and recurring series (slots.py, recurring.py) ---------------------------
    # A slot is held by a delivery with `slot_at` that is not cancelled: one per account and
    # slot, across processes (the database refuses a second). A slot is free when no delivery
    # of the account that is not cancelled is due at that instant, slotted or not.
    @abstractmethod
    def enqueue_slotted(
        self, plan: Plan, schedules: Mapping[str, Schedule], now: datetime
    ) -> tuple[int, dict[str, datetime]]:
        """`enqueue`, each target due at the first free slot after `now` of its schedule,
        which it holds; returns the post id and each account's slot. StateError: no slot free."""

    @abstractmethod
    def reschedule_slotted(
        self, post_id: int, schedules: Mapping[str, Schedule], now: datetime
    ) -> dict[str, datetime]:
        """`reschedule` each queued (or missed) delivery to its account's first free slot after
        `now` (the slots they held count as free); returns each account's slot."""

    @abstractmethod
    def queue_occurrence(
        self, series_id: int, plan: Plan, due: datetime, now: datetime
    ) -> int | None:
        """Queue a recurring series' occurrence at `due` as a post of its own (its key: the
        series' key and `rules.OCCURRENCE_MARK` and `due`); None, and nothing written, if that
        occurrence exists (whoever queued it) or the series is stopped: once per occurrence."""

    @abstractmethod
    def active_series(self) -> list[SeriesState]:
        """Every recurring series not stopped, with its latest occurrence, by head post id."""

    @abstractmethod
    def stop_series(self, post_id: int, now: datetime) -> tuple[int, ...]:
        """Stop the series `post_id` belongs to (no occurrence is queued after this); returns
        the series' posts that still have queued (or server-held) deliveries, for the caller
        to cancel. A post not in a series: (). NotFound for an unknown id."""

    # -- the queue -----------------------------------------------------------------------------
    @abstractmethod
    def claim_due(
        self,
        worker: str,
        now: datetime,
        limit: int,
        lease: timedelta,
        *,
        only: Sequence[str] | None = None,
        skip: Sequence[str] = (),
        dry_run: bool = False,
    ) -> list[Claimed]:
        """Take up to `limit` due queued deliveries (the oldest next attempt first; returned in
        due order) for `worker` until `now + lease`, counting the attempt. `only` / `skip`
        restrict the claim to, or away from, some accounts. Two workers never take one row."""

    @abstractmethod
    def claim_paced(
        self,
        worker: str,
        now: datetime,
        account: str,
        pace: Pace,
        limit: int,
        lease: timedelta,
        *,
        dry_run: bool = False,
    ) -> PacedClaim:
        """`claim_due` for one account within its pace budget, decided in the same transaction
        as the claim (and, where writers do not queue up anyway, under a lock per account), so
        that any number of workers together stay within it. Live and dry-run budgets are apart:
        only attempts and publishes of the same kind count."""

    @abstractmethod
    def claim_expired(
        self, worker: str, now: datetime, limit: int, lease: timedelta, *, dry_run: bool = False
    ) -> list[Claimed]:
        """Take over deliveries whose worker died mid-publish (lease expired), to reconcile them;
        not a new attempt. `dry_run`: only those a dry run held (a dry run cannot tell whether a
        live publish went out)."""

    @abstractmethod
    def renew_leases(self, worker: str, ids: Sequence[int], until: datetime) -> int:
        """Keep holding deliveries whose publish is still running; returns how many."""

    @abstractmethod
    def record(self, worker: str, results: Sequence[Result]) -> int:
        """Write one attempt per result and each delivery's new state; returns how many
        deliveries changed. A result for a delivery `worker` no longer holds is logged as an
        attempt and changes nothing."""

    def next_due(self) -> datetime | None:
        """The next due time of any queued delivery."""
        return self.next_due_for(())

    @abstractmethod
    def next_due_for(self, skip: Sequence[str]) -> datetime | None:
        """The next due time among queued deliveries of accounts not in `skip`."""

    @abstractmethod
    def next_due_by_account(self) -> dict[str, datetime]:
        """The next due time of each account that has a queued delivery."""

    @abstractmethod
    def pace_states(
        self, paces: Mapping[str, Pace], now: datetime, *, dry_run: bool = False
    ) -> dict[str, PaceState]:
        """Each paced account's budget now (read only), `waiting` counted for every account."""

    @abstractmethod
    def mark_missed(
        self, account: str, cutoff: datetime, now: datetime, *, dry_run: bool = False
    ) -> int:
        """Queued first attempts of `account` due before `cutoff` are stale: `missed`
        (`rules.MISSED_NOTE`), marked as a dry run's doing when `dry_run`. Returns how many."""

    # -- guards: duplicates, X cost ------------------------------------------------------------
    @abstractmethod
    def same_text(self, wanted: Sequence[tuple[str, str]]) -> list[Earlier]:
        """The deliveries to each (account, text_hash) in `wanted` (found by the index on
        them, never by a scan), in any state; `postbot.duplicates` decides which count."""

    @abstractmethod
    def month_texts(
        self, account: str, start: datetime, end: datetime, *, dry_run: bool = False
    ) -> SpendTexts:
        """The texts `account` is billed for in [start, end): its single posts published then
        (by `updated_at`) and its thread parts published then (by `published_at`); in flight:
        its single posts publishing or `unknown` since `start`, and the parts not yet published
        of its threads in those states. Of one kind: live, or a dry run's."""

    @abstractmethod
    def claim_budgeted(
        self,
        worker: str,
        now: datetime,
        account: str,
        budget: Budget,
        limit: int,
        lease: timedelta,
        *,
        pace: Pace | None = None,
        dry_run: bool = False,
    ) -> BudgetClaim:
        """`claim_due` (or `claim_paced`, with `pace`) for one account, taking only the due
        deliveries that fit its monthly budget (`costs.fits`, in due order: the first that does
        not fit holds the rest); decided in the claim transaction, under the account's lock,
        with the month's spend and what is in flight, so workers together stay within it."""

    # -- threads -------------------------------------------------------------------------------
    # A delivery of several parts (`Delivery.part_count` > 1) has them in `Delivery.parts` and
    # `Claimed.parts`, written when its post is stored or changed (`enqueue`, `import_plans`;
    # a change is a conflict once a part went out for real) and forgotten by `reset_dry_run`
    # where a dry run "published" them.
    @abstractmethod
    def record_part(
        self,
        worker: str,
        delivery_id: int,
        part: Part,
        started: datetime,
        detail: Mapping[str, Any],
        http_status: int | None = None,
    ) -> bool:
        """A part just published (`part.remote_id`, `published_at`...): its attempt is logged
        and, while `worker` still holds the delivery, the part is stored (part 1's id and URL
        become the delivery's), in one transaction. False: the lease is lost, nothing but the
        attempt was written."""

    @abstractmethod
    def resolve_part(self, delivery_id: int, part: Part, now: datetime, remaining: int) -> Status:
        """A person found the `unknown` part of a thread on the platform: it is stored as
        published (an attempt by `rules.RESOLVER`), and the delivery goes on with the
        `remaining` parts after it (queued, now) or is published. NotFound, StateError."""

    # -- handed to the server's own scheduling --------------------------------------------------
    # A delivery of an account with `server_side = true` may be handed to its server's scheduled
    # posts before it is due: status `scheduled`, with `Delivery.scheduled_id`, until the server
    # publishes it (or a person withdraws it). Every change is guarded by that id.
    @abstractmethod
    def claim_handover(
        self,
        worker: str,
        now: datetime,
        account: str,
        after: datetime,
        until: datetime,
        limit: int,
        lease: timedelta,
        *,
        dry_run: bool = False,
    ) -> list[Claimed]:
        """Take up to `limit` queued first attempts of `account` due after `after` and no later
        than `until`, single posts that the server has not refused, to hand them over; the
        attempt is not counted (`record_handover` counts it when the server took it)."""

    @abstractmethod
    def record_handover(self, worker: str, handover: Handover) -> bool:
        """The handover's outcome (`rules.handed_over`), and an attempt row if it `sent`
        anything, guarded by the lease. False: the lease is lost, nothing but the attempt."""

    @abstractmethod
    def scheduled_of(self, account: str) -> list[Delivery]:
        """The account's deliveries the server holds (status `scheduled`), due first."""

    @abstractmethod
    def change_scheduled(
        self, delivery_id: int, scheduled_id: str, values: Mapping[str, Any]
    ) -> bool:
        """Set `values` (`rules.scheduled_published`, `unscheduled`, ...) on a delivery while it
        is `scheduled` under `scheduled_id`; False if it no longer is (another worker, or a
        person, changed it first)."""

    # -- review: drafts (status `draft`, never claimed) and the editors' decisions ---------
    @abstractmethod
    def approve(
        self, post_id: int, due: datetime, now: datetime, by: str, plan: Plan | None = None,
        schedules: Mapping[str, Schedule] | None = None,
    ) -> Review:  # fmt: skip
        """Queue a draft's deliveries at `due` (with `plan`: its content and texts first, as an
        import's update), and record the approval with what was approved, in one transaction.
        With `schedules`: each delivery instead at its account's first free slot after `now`,
        which it holds (as `enqueue_slotted`); the review's due time is the earliest slot.
        NotFound; StateError when none of its deliveries is a draft."""

    @abstractmethod
    def reject(self, post_id: int, now: datetime, by: str) -> Review:
        """Cancel a draft's deliveries and record the rejection. NotFound, StateError."""

    @abstractmethod
    def reviews(self, post_id: int) -> list[Review]:
        """The decisions on a post, oldest first."""

    # -- feeds: every article key kept for good, a post created with its key -----------------
    @abstractmethod
    def feed_states(self) -> list[FeedState]:
        """Every feed polled so far, by name."""

    @abstractmethod
    def known_feed_items(self, feed: str, keys: Sequence[str]) -> dict[str, KnownItem]:
        """Of `keys`, those the feed listed before (key -> what is known of its article)."""

    @abstractmethod
    def record_poll(self, poll: PollWrite, now: datetime) -> list[ItemOutcome]:
        """A poll in one transaction: the feed's state, and each article (`rules.feed_item_action`):
        a new one's keys with its post (if it has a plan), a known one's new keys, a changed
        one's post updated while nothing of it went out (a draft stays a draft). An article key
        is never stored twice for a feed (unique), so no article is posted twice."""

    @abstractmethod
    def feed_notes(self, post_ids: Sequence[int]) -> dict[int, list[str]]:
        """What a poll noted for the editor on these posts' articles (post id -> notes)."""

    # -- workers and status --------------------------------------------------------------------
    @abstractmethod
    def beat(self, worker: str, host: str, pid: int, dry_run: bool, now: datetime) -> None:
        """A worker's heartbeat: its row is created, then its `seen_at` refreshed."""

    @abstractmethod
    def forget_worker(self, worker: str) -> None:
        """A worker that stopped cleanly removes its heartbeat row."""

    @abstractmethod
    def workers(self) -> tuple[Worker, ...]:
        """The workers' heartbeats, most recently seen first (nothing else is read)."""

    @abstractmethod
    def status_summary(self) -> QueueSummary:
        """Deliveries per status (and of those, a dry run's), the next due time, the workers
        (most recently seen first), in one read."""

    # -- operations: health, metrics, incidents (postbot.ops) ----------------------------------
    @abstractmethod
    def probe_write(self) -> None:
        """Prove the database takes a write now, on a connection of its own (an open one may
        still write to a file that was made read-only), changing nothing. StoreError if not."""

    @abstractmethod
    def queue_gauges(self, now: datetime) -> QueueGauges:
        """The backlog, what is in flight or unknown, the workers: each read from an index, so
        its cost follows the queue's live part, never the table's size (a metrics scrape)."""

    @abstractmethod
    def open_incident(self, new: NewIncident, now: datetime) -> Incident | None:
        """Open an incident, unless one with the same key is open: then count it again
        (`seen`, `last_seen_at`) and return None. Across processes, one opens it."""

    @abstractmethod
    def resolve_incidents(self, keys: Sequence[str], now: datetime) -> int:
        """End the open conditions with these keys (the same key may open again); returns how
        many ended. Events are never resolved."""

    @abstractmethod
    def open_incidents(self, kind: str | None = None) -> list[Incident]:
        """Open conditions (of one kind, or all), oldest first."""

    @abstractmethod
    def take_alerts(self, now: datetime, rate: Pace, limit: int = 100) -> list[Incident]:
        """The incidents not yet alerted (oldest first, at most `limit`), as one alert message
        sent `now`, if fewer than `rate.count` messages went out within `rate.period`; else
        none. Decided in one transaction, under a lock: processes together keep the rate."""

    @abstractmethod
    def release_alerts(self, incident_ids: Sequence[int]) -> None:
        """Their message could not be sent: they are pending again, and it does not count."""
