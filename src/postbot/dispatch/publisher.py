"""One claimed delivery against its platform: publish it, or reconcile it after a crash, and say
in one log line what came of it. The meaning of each answer is `outcomes`' (pure); this module
only makes the calls, in the publish threads.

The log line of a dry run shows the text exactly as it would be sent (that is what a dry run
is for); otherwise a dry run pays for nothing a real publish does not.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from postbot.config import Settings
from postbot.dispatch import outcomes
from postbot.dispatch.thread import RecordPart, Threads, parts_of
from postbot.domain import Claimed, Outcome, Part, Result
from postbot.logs import attempt_fields
from postbot.platforms import platform_for
from postbot.platforms.base import Outgoing, Platform, Published, PublishError
from postbot.platforms.dryrun import DryRunPlatform
from postbot.retry import RetryStrategy
from postbot.when import local_text

log = logging.getLogger("postbot.dispatch")


class Publisher:
    def __init__(
        self,
        settings: Settings,
        *,
        dry_run: bool,
        clock: Callable[[], datetime],
        environ: Mapping[str, str] | None = None,
        jitter: Callable[[], float] = random.random,
        record_part: RecordPart | None = None,
    ) -> None:
        self.settings = settings
        self.dry_run = dry_run
        self.clock = clock
        self.environ = environ
        self.jitter = jitter
        retry = settings.retry
        self.strategy = RetryStrategy(retry.max_attempts, retry.base_delay, retry.max_delay)
        self._platforms: dict[str, Platform] = {}
        self._lock = threading.Lock()
        # Threads record each part as it is published (dispatch/thread.py).
        self.threads = Threads(self, record_part) if record_part is not None else None

    def platform(self, account_name: str) -> Platform:
        """The account's platform, made once (a dry run's for every account in a dry run)."""
        with self._lock:
            platform = self._platforms.get(account_name)
            if platform is None:
                account = self.settings.account(account_name)
                platform = (
                    DryRunPlatform(account, self.environ)
                    if self.dry_run
                    else platform_for(account, self.environ)
                )
                self._platforms[account_name] = platform
            return platform

    def publish(self, item: Claimed) -> Result:
        started = self.clock()
        outgoing = outgoing_for(item)
        platform: Platform | None = None
        try:
            platform = self.platform(item.account)
            parts = parts_of(item, platform)
            if parts and self.threads is not None:
                return self.threads.publish(item, platform, parts, started)
            published = self._already_published(platform, item, outgoing)
            if published is None:
                published = platform.publish(outgoing)
        except Exception as exc:
            if not isinstance(exc, PublishError):  # a bug, or a library error nobody sorted
                log.debug("error publishing delivery %s", item.delivery_id, exc_info=True)
            # Without a platform object there is no publish to repeat: "unsafe" is moot.
            caps = outcomes.Capabilities.of(platform) if platform else outcomes.Capabilities(False)
            now = self.clock()
            decision = outcomes.decide(exc, item.attempts, caps, self.strategy, now, self.jitter())
            return self.done(item, decision, started, now)
        return self.done(item, outcomes.PUBLISHED, started, self.clock(), published)

    def _already_published(
        self, platform: Platform, item: Claimed, outgoing: Outgoing
    ) -> Published | None:
        """On a retry, where the platform's duplicate protection may have lapsed: look first."""
        if item.attempts <= 1 or not platform.lookup_before_retry:
            return None
        return self.look_first(platform, outgoing)

    def look_first(self, platform: Platform, outgoing: Outgoing) -> Published | None:
        """The post, if an earlier attempt got it out (None: not found, or cannot tell)."""
        try:
            return platform.lookup(outgoing)
        except PublishError:
            return None  # cannot tell (e.g. no read scope): the idempotency key still helps

    def reconcile(self, item: Claimed) -> Result:
        """A delivery whose worker died mid-publish: did the post go out?"""
        started = self.clock()
        if item.dry_run:  # the dead worker was a dry run: nothing went anywhere
            decision = outcomes.reconciled(None, None, outcomes.Capabilities(True), started,
                                           sent_nothing=True)  # fmt: skip
            return self.done(item, decision, started, self.clock(), dry_run=True)
        platform = self.platform(item.account)
        parts = parts_of(item, platform)
        if parts and self.threads is not None:
            return self.threads.reconcile(item, platform, parts)
        found, error = None, None
        try:
            found = platform.lookup(outgoing_for(item))
        except PublishError as exc:
            error = exc
        now = self.clock()
        decision = outcomes.reconciled(found, error, outcomes.Capabilities.of(platform), now)
        return self.done(item, decision, started, now, found, recovered=True)

    def outgoing(self, item: Claimed) -> Outgoing:
        return outgoing_for(item)

    def done(
        self,
        item: Claimed,
        decision: outcomes.Decision,
        started: datetime,
        finished: datetime,
        published: Published | None = None,
        *,
        recovered: bool = False,
        dry_run: bool | None = None,
    ) -> Result:
        result = outcomes.result_of(
            item, decision, started, finished, published=published, recovered=recovered,
            dry_run=self.dry_run if dry_run is None else dry_run,
        )  # fmt: skip
        self._log(item, result)
        return result

    def _log(self, item: Claimed, result: Result) -> None:
        extra = attempt_fields(item, result)
        if result.outcome == Outcome.PUBLISHED:
            where = result.remote_url or result.remote_id
            if self.dry_run:
                log.info("post %s -> %s: would publish %s text=%r", item.post_id, item.account,
                         where, item.text, extra=extra)  # fmt: skip
            else:
                log.info("post %s -> %s: published %s", item.post_id, item.account, where,
                         extra=extra)  # fmt: skip
            return
        then = ""
        if result.next_attempt_at is not None:  # in the configured zone, to the second
            then = f", next attempt {local_text(result.next_attempt_at, self.settings.timezone)}"
        log.warning(
            "post %s -> %s: %s (attempt %s): %s%s", item.post_id, item.account, result.status,
            item.attempts, result.error_message, then, extra=extra,
        )  # fmt: skip

    def log_part(self, item: Claimed, outgoing: Outgoing, part: Part) -> None:
        """One line per part of a thread as it is recorded."""
        where = part.remote_url or part.remote_id
        extra = {
            "post_id": item.post_id, "delivery_id": item.delivery_id, "account": item.account,
            "platform": item.platform, "part": part.index, "parts": outgoing.parts,
            "remote_url": part.remote_url, "remote_id": part.remote_id, "dry_run": self.dry_run,
        }  # fmt: skip
        if self.dry_run:
            log.info("post %s -> %s: would publish part %s/%s %s text=%r", item.post_id,
                     item.account, part.index, outgoing.parts, where, part.text,
                     extra=extra)  # fmt: skip
        else:
            log.info("post %s -> %s: part %s/%s published %s", item.post_id, item.account,
                     part.index, outgoing.parts, where, extra=extra)  # fmt: skip

    def close(self) -> None:
        with self._lock:
            platforms, self._platforms = list(self._platforms.values()), {}
        for platform in platforms:
            platform.close()


def outgoing_for(item: Claimed) -> Outgoing:
    return Outgoing(
        delivery_id=item.delivery_id,
        post_id=item.post_id,
        account=item.account,
        text=item.text,
        language=item.language,
        link=item.link,
        hashtags=item.hashtags,
        media=item.media,
        idempotency_key=f"postbot-{item.key}",
        created_at=item.created_at,
        legacy=item.part_count is None,
    )
