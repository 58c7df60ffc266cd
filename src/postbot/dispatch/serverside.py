"""Handing posts to the server's own scheduling (`server_side = true`: Mastodon's scheduled
statuses), and recording what the server made of them. The daemon runs one pass every
`server_side_check`; the decisions are the pure functions at the top.

- Handover: a queued single post due within `server_side_lead`, but more than the server's
  minimum ahead (5 minutes, and a margin), is claimed, checked against what the server already
  holds (found: an earlier handover got through; it is recorded, not sent again) and against
  its limits (300 pending, 25 a day: refused here without asking), then sent with its own
  idempotency key. Taken: `scheduled`. Refused by the server, or too close by now: it stays
  queued and postbot publishes it itself at its time. The outcome unknown: the next pass
  looks again before it sends.
- Settling: a scheduled post the server no longer holds was published (found among the
  account's statuses: `published`, with its id and URL) or withdrawn on the server (none
  found 10 minutes after its time: `failed`, for a person). Each change is guarded by the
  scheduled id, so two workers never record one twice.
- A worker that died mid-handover: the server's scheduled posts, then its published ones, are
  looked at before anything else is decided.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo

from postbot.dispatch import outcomes
from postbot.domain import Claimed, Delivery, Handover, Outcome, Status
from postbot.platforms.base import (
    OutcomeUnknown,
    Outgoing,
    Platform,
    Published,
    PublishError,
    Scheduled,
    ServerSide,
)
from postbot.store import Store, rules
from postbot.when import local_text

log = logging.getLogger("postbot.dispatch")

# A scheduled post gone from the server without a published status to show for it: waited for
# this long after its time (the server's scheduler may run late) before it is `failed`.
SETTLE_GRACE = timedelta(minutes=10)
BATCH = 50


# -- decisions (pure) ----------------------------------------------------------------------------
def matching(pending: Sequence[Scheduled], text: str, at: datetime) -> Scheduled | None:
    """What the server holds that is this post: its text, at its time (to the second)."""
    wanted = " ".join(text.split())
    second = at.replace(microsecond=0)
    for held in pending:
        if " ".join(held.text.split()) == wanted and held.at.replace(microsecond=0) == second:
            return held
    return None


def over_limits(pending: Sequence[Scheduled], at: datetime, rules_: ServerSide) -> str | None:
    """Why the server would refuse one more (its limits), or None."""
    if len(pending) >= rules_.total_limit:
        return (
            f"the account has {len(pending)} scheduled posts on the server, its limit is"
            f" {rules_.total_limit}"
        )
    day = at.date()  # the server counts per day of scheduled_at, in UTC
    that_day = sum(1 for held in pending if held.at.date() == day)
    if that_day >= rules_.daily_limit:
        return (
            f"the account has {that_day} scheduled posts on the server for {day.isoformat()},"
            f" its limit is {rules_.daily_limit} a day"
        )
    return None


# -- the pass ------------------------------------------------------------------------------------
@dataclass
class ServerSideJob:
    """One pass over the accounts that hand posts to their server."""

    store: Store
    worker: str
    accounts: Mapping[str, ServerSide]
    platform: Callable[[str], Platform]  # the publisher's (a dry run's for every account)
    outgoing: Callable[[Claimed], Outgoing]
    clock: Callable[[], datetime]
    lease: timedelta
    zone: tzinfo
    dry_run: bool = False
    room: Callable[[str, datetime], int] = lambda account, now: BATCH  # the pace's free slots
    _asked: dict[str, datetime] = field(default_factory=dict)

    def run(self) -> int:
        """Hand over what is due within each account's lead; settle what the servers did."""
        done = 0
        for account, settings in self.accounts.items():
            try:
                done += self.hand_over(account, settings) + self.settle(account, settings)
            except PublishError as exc:
                log.warning(
                    "%s: cannot reach the server's scheduled posts: %s", account, exc.message
                )
        return done

    def takes(self, item: Claimed) -> bool:
        """Whether a claim this worker took over from a dead one is this job's to reconcile."""
        return item.account in self.accounts and (item.part_count or 1) <= 1

    # -- handing over --------------------------------------------------------------------------
    def hand_over(self, account: str, settings: ServerSide) -> int:
        now = self.clock()
        limit = min(BATCH, self.room(account, now))
        if limit <= 0:
            return 0
        claimed = self.store.claim_handover(
            self.worker,
            now,
            account,
            now + settings.min_ahead,
            now + settings.lead,
            limit,
            self.lease,
            dry_run=self.dry_run,
        )
        if not claimed:
            return 0
        platform = self.platform(account)
        try:
            pending = self._pending(account, platform)
        except PublishError as exc:
            for item in claimed:  # asked nothing yet: offered again next pass
                self._record(
                    item, None, now, sent=False, note=f"not handed to the server yet: {exc.message}"
                )
            return len(claimed)
        for item in claimed:
            taken = self._hand_over_one(item, platform, pending, settings)
            if taken is not None:
                pending.append(taken)
        return len(claimed)

    def _hand_over_one(
        self, item: Claimed, platform: Platform, pending: list[Scheduled], settings: ServerSide
    ) -> Scheduled | None:
        started = self.clock()
        outgoing = self.outgoing(item)
        held = matching(pending, outgoing.text, item.due_at)
        if held is not None:  # an earlier handover got through and was never recorded
            self._record(item, held, started, sent=False, detail={"found": "on the server"})
            return None
        refusal = over_limits(pending, item.due_at, settings)
        if refusal is not None:
            self._record(
                item,
                None,
                started,
                sent=False,
                refused=True,
                note=f"not handed to the server ({refusal}): postbot publishes it",
            )
            return None
        try:
            answer = platform.schedule(outgoing, item.due_at)
        except OutcomeUnknown as exc:
            return self._unknown(item, platform, outgoing, exc, started)
        except PublishError as exc:
            self._record(
                item,
                None,
                started,
                refused=True,
                error=exc,
                note=f"the server would not take it ({exc.message}): postbot"
                " publishes it at its time",
            )
            return None
        if isinstance(answer, Published):  # the server published it at once (too close)
            self._published(item, answer, started)
            return None
        self._record(item, answer, started, detail=answer.detail)
        return answer

    def _unknown(
        self,
        item: Claimed,
        platform: Platform,
        outgoing: Outgoing,
        exc: PublishError,
        started: datetime,
    ) -> Scheduled | None:
        """The request may have reached the server: look before anything else is decided."""
        try:
            held = matching(self._pending(item.account, platform), outgoing.text, item.due_at)
        except PublishError:
            held = None
        if held is not None:
            self._record(item, held, started, detail={"found": "on the server"})
            return held
        # Not there, or cannot tell: offered again next pass, with the same idempotency key
        # and after another look at what the server holds.
        self._record(
            item, None, started, error=exc, note=f"handing it to the server: {exc.message}"
        )
        return None

    def _pending(self, account: str, platform: Platform) -> list[Scheduled]:
        if self.dry_run:  # a dry run's "scheduled" posts are in the store alone
            return [
                Scheduled(d.scheduled_id or "", d.due_at, d.text)
                for d in self.store.scheduled_of(account)
                if d.dry_run
            ]
        return platform.pending_scheduled()

    def _record(
        self,
        item: Claimed,
        held: Scheduled | None,
        started: datetime,
        *,
        sent: bool = True,
        refused: bool = False,
        error: PublishError | None = None,
        note: str | None = None,
        detail: Mapping[str, object] | None = None,
    ) -> None:
        handover = Handover(
            item.delivery_id,
            started,
            self.clock(),
            held.scheduled_id if held is not None else None,
            refused=refused,
            sent=sent,
            error_class=type(error).__name__ if error else None,
            error_message=note,
            http_status=error.http_status if error else (held.http_status if held else None),
            dry_run=self.dry_run,
            detail=dict(detail or {}),
        )
        if not self.store.record_handover(self.worker, handover):
            return
        if held is not None:
            log.info(
                "post %s -> %s: %s the server, which publishes it at %s (scheduled status %s)",
                item.post_id,
                item.account,
                "would be handed to" if self.dry_run else "handed to",
                local_text(item.due_at, self.zone),
                held.scheduled_id,
            )
        else:
            log.warning("post %s -> %s: %s", item.post_id, item.account, note)

    def _published(self, item: Claimed, published: Published, started: datetime) -> None:
        log.warning(
            "post %s -> %s: the server published it at once (too close to its time)",
            item.post_id,
            item.account,
        )
        result = outcomes.result_of(
            item,
            outcomes.PUBLISHED,
            started,
            self.clock(),
            dry_run=self.dry_run,
            published=published,
        )
        self.store.record(self.worker, [result])

    # -- settling ------------------------------------------------------------------------------
    def settle(self, account: str, settings: ServerSide) -> int:
        now = self.clock()
        asked = self._asked.get(account)
        if asked is not None and now - asked < settings.check:
            return 0
        held = self.store.scheduled_of(account)
        if not held:
            return 0
        self._asked[account] = now
        settled = 0
        for d in (d for d in held if d.dry_run and d.due_at <= now):
            settled += self._change(d, rules.scheduled_published(d.scheduled_id or "", None, now))
        live = [d for d in held if not d.dry_run]
        if not live or self.dry_run:
            return settled
        platform = self.platform(account)
        still = {s.scheduled_id for s in platform.pending_scheduled()}
        for d in live:
            if d.scheduled_id in still:
                continue
            found = self._published_status(platform, d)
            if found is not None:
                settled += self._change(
                    d, rules.scheduled_published(found.remote_id, found.url, now)
                )
            elif now >= d.due_at + SETTLE_GRACE:
                note = (
                    f"the server no longer holds scheduled status {d.scheduled_id} and no"
                    " published status matches it (withdrawn on the server?); `postbot retry"
                    f" {d.post_id}` publishes it"
                )
                settled += self._change(d, rules.scheduled_failed(note, now))
        return settled

    def _published_status(self, platform: Platform, d: Delivery) -> Published | None:
        post = self.store.get_post(d.post_id)
        # Published at its time: nothing older than that (less the lookup's own slack) matters.
        outgoing = Outgoing(
            d.id, d.post_id, d.account, d.text, media=post.media, created_at=d.due_at
        )
        try:
            return platform.lookup(outgoing)
        except PublishError as exc:
            log.warning(
                "post %s -> %s: cannot tell yet what became of scheduled status %s: %s",
                d.post_id,
                d.account,
                d.scheduled_id,
                exc.message,
            )
            return None

    def _change(self, d: Delivery, values: Mapping[str, object]) -> int:
        if d.dry_run:
            values = {**values, "dry_run": True}
        if not self.store.change_scheduled(d.id, d.scheduled_id or "", values):
            return 0  # another worker (or a person) got there first
        if values["status"] == Status.PUBLISHED:
            log.info(
                "post %s -> %s: %s by the server: %s",
                d.post_id,
                d.account,
                "would be published" if d.dry_run else "published",
                values.get("remote_url") or values.get("remote_id"),
            )
        else:
            log.warning("post %s -> %s: %s", d.post_id, d.account, values.get("last_error"))
        return 1

    # -- after a crash -------------------------------------------------------------------------
    def reconcile(self, item: Claimed) -> int:
        """A handover (or a publish) whose worker died: what does the server hold or show?"""
        now = self.clock()
        if item.dry_run:
            self._record(
                item,
                None,
                now,
                sent=False,
                note="worker stopped (dry run): nothing was sent, queued again",
            )
            return 1
        platform = self.platform(item.account)
        outgoing = self.outgoing(item)
        try:
            held = matching(platform.pending_scheduled(), outgoing.text, item.due_at)
            found = None if held is not None else platform.lookup(outgoing)
        except PublishError as exc:
            held, found = None, None
            note = f"worker stopped mid-publish; cannot tell yet ({exc.message}), queued again"
        else:
            note = "worker stopped mid-publish; not on the server, queued again"
        if held is not None:
            self._record(item, held, now, sent=False, detail={"recovered": True})
        elif found is not None:
            result = outcomes.result_of(
                item,
                outcomes.PUBLISHED,
                now,
                self.clock(),
                dry_run=False,
                published=found,
                recovered=True,
            )
            self.store.record(self.worker, [result])
        elif now < item.due_at:  # not due yet: offered to the server again, then published
            self._record(item, None, now, sent=False, note=note)
        else:  # due: published by postbot now (the idempotency key prevents a second one)
            decision = outcomes.Decision(
                outcomes.Verdict.RETRY, Outcome.TRANSIENT, Status.QUEUED, now, message=note
            )
            result = outcomes.result_of(item, decision, now, self.clock(), dry_run=False)
            self.store.record(self.worker, [replace(result, detail={"recovered": True})])
        return 1


def settings_of(
    accounts: Mapping[str, object], platform_of: Callable[[str], Platform]
) -> dict[str, ServerSide]:
    """The accounts that hand posts to their server, with how."""
    found = {}
    for name in accounts:
        server_side = platform_of(name).server_side
        if server_side is not None:
            found[name] = server_side
    return found
