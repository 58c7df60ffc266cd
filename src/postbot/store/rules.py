"""The rules every store follows, once: which state changes are allowed and what they set, what
an import does with a changed post, what a new row holds, which database is postbot's.

Pure functions and constants, no database: the SQL stores and the memory store apply them
to their own rows, so the two can never disagree on a rule (the contract suite checks that
they also agree on the rest).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from postbot.domain import Handover, Part, Status
from postbot.errors import ConfigError, StateError
from postbot.variants import as_json as variants_json

if TYPE_CHECKING:
    from postbot.drafts import Plan, Target

# Deliveries in these states no longer follow edits of their post file, unless a dry run set
# the state: nothing went out, so the edit is what goes out for real. A delivery handed to the
# instance (`scheduled`) is withdrawn from it first (service), or the edit is a conflict; so is
# one with a thread's part published for real, whatever its state.
SETTLED = (Status.PUBLISHED, Status.PUBLISHING, Status.UNKNOWN, Status.SCHEDULED)
MISSED_NOTE = "missed: overdue by more than max_lateness; not published"
RESOLVER = "postbot resolve"  # the worker named on an attempt a person recorded
RESOLVED_DETAIL = {"resolved_by": "a person"}


# -- state changes a person asks for ------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """A change to a post's deliveries: allowed from `allowed`, setting `values` (column name ->
    value; the names are the fields of `postbot.domain.Delivery`)."""

    verb: str
    allowed: tuple[Status, ...]
    values: Mapping[str, Any]

    def refused(self, post_id: int, statuses: Iterable[str]) -> StateError:
        have = ", ".join(sorted(set(statuses)))
        want = " or ".join(self.allowed)
        return StateError(
            f"cannot {self.verb} post {post_id}: its deliveries are {have} (needs {want})"
        )


# A person's decision is live: whatever a dry run had made of a delivery is forgotten.
def cancel(now: datetime) -> Change:
    """Queued deliveries, and drafts (a deleted draft file; `reject` records a decision)."""
    return Change("cancel", (Status.QUEUED, Status.DRAFT),
                  {"status": Status.CANCELLED, "updated_at": now, "dry_run": False})  # fmt: skip


def reschedule(due: datetime, now: datetime) -> Change:
    return Change("reschedule", (Status.QUEUED, Status.MISSED), {
        "status": Status.QUEUED, "due_at": due, "next_attempt_at": due, "updated_at": now,
        "dry_run": False, "handover_refused": False,  # a new time: the instance may take it
        "slot_at": None,  # a time given, not a slot: the slot it held is free
    })  # fmt: skip


def retry(now: datetime) -> Change:
    """Publish again, on purpose: failed, unknown and missed deliveries go back in the queue."""
    return Change("retry", (Status.FAILED, Status.UNKNOWN, Status.MISSED), {
        "status": Status.QUEUED, "next_attempt_at": now, "attempts": 0, "last_error": None,
        "updated_at": now, "dry_run": False,
    })  # fmt: skip


def unknown_to_resolve(post_id: int, unknown: Mapping[int, str], account: str | None) -> int:
    """The one `unknown` delivery (id -> account) a person resolves; refuses none or several."""
    rows = {i: a for i, a in unknown.items() if account is None or a == account}
    if not rows:
        raise StateError(f"post {post_id} has no delivery in state unknown to resolve")
    if len(rows) > 1:
        names = ", ".join(rows[i] for i in sorted(rows))
        raise StateError(f"post {post_id} is unknown on {names}: say which with --to")
    [(delivery_id, _)] = rows.items()
    return delivery_id


def remote_id_of(url: str) -> str:
    """The platform's id of a post, as the last part of its URL."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def resolved(url: str, now: datetime) -> dict[str, Any]:
    """What a delivery a person found on the platform becomes."""
    return {"status": Status.PUBLISHED, "remote_url": url, "remote_id": remote_id_of(url),
            "last_error": None, "updated_at": now, "dry_run": False}  # fmt: skip


def part_resolved_status(remaining: int) -> Status:
    """A person found an `unknown` thread's part on the platform: the thread goes on with the
    parts after it (queued, at once), or it is complete."""
    return Status.QUEUED if remaining else Status.PUBLISHED


def part_resolved(part: Part, status: Status, now: datetime) -> dict[str, Any]:
    """What a thread delivery becomes when a person resolves its `unknown` part."""
    values: dict[str, Any] = {"status": status, "last_error": None, "updated_at": now,
                              "dry_run": False}  # fmt: skip
    if status == Status.QUEUED:  # like `retry`: the next part goes out now
        values.update(next_attempt_at=now, attempts=0)
    if part.index == 1:
        values.update(remote_id=part.remote_id, remote_url=part.remote_url)
    return values


