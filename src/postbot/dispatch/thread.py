"""A thread, part by part: each part published as a reply to the one before it, and recorded
in the store right after the platform answered, under the lease (`Store.record_part`).

So a failure, or a crash, in mid-thread never posts an earlier part again: the next attempt
starts at the first part not recorded. After a crash (lease expired) only that part can be in
doubt (the next one is sent only once it is recorded), and it alone is looked up, the way a
single post is reconciled: found, it is recorded and the thread goes on; not found, it is sent
again where that cannot duplicate it (Mastodon's idempotency key per part, Bluesky's record key
per part); on X, which cannot tell, the delivery is `unknown` at that part, for a person.

Each part is its own attempt in the log; the delivery's last result only settles its state
(its attempt is the last part's, already written). Part 1 carries the media, the link and the
hashtags; its remote id and URL are the delivery's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from postbot.dispatch import outcomes
from postbot.domain import Claimed, Outcome, Part, Result
from postbot.platforms.base import Outgoing, Platform, Published, PublishError, ReplyTo

if TYPE_CHECKING:
    from postbot.dispatch.publisher import Publisher

log = logging.getLogger("postbot.dispatch")

# (delivery id, the part as published, when its publish started, what was sent, HTTP status)
# -> whether the lease was still held: `Store.record_part` with the worker bound.
RecordPart = Callable[[int, Part, datetime, Mapping[str, Any], "int | None"], bool]


def parts_of(item: Claimed, platform: Platform) -> tuple[Part, ...]:
    """The claimed delivery's parts with what is known of them; empty for a single post."""
    return thread_parts(item.part_count, item.parts, item.text, item.link, platform)


def thread_parts(
    part_count: int | None,
    stored: tuple[Part, ...],
    text: str,
    link: str | None,
    platform: Platform,
) -> tuple[Part, ...]:
    """A delivery's parts; empty for a single post. A delivery queued before threads existed
    (`part_count` None) has what the platform makes of its text and its post's link (an X link
    reply), with the parts recorded so far."""
    if part_count is None:
        texts = platform.legacy_parts(text, link)
        if len(texts) == 1:
            return ()
        known = {p.index: p for p in stored}
        return tuple(known.get(i, Part(i, t)) for i, t in enumerate(texts, 1))
    return stored if part_count > 1 else ()


def is_done(part: Part, dry_run: bool) -> bool:
    """Published, as this run sees it: a live run sends again what a dry run only "sent"."""
    return part.published and (dry_run or not part.dry_run)


def next_part(parts: tuple[Part, ...], dry_run: bool) -> int:
    """The index (0-based) of the first part still to publish; len(parts) when none is."""
    return next((i for i, p in enumerate(parts) if not is_done(p, dry_run)), len(parts))


def outgoing_of(base: Outgoing, parts: tuple[Part, ...], at: int) -> Outgoing:
    """Part `at` (0-based) as sent: its text, its own idempotency key, and a reply to the part
    before it in the thread that starts at part 1. Media go with part 1 only."""
    part = parts[at]
    reply = None
    if at:
        root, parent = parts[0], parts[at - 1]
        assert root.remote_id is not None and parent.remote_id is not None
        reply = ReplyTo(parent.remote_id, root.remote_id, parent.ref, root.ref)
    return replace(
        base,
        text=part.text,
        part=part.index,
        parts=len(parts),
        reply_to=reply,
        idempotency_key=part_key(base.idempotency_key, part.index),
        media=base.media if part.index == 1 else (),
    )


def part_key(key: str, index: int) -> str:
    """Part 1 keeps the delivery's idempotency key (what a single post sends); part n adds -n."""
    return key if index == 1 or not key else f"{key}-{index}"


