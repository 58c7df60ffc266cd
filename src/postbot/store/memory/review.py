"""The memory store's review and feeds, by `review_rules.py`'s rules (as the SQL stores')."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from postbot.domain import Status
from postbot.errors import NotFound
from postbot.feeds.records import FeedState, ItemOutcome, KnownItem, PollResult, PollWrite
from postbot.reviews import Decision, Review, review_detail
from postbot.store import review_rules
from postbot.store.base import ConstraintError
from postbot.store.memory.db import Database, MemoryBase

if TYPE_CHECKING:
    from postbot.drafts import Plan, Target
    from postbot.slots import Schedule


class MemoryReviewOps(MemoryBase):
    if TYPE_CHECKING:  # provided by the post and thread ops this is mixed with

        def _update_post(  # MemoryPostOps'
            self, db: Database, post_id: int, plan: Plan, due: datetime | None, now: datetime
        ) -> None: ...

        def _insert_post(self, db: Database, plan: Plan, now: datetime) -> int:  # MemoryPostOps'
            ...

        def _insert_deliveries(  # MemoryPostOps'
            self,
            db: Database,
            post_id: int,
            targets: Iterable[Target],
            due: datetime,
            now: datetime,
            status: Status = Status.QUEUED,
        ) -> None: ...

        def _published_parts(self, db: Database, post_id: int) -> int:  # MemoryThreadOps'
            ...

    # -- review --------------------------------------------------------------------------
    def approve(
        self, post_id: int, due: datetime, now: datetime, by: str, plan: Plan | None = None,
        schedules: Mapping[str, Schedule] | None = None,
    ) -> Review:  # fmt: skip
        from functools import partial

        from postbot.slots import first_free
        from postbot.store.memory.slots import _holds, _taken

        with self._write(undo=True) as db:
            self._drafts_of(db, "approve", post_id)
            drafts = [d for d in db.of_post(post_id) if d.status == Status.DRAFT]
            if plan is not None:  # re-renders (and queues) them
                self._update_post(db, post_id, plan, due, now)
            skip = [d.id for d in drafts]
            slots = []
            for d in drafts:
                if schedules is None:
                    self._set(db, d.id, review_rules.approved(due, now))
                    continue
                slot = first_free(schedules[d.account], now, partial(_taken, db, d.account, skip))
                if _holds(db, d.account, slot, skip):
                    raise ConstraintError("database refused the change: uq_delivery_slot")
                self._set(db, d.id, {**review_rules.approved(slot, now), "slot_at": slot})
                slots.append(slot.astimezone(UTC))
            return self._record(db, post_id, Decision.APPROVED, by, now,
                                min(slots) if slots else due, plan is not None,
                                Status.QUEUED)  # fmt: skip

    def reject(self, post_id: int, now: datetime, by: str) -> Review:
        with self._write(undo=True) as db:
            self._drafts_of(db, "reject", post_id)
            review = self._record(db, post_id, Decision.REJECTED, by, now, None, False,
                                  Status.DRAFT)  # fmt: skip
            for d in db.of_post(post_id):
                if d.status == Status.DRAFT:
                    self._set(db, d.id, review_rules.rejected(now))
            return review

    def reviews(self, post_id: int) -> list[Review]:
        with self._read() as db:
            return [r for r in db.reviews if r.post_id == post_id]

    def _drafts_of(self, db: Database, verb: str, post_id: int) -> None:
        statuses = [d.status for d in db.of_post(post_id)]
        if not statuses:
            raise NotFound(f"no post with id {post_id}")
        if Status.DRAFT not in statuses:
            raise review_rules.not_a_draft(verb, post_id, statuses)

    def _record(
        self, db: Database, post_id: int, decision: Decision, by: str, now: datetime,
        due: datetime | None, edited: bool, status: Status,
    ) -> Review:  # fmt: skip
        texts = {d.account: d.text for d in db.of_post(post_id) if d.status == status}
        detail = review_detail(db.posts[post_id].teaser, texts, due, edited)
        review = Review(db.new_id("review"), post_id, decision, by, now.astimezone(UTC), detail)
        db.reviews.append(review)
        return review

    # -- feeds ---------------------------------------------------------------------------
    def feed_states(self) -> list[FeedState]:
        with self._read() as db:
            return [db.feeds[name] for name in sorted(db.feeds)]

    def known_feed_items(self, feed: str, keys: Sequence[str]) -> dict[str, KnownItem]:
        with self._read() as db:
            return {k: db.feed_items[(feed, k)] for k in keys if (feed, k) in db.feed_items}

    def feed_notes(self, post_ids: Sequence[int]) -> dict[int, list[str]]:
        with self._read() as db:
            return {i: [note] for i in post_ids if (note := db.notes.get(i))}

    def record_poll(self, poll: PollWrite, now: datetime) -> list[ItemOutcome]:
        outcomes = []
        with self._write(undo=True) as db:
            seen = posted = 0
            pending: set[str] = set()  # keys of articles new in this poll
            for item in poll.items:
                hit = next((db.feed_items[(poll.feed, k)] for k in item.keys
                            if (poll.feed, k) in db.feed_items and k not in pending),
                           None)  # fmt: skip
                if hit is None and not pending.isdisjoint(item.keys):  # listed twice
                    outcomes.append(ItemOutcome(item.keys, "unchanged", None, item.note))
                    continue
                settled = live = 0
                if hit is not None and hit.post_id is not None and item.plan is not None:
                    from postbot.store.rules import SETTLED

                    rows = db.of_post(hit.post_id)
                    settled = sum(d.status in SETTLED and not d.dry_run for d in rows)
                    settled += self._published_parts(db, hit.post_id)
                    live = sum(d.status in review_rules.LIVE for d in rows)
                action = review_rules.feed_item_action(
                    hit, item.content_hash, item.plan is not None, settled, live
                )
                post_id = hit.post_id if hit is not None else None
                if action == "created":
                    assert item.plan is not None
                    post_id = self._insert_post(db, item.plan, now)
                    db.notes[post_id] = item.note
                    self._insert_deliveries(db, post_id, item.plan.targets, item.due or now, now,
                                            Status.DRAFT if item.plan.draft.hold
                                            else Status.QUEUED)  # fmt: skip
                    posted += 1
                elif action == "updated":
                    assert item.plan is not None and post_id is not None
                    self._update_post(db, post_id, item.plan, None, now)
                    db.notes[post_id] = item.note
                if hit is None:
                    seen += 1
                    pending.update(item.keys)
                    article = db.new_id("feed_item")
                    for key in item.keys:
                        db.feed_items[(poll.feed, key)] = KnownItem(
                            article, key, item.content_hash, post_id
                        )
                else:
                    new_hash = item.content_hash if action in ("updated", "noted") else None
                    for key in item.keys:
                        old = db.feed_items.get((poll.feed, key))
                        if old is None:
                            db.feed_items[(poll.feed, key)] = replace(hit, key=key)
                    if new_hash is not None:
                        for k, v in list(db.feed_items.items()):
                            if k[0] == poll.feed and v.article == hit.article:
                                db.feed_items[k] = replace(v, content_hash=new_hash)
                outcomes.append(ItemOutcome(item.keys, action, post_id, item.note))
            self._save_feed(db, poll, seen, posted)
        return outcomes

    def _save_feed(self, db: Database, poll: PollWrite, seen: int, posted: int) -> None:
        old = db.feeds.get(poll.feed)
        keep = poll.result == PollResult.ERROR and old is not None
        db.feeds[poll.feed] = FeedState(
            poll.feed, poll.url, old.etag if keep and old else poll.etag,
            old.last_modified if keep and old else poll.last_modified,
            poll.polled_at.astimezone(UTC), poll.result, poll.error, poll.failures,
            poll.next_poll_at.astimezone(UTC),
            old.watched_since if old and old.watched_since else
            (None if poll.result == PollResult.ERROR else poll.polled_at.astimezone(UTC)),
            (old.items_seen if old else 0) + seen,
            (old.posts_created if old else 0) + posted,
            poll.body_hash if poll.body_hash is not None and not keep
            else (old.body_hash if old else None),
        )  # fmt: skip