# -- handed to the server's own scheduling --------------------------------------------------------
def handed_over(h: Handover) -> dict[str, Any]:
    """A claimed delivery after its handover: `scheduled` with the server's id, or queued again
    (at its own time) for postbot to publish. The attempt count is the store's to raise."""
    common = {"lease_owner": None, "lease_expires_at": None, "updated_at": h.finished_at,
              "dry_run": h.dry_run}  # fmt: skip
    if h.scheduled_id is not None:
        return {**common, "status": Status.SCHEDULED, "scheduled_id": h.scheduled_id,
                "last_error": None}  # fmt: skip
    return {**common, "status": Status.QUEUED, "handover_refused": h.refused,
            "last_error": h.error_message}  # fmt: skip


def scheduled_published(remote_id: str, url: str | None, now: datetime) -> dict[str, Any]:
    """The server published what it held: the delivery is published, at the status it made."""
    return {"status": Status.PUBLISHED, "remote_id": remote_id, "remote_url": url,
            "scheduled_id": None, "last_error": None, "updated_at": now}  # fmt: skip


def scheduled_failed(note: str, now: datetime) -> dict[str, Any]:
    return {"status": Status.FAILED, "scheduled_id": None, "last_error": note, "updated_at": now}


def unscheduled(now: datetime, **values: Any) -> dict[str, Any]:
    """Withdrawn from the server (a changed file, a new time too close): queued again as if
    new (its handover no longer counts: it may be handed over again, or be `missed`)."""
    return {"status": Status.QUEUED, "scheduled_id": None, "handover_refused": False,
            "attempts": 0, "last_error": None, "updated_at": now, "dry_run": False,
            **values}  # fmt: skip


def cancelled_scheduled(now: datetime) -> dict[str, Any]:
    return {"status": Status.CANCELLED, "scheduled_id": None, "updated_at": now,
            "dry_run": False}  # fmt: skip


# -- dry run -> live ----------------------------------------------------------------------------
def reset_values() -> dict[str, Any]:
    """A delivery a dry run took, back as it was queued (the due time is set apart: it is the
    delivery's own `due_at`)."""
    return {"status": Status.QUEUED, "attempts": 0, "remote_id": None, "remote_url": None,
            "last_error": None, "lease_owner": None, "lease_expires_at": None,
            "dry_run": False, "scheduled_id": None, "handover_refused": False}  # fmt: skip


def dry_run_still_running(count: int) -> StateError:
    return StateError(
        f"a dry run is publishing {count} deliver{'y' if count == 1 else 'ies'} right now:"
        " stop the dry-run daemon (postbot run --dry-run) first"
    )


# -- import -------------------------------------------------------------------------------------
def import_action(stored_hash: str | None, new_hash: str, settled: int) -> str:
    """created | unchanged | conflict | updated, for a post file imported again."""
    if stored_hash is None:
        return "created"
    if stored_hash == new_hash:
        return "unchanged"
    return "conflict" if settled else "updated"


def conflict_message(post_id: int) -> str:
    return f"post {post_id} is already published or publishing; the change is not applied"


@dataclass(frozen=True)
class Existing:
    """A delivery of a post being updated, as far as the update needs it."""

    id: int
    status: str
    due_at: datetime
    dry_run: bool = False


@dataclass(frozen=True)
class Update:
    """What a changed post file does to its deliveries."""

    rerendered: tuple[tuple[int, dict[str, Any]], ...]  # (delivery id, new values)
    added: tuple[Target, ...]  # accounts the post now goes to as well
    cancelled: tuple[int, ...]  # queued deliveries to accounts it no longer goes to


def initial_status(plan: Plan) -> Status:
    """A post held for review (`draft: true`, a feed with `review = true`) waits as a draft."""
    return Status.DRAFT if plan.draft.hold else Status.QUEUED


def update_of(
    existing: Mapping[str, Existing], plan: Plan, due: datetime | None, now: datetime
) -> Update:
    """Re-render every target (queued again, at `due` or its stored due time; a draft again
    when the plan is held for review: an edit is reviewed anew), add new targets, cancel
    queued deliveries to targets that were removed. None of them was published for real
    (`SETTLED` ones refuse the update), so none keeps a remote id."""
    status = initial_status(plan)
    wanted = {t.account: t for t in plan.targets}
    rerendered = []
    for account, target in wanted.items():
        row = existing.get(account)
        if row is not None:
            new_due = due or row.due_at
            values = {
                "text": target.text, "status": status, "due_at": new_due,
                "next_attempt_at": new_due, "last_error": None, "remote_id": None,
                "remote_url": None, "updated_at": now, "dry_run": False,
                "part_count": len(target.texts), "scheduled_id": None,
                "handover_refused": False, "text_hash": target.text_hash,
            }  # fmt: skip
            if row.dry_run:  # what a dry run did is forgotten, its attempts too
                values["attempts"] = 0
            if due is not None:  # a time given: the posting slot it held is free
                values["slot_at"] = None
            rerendered.append((row.id, values))
    return Update(
        tuple(rerendered),
        tuple(t for a, t in wanted.items() if a not in existing),
        tuple(
            r.id
            for a, r in existing.items()
            if a not in wanted and r.status in (Status.QUEUED, Status.DRAFT)
        ),
    )


