"""Review and feeds in SQL: approving and rejecting drafts (with the review log), and a feed
poll recorded in one transaction (the feed's state, every article key, each new post)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from functools import partial
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from postbot.domain import Status
from postbot.errors import NotFound
from postbot.feeds.records import FeedState, ItemOutcome, KnownItem, PollResult, PollWrite
from postbot.reviews import Decision, Review, review_detail
from postbot.slots import Schedule, first_free
from postbot.store import review_rules, rules
from postbot.store.base import ConstraintError
from postbot.store.bulk import chunks
from postbot.store.feed_tables import FeedItemRow, FeedRow, ReviewRow
from postbot.store.posts import DELIVERY, POST
from postbot.store.slots import _taken_lookup

if TYPE_CHECKING:
    from postbot.drafts import Plan

REVIEW = ReviewRow.__table__  # type: ignore[attr-defined]
FEED = FeedRow.__table__  # type: ignore[attr-defined]
FEED_ITEM = FeedItemRow.__table__  # type: ignore[attr-defined]


class ReviewOps:
    """Mixed into SQLStore (after PostOps, whose post writing it uses)."""

    def write(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Connection]:  # provided by SQLStore
        raise NotImplementedError

    def notify_enqueued(self, conn: Connection) -> None:  # provided by SQLStore
        raise NotImplementedError

    if TYPE_CHECKING:  # provided by the post and thread ops this is mixed with

        def _update_post(  # provided by PostOps
            self, conn: Connection, post_id: int, plan: Plan, due: datetime | None, now: datetime
        ) -> None: ...

        def _insert_post(self, conn: Connection, plan: Plan, now: datetime) -> int:  # PostOps'
            ...

        def _insert_deliveries(  # provided by PostOps
            self, conn: Connection, post_id: int, plan: Plan, due: datetime, now: datetime
        ) -> None: ...

        def _published_parts(self, conn: Connection, post_id: int) -> int:  # ThreadOps'
            ...

    # -- review --------------------------------------------------------------------------
    def approve(
        self, post_id: int, due: datetime, now: datetime, by: str, plan: Plan | None = None,
        schedules: Mapping[str, Schedule] | None = None,
    ) -> Review:  # fmt: skip
        for attempt in range(rules.SLOT_RETRIES):
            try:
                with self.write() as conn:
                    return self._approve(conn, post_id, due, now, by, plan, schedules)
            except ConstraintError as exc:
                if schedules is None or not rules.slot_clash(exc):
                    raise
                if attempt == rules.SLOT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _approve(
        self, conn: Connection, post_id: int, due: datetime, now: datetime, by: str,
        plan: Plan | None, schedules: Mapping[str, Schedule] | None,
    ) -> Review:  # fmt: skip
        self._drafts_of(conn, "approve", post_id)
        rows = conn.execute(
            select(DELIVERY.c.id, DELIVERY.c.account)
            .where(DELIVERY.c.post_id == post_id, DELIVERY.c.status == Status.DRAFT)
            .order_by(DELIVERY.c.id)
        ).all()  # before an edit re-renders (and queues) them
        if plan is not None:
            self._update_post(conn, post_id, plan, due, now)
        if schedules is None:
            conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.post_id == post_id, DELIVERY.c.status == Status.DRAFT)
                .values(review_rules.approved(due, now))
            )
        else:  # each draft delivery to its account's first free slot, held by it
            skip = [r.id for r in rows]
            slots = []
            for r in rows:
                taken = partial(_taken_lookup, conn, r.account, skip)
                slot = first_free(schedules[r.account], now, taken)
                values = {**review_rules.approved(slot, now), "slot_at": slot}
                conn.execute(update(DELIVERY).where(DELIVERY.c.id == r.id).values(values))
                slots.append(slot)
            due = min(slots)
        review = self._record(conn, post_id, Decision.APPROVED, by, now, due, plan is not None)
        self.notify_enqueued(conn)
        return review

    def reject(self, post_id: int, now: datetime, by: str) -> Review:
        with self.write() as conn:
            self._drafts_of(conn, "reject", post_id)
            review = self._record(conn, post_id, Decision.REJECTED, by, now, None, False,
                                  Status.DRAFT)  # fmt: skip
            conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.post_id == post_id, DELIVERY.c.status == Status.DRAFT)
                .values(review_rules.rejected(now))
            )
            return review

    def reviews(self, post_id: int) -> list[Review]:
        with self.read() as conn:
            rows = conn.execute(
                select(REVIEW).where(REVIEW.c.post_id == post_id).order_by(REVIEW.c.id)
            ).mappings()
            return [review_record(r) for r in rows]

    def _drafts_of(self, conn: Connection, verb: str, post_id: int) -> None:
        statuses = [r.status for r in conn.execute(
            select(DELIVERY.c.status).where(DELIVERY.c.post_id == post_id))]  # fmt: skip
        if not statuses:
            raise NotFound(f"no post with id {post_id}")
        if Status.DRAFT not in statuses:
            raise review_rules.not_a_draft(verb, post_id, statuses)

    def _record(
        self, conn: Connection, post_id: int, decision: Decision, by: str, now: datetime,
        due: datetime | None, edited: bool, status: Status = Status.QUEUED,
    ) -> Review:  # fmt: skip
        teaser = conn.execute(select(POST.c.teaser).where(POST.c.id == post_id)).scalar_one()
        texts = {r.account: r.text for r in conn.execute(
            select(DELIVERY.c.account, DELIVERY.c.text).where(
                DELIVERY.c.post_id == post_id, DELIVERY.c.status == status)
            .order_by(DELIVERY.c.id))}  # fmt: skip
        detail = review_detail(teaser, texts, due, edited)
        review_id = conn.execute(
            insert(REVIEW).returning(REVIEW.c.id),
            {"post_id": post_id, "decision": decision, "by": by, "at": now, "detail": detail},
        ).scalar_one()
        return Review(review_id, post_id, decision, by, now, detail)

    # -- feeds ---------------------------------------------------------------------------
    def feed_states(self) -> list[FeedState]:
        with self.read() as conn:
            return [feed_record(r) for r in
                    conn.execute(select(FEED).order_by(FEED.c.name)).mappings()]  # fmt: skip

    def known_feed_items(self, feed: str, keys: Sequence[str]) -> dict[str, KnownItem]:
        with self.read() as conn:
            return self._known(conn, feed, keys)

    def _known(self, conn: Connection, feed: str, keys: Sequence[str]) -> dict[str, KnownItem]:
        found: dict[str, KnownItem] = {}
        columns = (FEED_ITEM.c.id, FEED_ITEM.c.article, FEED_ITEM.c.key, FEED_ITEM.c.content_hash,
                   FEED_ITEM.c.post_id)  # fmt: skip
        for chunk in chunks(list(dict.fromkeys(keys)), 500):
            query = select(*columns).where(FEED_ITEM.c.feed == feed, FEED_ITEM.c.key.in_(chunk))
            for r in conn.execute(query):
                # An article's first key row has `article` NULL: its own id is the article's.
                found[r.key] = KnownItem(r.article or r.id, r.key, r.content_hash, r.post_id)
        return found

    def feed_notes(self, post_ids: Sequence[int]) -> dict[int, list[str]]:
        notes: dict[int, list[str]] = {}
        with self.read() as conn:
            for chunk in chunks(list(post_ids), 500):
                query = (select(FEED_ITEM.c.post_id, FEED_ITEM.c.note)
                         .where(FEED_ITEM.c.post_id.in_(chunk), FEED_ITEM.c.note.is_not(None),
                                FEED_ITEM.c.article.is_(None)))  # fmt: skip
                for r in conn.execute(query):
                    notes.setdefault(r.post_id, []).append(r.note)
        return notes

    def record_poll(self, poll: PollWrite, now: datetime) -> list[ItemOutcome]:
        outcomes: list[ItemOutcome] = []
        with self.write() as conn:
            known = self._known(conn, poll.feed, [k for i in poll.items for k in i.keys])
            seen = posted = 0
            fresh: list[dict[str, Any]] = []  # key rows of new articles, written together
            firsts: list[int] = []  # of `fresh`, where each article's rows begin
            pending: set[str] = set()
            for item in poll.items:
                hit = next((known[k] for k in item.keys if k in known), None)
                settled = live = 0
                if hit is not None and hit.post_id is not None and item.plan is not None:
                    settled, live = self._post_states(conn, hit.post_id)
                action = review_rules.feed_item_action(
                    hit, item.content_hash, item.plan is not None, settled, live
                )
                post_id = hit.post_id if hit is not None else None
                if action == "created":
                    assert item.plan is not None
                    post_id = self._insert_post(conn, item.plan, now)
                    self._insert_deliveries(conn, post_id, item.plan, item.due or now, now)
                    posted += 1
                elif action == "updated":
                    assert item.plan is not None and post_id is not None
                    self._update_post(conn, post_id, item.plan, None, now)
                if hit is None:
                    if not pending.isdisjoint(item.keys):  # listed twice in this poll
                        outcomes.append(ItemOutcome(item.keys, "unchanged", None, item.note))
                        continue
                    seen += 1
                    pending.update(item.keys)
                    firsts.append(len(fresh))
                    fresh.extend({
                        "feed": poll.feed, "key": key, "article": None, "post_id": post_id,
                        "content_hash": item.content_hash, "title": item.title,
                        "link": item.link, "seen_at": now, "updated_at": now, "note": item.note,
                    } for key in item.keys)  # fmt: skip
                else:
                    self._more_keys(conn, poll, item.keys, hit, known, now)
                    if action in ("updated", "noted"):
                        of_article = ((FEED_ITEM.c.id == hit.article)
                                      | (FEED_ITEM.c.article == hit.article))  # fmt: skip
                        conn.execute(update(FEED_ITEM).where(of_article)
                                     .values(content_hash=item.content_hash, title=item.title,
                                             updated_at=now, note=item.note))  # fmt: skip
                outcomes.append(ItemOutcome(item.keys, action, post_id, item.note))
            self._insert_keys(conn, fresh, firsts)
            self._save_feed(conn, poll, seen, posted)
            if posted or any(o.action == "updated" for o in outcomes):
                self.notify_enqueued(conn)
        return outcomes

    def _insert_keys(self, conn: Connection, rows: list[dict[str, Any]], firsts: list[int]) -> None:
        """New articles' key rows in two statements: each article's first key (`article` NULL:
        the row's own id is the article's), then its other keys pointing at that row."""
        if not rows:
            return
        heads = [rows[i] for i in firsts]
        conn.execute(insert(FEED_ITEM), heads)  # a plain executemany: no RETURNING per row
        feed = heads[0]["feed"]
        found: dict[str, int] = {}
        for chunk in chunks([h["key"] for h in heads], 500):
            query = select(FEED_ITEM.c.id, FEED_ITEM.c.key).where(
                FEED_ITEM.c.feed == feed, FEED_ITEM.c.key.in_(chunk)
            )
            found.update({r.key: r.id for r in conn.execute(query)})  # fmt: skip
        ids = [found[h["key"]] for h in heads]
        bounds = [*firsts, len(rows)]
        others = [{**rows[j], "article": head}
                  for (start, end), head in zip(pairwise(bounds), ids, strict=True)
                  for j in range(start + 1, end)]  # fmt: skip
        if others:
            conn.execute(insert(FEED_ITEM), others)

    def _post_states(self, conn: Connection, post_id: int) -> tuple[int, int]:
        from postbot.store.rules import SETTLED

        rows = conn.execute(select(DELIVERY.c.status, DELIVERY.c.dry_run)
                            .where(DELIVERY.c.post_id == post_id)).all()  # fmt: skip
        settled = sum(r.status in SETTLED and not r.dry_run for r in rows)
        live = sum(r.status in review_rules.LIVE for r in rows)
        return settled + self._published_parts(conn, post_id), live

    def _more_keys(
        self, conn: Connection, poll: PollWrite, keys: Sequence[str], hit: KnownItem,
        known: dict[str, KnownItem], now: datetime,
    ) -> None:  # fmt: skip
        """A known article under a new key (its GUID changed, its link stayed): remembered."""
        for key in keys:
            if key not in known:
                conn.execute(insert(FEED_ITEM), {
                    "feed": poll.feed, "key": key, "article": hit.article,
                    "post_id": hit.post_id, "content_hash": hit.content_hash, "title": "",
                    "link": None, "seen_at": now, "updated_at": now, "note": None,
                })  # fmt: skip
                known[key] = KnownItem(hit.article, key, hit.content_hash, hit.post_id)

    def _save_feed(self, conn: Connection, poll: PollWrite, seen: int, posted: int) -> None:
        values: dict[str, Any] = {
            "url": poll.url, "polled_at": poll.polled_at, "result": poll.result,
            "error": poll.error, "failures": poll.failures, "next_poll_at": poll.next_poll_at,
        }  # fmt: skip
        if poll.result != PollResult.ERROR:  # a failed poll keeps what the last good one said
            values.update(etag=poll.etag, last_modified=poll.last_modified)
            if poll.body_hash is not None:
                values["body_hash"] = poll.body_hash
            unwatched = (FEED.c.name == poll.feed) & FEED.c.watched_since.is_(None)
            conn.execute(update(FEED).where(unwatched).values(watched_since=poll.polled_at))
        changed = conn.execute(
            update(FEED).where(FEED.c.name == poll.feed).values(
                **values, items_seen=FEED.c.items_seen + seen,
                posts_created=FEED.c.posts_created + posted)
        ).rowcount  # fmt: skip
        if not changed:
            values.setdefault("etag", None)
            values.setdefault("last_modified", None)
            good = poll.result != PollResult.ERROR
            values["watched_since"] = poll.polled_at if good else None
            conn.execute(insert(FEED), {"name": poll.feed, **values, "items_seen": seen,
                                        "posts_created": posted})  # fmt: skip


def review_record(row: Any) -> Review:
    return Review(row["id"], row["post_id"], Decision(row["decision"]), row["by"], row["at"],
                  dict(row["detail"] or {}))  # fmt: skip


def feed_record(row: Any) -> FeedState:
    return FeedState(
        row["name"], row["url"], row["etag"], row["last_modified"], row["polled_at"],
        PollResult(row["result"]) if row["result"] else None, row["error"], row["failures"],
        row["next_poll_at"], row["watched_since"], row["items_seen"], row["posts_created"],
        row["body_hash"],
    )  # fmt: skip