class Threads:
    """Publishes and reconciles threads for a `Publisher`, recording each part as it goes."""

    def __init__(self, publisher: Publisher, record_part: RecordPart) -> None:
        self.publisher = publisher
        self.record_part = record_part

    def publish(
        self, item: Claimed, platform: Platform, parts: tuple[Part, ...], started: datetime
    ) -> Result:
        p = self.publisher
        parts = tuple(parts)
        base = p.outgoing(item)
        first = next_part(parts, p.dry_run)
        for at in range(first, len(parts)):
            outgoing = outgoing_of(base, parts, at)
            part_started = p.clock()
            try:
                published = None
                if at == first and item.attempts > 1 and platform.lookup_before_retry:
                    published = p.look_first(platform, outgoing)
                if published is None:
                    published = platform.publish(outgoing)
            except Exception as exc:
                return self._failed(item, platform, exc, outgoing, part_started)
            parts = self._recorded(item, parts, at, published, part_started, outgoing)
            if not parts:
                return self._lost(item, started, at)
        return self._complete(item, parts, started)

    def reconcile(self, item: Claimed, platform: Platform, parts: tuple[Part, ...]) -> Result:
        """After a crash: look up the one part that may be out unrecorded."""
        p = self.publisher
        started = p.clock()
        at = next_part(parts, item.dry_run)
        if at == len(parts):  # every part recorded: the crash came before the last write
            return self._complete(item, parts, started, recovered=True)
        outgoing = outgoing_of(p.outgoing(item), parts, at)
        found, error = None, None
        try:
            found = platform.lookup(outgoing)
        except PublishError as exc:
            error = exc
        now = p.clock()
        caps = outcomes.Capabilities.of(platform)
        if found is not None:
            parts = self._recorded(item, parts, at, found, started, outgoing, recovered=True)
            if not parts:
                return self._lost(item, started, at)
            if at + 1 == len(parts):
                return self._complete(item, parts, started, recovered=True)
        decision = outcomes.reconciled_part(found, error, caps, now, at + 1, len(parts))
        return self._result(item, decision, started, now, outgoing, recovered=True)

    # -- pieces --------------------------------------------------------------------------------
    def _recorded(
        self,
        item: Claimed,
        parts: tuple[Part, ...],
        at: int,
        published: Published,
        started: datetime,
        outgoing: Outgoing,
        *,
        recovered: bool = False,
    ) -> tuple[Part, ...]:
        """The part stored as published; the parts as they are now (empty: lease lost)."""
        p = self.publisher
        done = replace(
            parts[at],
            remote_id=published.remote_id,
            remote_url=published.url,
            ref=published.ref,
            published_at=p.clock(),
            dry_run=p.dry_run,
        )
        detail = {**part_detail(outgoing), **published.detail}
        if recovered:
            detail = {"recovered": True, **detail}
        status = None if recovered else published.http_status
        if not self.record_part(item.delivery_id, done, started, detail, status):
            return ()
        p.log_part(item, outgoing, done)
        return (*parts[:at], done, *parts[at + 1 :])

    def _failed(
        self,
        item: Claimed,
        platform: Platform,
        exc: Exception,
        outgoing: Outgoing,
        started: datetime,
    ) -> Result:
        p = self.publisher
        if not isinstance(exc, PublishError):
            log.debug(
                "error publishing part %s of delivery %s",
                outgoing.part,
                item.delivery_id,
                exc_info=True,
            )
        now = p.clock()
        caps = outcomes.Capabilities.of(platform)
        decision = outcomes.decide(exc, item.attempts, caps, p.strategy, now, p.jitter())
        decision = replace(
            decision, message=f"part {outgoing.part} of {outgoing.parts}: {decision.message}"
        )
        return self._result(item, decision, started, now, outgoing)

    def _result(
        self,
        item: Claimed,
        decision: outcomes.Decision,
        started: datetime,
        now: datetime,
        outgoing: Outgoing,
        *,
        recovered: bool = False,
    ) -> Result:
        result = self.publisher.done(item, decision, started, now, recovered=recovered)
        return replace(result, detail={**part_detail(outgoing), **result.detail})

    def _complete(
        self, item: Claimed, parts: tuple[Part, ...], started: datetime, *, recovered: bool = False
    ) -> Result:
        """Every part is out and recorded: the delivery is published, at part 1's address."""
        head = parts[0]
        assert head.remote_id is not None
        published = Published(head.remote_id, head.remote_url, detail={"parts": len(parts)})
        result = self.publisher.done(
            item,
            outcomes.PUBLISHED,
            started,
            self.publisher.clock(),
            published,
            recovered=recovered,
        )
        return replace(result, logged=False)  # its attempt is the last part's, already written

    def _lost(self, item: Claimed, started: datetime, at: int) -> Result:
        """The lease expired while part `at` was out: another worker has the delivery now and
        reconciles it; this result is logged and changes nothing."""
        log.warning(
            "post %s -> %s: lease lost after part %s; another worker takes over",
            item.post_id,
            item.account,
            at + 1,
        )
        return Result(
            item.delivery_id,
            Outcome.PUBLISHED,
            started,
            self.publisher.clock(),
            outcomes.PUBLISHED.status,
            logged=False,
        )


def part_detail(outgoing: Outgoing) -> dict[str, Any]:
    """What the attempt log says of the part (the adapter adds what it sent)."""
    detail: dict[str, Any] = {"part": outgoing.part, "parts": outgoing.parts, "text": outgoing.text}
    if outgoing.reply_to is not None:
        detail["in_reply_to"] = outgoing.reply_to.parent_id
    return detail