def post_values(plan: Plan, now: datetime) -> dict[str, Any]:
    """The content columns of a post as `plan` says (for a new post, or a changed file)."""
    draft = plan.draft
    return {
        "headline": draft.headline,
        "teaser": draft.teaser,
        "hashtags": list(draft.hashtags),
        "link": draft.link,
        "language": draft.language,
        "media": [{"path": m.path, "alt": m.alt} for m in draft.media],
        "source": draft.source,
        "content_hash": draft.content_hash(),
        "updated_at": now,
        "parts": list(draft.parts),
        "variants": variants_json(draft.variants),
        "every": draft.every,
        "until_at": draft.until,
    }


def new_post(plan: Plan, now: datetime) -> dict[str, Any]:
    """A new post row; a post typed at the command line gets a fresh key."""
    return {"key": plan.draft.key or f"cli:{uuid.uuid4()}", **post_values(plan, now),
            "created_at": now}  # fmt: skip


def new_deliveries(
    post_id: int,
    targets: Iterable[Target],
    due: datetime,
    now: datetime,
    status: Status = Status.QUEUED,
    keys: Iterator[str] | None = None,
) -> list[dict[str, Any]]:
    """One queued (or draft) delivery row per target; each gets its own idempotency key (the
    next of `keys`, drawn beforehand for many posts by `delivery_keys`)."""
    if keys is None:
        targets = list(targets)
        keys = iter(delivery_keys(len(targets)))
    return [
        {
            "post_id": post_id, "account": t.account, "platform": t.platform,
            "key": next(keys), "text": t.text, "status": status, "due_at": due,
            "next_attempt_at": due, "attempts": 0, "dry_run": False, "created_at": now,
            "updated_at": now, "part_count": len(t.texts), "text_hash": t.text_hash,
        }
        for t in targets
    ]  # fmt: skip


# uuid.UUID(bytes=..., version=4): the variant (RFC 4122) and the version in their bits.
_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_MARK = (0x8000 << 48) | (4 << 76)


def delivery_keys(count: int) -> list[str]:
    """`count` fresh idempotency keys: random UUIDs (version 4), 32 hex digits each, as
    `uuid.uuid4().hex` makes them, but from one read of the system's random source (a read
    per key was a tenth of an import's store time)."""
    data = os.urandom(16 * count)
    return [
        f"{int.from_bytes(data[i : i + 16]) & _KEEP | _MARK:032x}" for i in range(0, 16 * count, 16)
    ]


# -- posting slots and recurring posts ------------------------------------------------------------
OCCURRENCE_MARK = "@every:"  # a later occurrence's key: the series' key, this, the time
SLOT_RETRIES = 20  # a slot another enqueue took first (PostgreSQL): search again, this often


def take_slot(row: dict[str, Any], slot: datetime) -> dict[str, Any]:
    """A new delivery row placed in a posting slot: due then, holding it."""
    row.update(due_at=slot, next_attempt_at=slot, slot_at=slot)
    return row


def slot_clash(exc: BaseException) -> bool:
    """The database refused a slot another transaction took first (uq_delivery_slot)."""
    message = str(exc)
    return "uq_delivery_slot" in message or "delivery.slot_at" in message


def series_key(key: str) -> str:
    """The key of the post (file) a series' occurrence belongs to (its own key otherwise)."""
    return key.split(OCCURRENCE_MARK, 1)[0]


def occurrence_post(plan: Plan, series_id: int, due: datetime, now: datetime) -> dict[str, Any]:
    """The post row of a series' later occurrence: the series' content, its own key."""
    key = f"{series_key(plan.draft.key or '')}{OCCURRENCE_MARK}{due.isoformat()}"
    return {**new_post(plan, now), "key": key, "series_id": series_id, "occurrence_at": due,
            "every": None, "until_at": None}  # fmt: skip


# -- whose database is it -----------------------------------------------------------------------
def check_owner(
    where: str, tables: Collection[str], version: str | None, known: Collection[str]
) -> None:
    """Refuse a database postbot did not make: tables without postbot's schema version, or a
    schema version postbot does not know. postbot never adds its tables to such a database."""
    tables = set(tables) - {"alembic_version"}  # left empty by a downgrade to the base
    if version is None and tables:
        names = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise ConfigError(
            f"database {where} holds tables that are not postbot's ({names}): postbot will not"
            " add its own to it; give postbot a database of its own ([database] url)"
        )
    if version is not None and version not in known:
        raise ConfigError(
            f"database {where} is at schema version '{version}', which is not one of postbot's"
            f" ({', '.join(known)}): a newer postbot's database, or another application's"
        )
