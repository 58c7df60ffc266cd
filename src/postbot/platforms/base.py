"""The one small interface every platform implements, and what flows through it.

A platform module must stay cheap to import: it imports its client library (Mastodon.py,
tweepy, atproto) inside the methods that talk to the network, never at module level,
so `postbot enqueue` can ask it how to count text without loading any of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

from postbot.domain import Account, MediaItem
from postbot.options import Option
from postbot.platforms.limits import LimitCheck, TextLimit, check_all
from postbot.platforms.media import GENERIC, ImageFile, MediaError, MediaPolicy, checked_images

if TYPE_CHECKING:
    from postbot.platforms.facets import Facet


@dataclass(frozen=True)
class ReplyTo:
    """Where a thread's part goes: under its parent (the part before it), in the thread that
    starts at its root (part 1). `*_ref`: what the platform needs beside the id (Bluesky: the
    record's CID; None elsewhere)."""

    parent_id: str
    root_id: str
    parent_ref: str | None = None
    root_ref: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """Exactly what is sent for one delivery (or one part of a thread): the rendered text and
    everything beside it."""

    delivery_id: int
    post_id: int
    account: str
    text: str  # rendered for this platform: teaser, link, hashtags
    language: str | None = None
    link: str | None = None
    hashtags: tuple[str, ...] = ()
    media: tuple[MediaItem, ...] = ()
    # Stable across every retry of this delivery (never random): the server drops a repeat.
    idempotency_key: str = ""
    # When the delivery was created (UTC, never changes): Bluesky derives its record key from it.
    created_at: datetime | None = None
    # A thread's part: which one (1-based) of how many, and what it replies to (None for the
    # first part, and for a single post). Each part has its own idempotency key.
    part: int = 1
    parts: int = 1
    reply_to: ReplyTo | None = None
    # Queued before threads existed (its `part_count` is unknown): a platform that derives a
    # key from the delivery (Bluesky's record key) derives it as it did then, so a retry
    # finds what an earlier attempt wrote.
    legacy: bool = False


@dataclass(frozen=True)
class Published:
    """A post the platform accepted."""

    remote_id: str
    url: str | None = None
    http_status: int | None = None
    # What was actually sent, for the attempt log (dry-run fills it; adapters may).
    detail: Mapping[str, object] = field(default_factory=dict)
    # What a reply to this post needs beside its id (Bluesky: the record's CID).
    ref: str | None = None


@dataclass(frozen=True)
class Scheduled:
    """A post the platform holds, to publish at its time itself (a Mastodon scheduled status)."""

    scheduled_id: str
    at: datetime  # when the platform publishes it
    text: str = ""  # what it will publish
    http_status: int | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerSide:
    """How an account hands its posts to its server's own scheduling (`server_side = true`),
    and the server's rules for it."""

    lead: timedelta  # handed over once due within this
    check: timedelta  # how often postbot asks what became of them
    min_ahead: timedelta  # the server takes a post at least this far ahead
    total_limit: int  # it holds at most this many for the account ...
    daily_limit: int  # ... and this many for any one day (UTC)


class PublishError(Exception):
    """A publish that did not succeed. `message` is the platform's words, never a secret."""

    transient: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        # Earliest moment a retry may happen (a platform's rate-limit reset), UTC-aware.
        self.retry_after = retry_after

    def redacted(self, redact: Callable[[str], str]) -> PublishError:
        """This error, its message passed through `redact` (an adapter's Redactor)."""
        self.message = redact(self.message)
        self.args = (self.message,)
        return self


class TransientError(PublishError):
    """Network failure, timeout, 5xx, 429: worth trying again later."""

    transient = True


class PermanentError(PublishError):
    """Bad or revoked token, content refused, duplicate: trying again will not help."""


class OutcomeUnknown(TransientError):
    """The request may have reached the platform (dropped connection, timeout after sending).

    Retried only where the platform lets us prevent a duplicate (idempotency key, record key).
    """


class Platform(ABC):
    """One platform: counts text its own way and publishes to one account."""

    name: ClassVar[str]
    default_limit: ClassVar[int]
    # The most an account's char_limit may say (X Premium's long posts, Bluesky's record);
    # None: the server says (a Mastodon instance sets its own). More is refused in the config.
    max_char_limit: ClassVar[int | None] = None
    # True where re-sending after an unknown outcome cannot create a second post (an
    # idempotency key or a fixed record key). False (X): an unknown outcome waits for a person.
    safe_to_resend: ClassVar[bool] = False
    # The platform's posting limit as "count/period" (an account's `pace` overrides it);
    # None: no limit we know of.
    default_pace: ClassVar[str | None] = None
    # True where the idempotency protection expires (Mastodon keeps a key about an hour):
    # a retry first looks the post up, in case an earlier attempt did get through.
    lookup_before_retry: ClassVar[bool] = False
    # The options an account of this platform takes beside the common ones (platform,
    # base_url, credentials, char_limit, pace, max_lateness): the config schema refuses others.
    options: ClassVar[Mapping[str, Option]] = {}
    # Hosts that serve this platform's post pages, when they are not base_url's host.
    post_hosts: ClassVar[tuple[str, ...]] = ()
    # The images it takes (count, types, bytes, pixels, alt text), checked at enqueue and again
    # before anything is uploaded.
    media: ClassVar[MediaPolicy] = GENERIC

    def __init__(self, account: Account, environ: Mapping[str, str] | None = None) -> None:
        self.account = account
        self.environ = environ

    def seconds_option(self, key: str, default: float) -> float:
        """A positive number of seconds from the account's options (`timeout`, ...)."""
        value = self.account.options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            from postbot.errors import ConfigError

            raise ConfigError(
                f"account '{self.account.name}': {key} must be a positive number of seconds"
                f" (got {value!r})"
            )
        return float(value)

    # -- text (no network, no heavy imports) -------------------------------------------
    def limit(self) -> int:
        return self.account.char_limit or self.default_limit

    @abstractmethod
    def count(self, text: str) -> int:
        """The length of `text` as this platform counts it."""

    def text_limits(self) -> tuple[TextLimit, ...]:
        """Every limit this platform puts on a post's text, the main one (count, limit) first.
        Offline: enqueue and preview check these; publish checks them again."""
        return (TextLimit("characters", self.limit(), self.count),)

    def check_text(self, text: str) -> tuple[LimitCheck, ...]:
        return check_all(self.text_limits(), text)

    def overrun(self, text: str, limits: tuple[TextLimit, ...] | None = None) -> LimitCheck | None:
        """The first limit `text` breaks (of `limits`, by default `text_limits()`), or None."""
        checks = check_all(self.text_limits() if limits is None else limits, text)
        return next((check for check in checks if not check.fits), None)

    # -- before publishing: refuse what the platform would refuse, before anything is sent --
    def refuse_overrun(
        self,
        text: str,
        limits: tuple[TextLimit, ...] | None = None,
        *,
        prefix: str = "",
        limit_is: str = "the limit is",
    ) -> None:
        """PermanentError if `text` breaks a limit (`X: text is 281 characters, the limit is
        280`)."""
        broken = self.overrun(text, limits)
        if broken is not None:
            raise PermanentError(
                f"{prefix}text is {broken.count} {broken.name}, {limit_is} {broken.limit}"
            )

    def checked_media(
        self, media: Sequence[MediaItem], policy: MediaPolicy | None = None, *, prefix: str = ""
    ) -> list[ImageFile]:
        """Every file read and judged against `policy` (by default `media`); PermanentError
        with one line if any is refused."""
        try:
            return checked_images(self.media if policy is None else policy, media)
        except MediaError as exc:
            raise PermanentError(f"{prefix}{exc}") from None

    def render(self, teaser: str, link: str | None, hashtags: tuple[str, ...]) -> str:
        """The text to send. Platforms that move the link elsewhere override this."""
        if type(hashtags) is tuple:
            return _rendered(teaser, link, hashtags)
        from postbot.compose import render_text

        return render_text(teaser, link, hashtags)

    def facets(self, text: str) -> tuple[Facet, ...]:
        """The links and hashtags this platform will make of `text` (shown by the web preview).
        Platforms that find them their own way override this."""
        from postbot.platforms.facets import find_facets

        return find_facets(text)

    def render_thread(
        self, parts: Sequence[str], link: str | None, hashtags: tuple[str, ...]
    ) -> tuple[str, ...]:
        """The texts of a post's parts as sent, one per part: the link and the hashtags go
        with the first part (as `render` puts them), the other parts as written. A platform
        that posts the link as a reply of its own (X) adds a part."""
        return (self.render(parts[0], link, hashtags), *(p.strip() for p in parts[1:]))

    def legacy_parts(self, text: str, link: str | None) -> tuple[str, ...]:
        """The parts of a delivery queued before threads existed (its rendered text, the
        post's link): what `render_thread` would have made of it."""
        return (text,)

    def notes(self, parts: int) -> tuple[str, ...]:
        """What this account will do differently with a post of `parts` parts, said at enqueue
        (never refused): e.g. a Mastodon account that hands posts to its server publishes a
        thread itself."""
        return ()

    # -- network ------------------------------------------------------------------------
    @abstractmethod
    def publish(self, outgoing: Outgoing) -> Published:
        """Send one post. Raise TransientError, PermanentError or OutcomeUnknown on failure."""

    def check(self) -> str:
        """Verify the credentials; return who we are logged in as. Raise PublishError."""
        raise PermanentError(f"platform '{self.name}' cannot check accounts")

    def lookup(self, outgoing: Outgoing) -> Published | None:
        """After an unknown outcome: find the post if it was published. None if not found.

        Raise PublishError if the platform cannot tell (the default: we do not know).
        """
        raise OutcomeUnknown(f"platform '{self.name}' cannot look up a post")

    # -- the server's own scheduling (only where `server_side` is not None) -------------------
    # The account's handover settings; None: postbot publishes everything itself.
    server_side: ServerSide | None = None

    def schedule(self, outgoing: Outgoing, at: datetime) -> Scheduled | Published:
        """Hand the post to the server, to publish at `at`. A Published: the server published
        it at once instead (a time it found too close). Raise PublishError."""
        raise PermanentError(f"platform '{self.name}' cannot schedule posts")

    def pending_scheduled(self) -> list[Scheduled]:
        """Every post the server holds for the account, to publish later."""
        raise PermanentError(f"platform '{self.name}' cannot schedule posts")

    def move_scheduled(self, scheduled_id: str, at: datetime) -> Scheduled | None:
        """Publish a held post at another time; None: the server no longer holds it."""
        raise PermanentError(f"platform '{self.name}' cannot schedule posts")

    def cancel_scheduled(self, scheduled_id: str) -> bool:
        """Withdraw a held post; False: the server no longer holds it (published, deleted)."""
        raise PermanentError(f"platform '{self.name}' cannot schedule posts")

    def is_post_url(self, url: str) -> bool:
        """Could `url` be the address of a post of this account (for `postbot resolve`)?"""
        from urllib.parse import urlsplit

        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or not parts.path.strip("/"):
            return False
        hosts = set(self.post_hosts)
        if self.account.base_url:
            base = urlsplit(
                self.account.base_url
                if "://" in self.account.base_url
                else "https://" + self.account.base_url
            ).hostname
            if base:
                hosts.add(base)
        return parts.hostname.lower() in {h.lower() for h in hosts}

    def close(self) -> None:  # noqa: B027 (optional hook: most platforms hold nothing)
        """Release sessions and connections (called when the daemon stops)."""


@lru_cache(maxsize=256)
def _rendered(teaser: str, link: str | None, hashtags: tuple[str, ...]) -> str:
    """`compose.render_text` (a pure function), remembered: the platforms of one post render
    the same teaser, link and hashtags."""
    from postbot.compose import render_text

    return render_text(teaser, link, hashtags)
