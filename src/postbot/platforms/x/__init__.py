"""X (formerly Twitter): posts through the v2 API with tweepy, media through the v2 media endpoints.

Credentials (by the roles an account's `credentials` table defines):
- OAuth 1.0a user context: `consumer_key`, `consumer_secret`, `access_token`,
  `access_token_secret` (the app's API key and secret plus the account's access token pair);
- OAuth 2.0 user context: `user_token` (an access token from the authorization-code flow with
  the scopes tweet.read tweet.write users.read media.write offline.access), sent as a Bearer
  token. Refreshing it is left to whoever issued it: we only read the variable.
Defining both sets, or only part of the OAuth 1.0a set, is a configuration error.

Account options: `link_placement` ("inline", the default, or "reply": the link goes into a
first reply instead of the post, a part of its own: `render_thread`) and `timeout` (seconds per
HTTP request, default 30). A thread's parts are posts replying to each other
(`in_reply_to_tweet_id`), each published and recorded on its own by the dispatcher.
`base_url` points every request at another host (a local fake in tests, or a proxy).

Why there is no `lookup()`: X offers no idempotency key and no reliable way to find "the post
this delivery made" (search is delayed, paid and incomplete; the user timeline needs a read
quota and can miss a post). So after an unknown outcome the base behaviour stands: we cannot
tell, and the scheduler must not resend on its own. See docs/platforms/x.md.

Nothing here imports tweepy or requests at module level: `postbot enqueue` imports this module
to count text and must stay fast.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from postbot.domain import Account, MediaItem
from postbot.errors import ConfigError
from postbot.options import Option
from postbot.platforms._http import TIMEOUT, host_of
from postbot.platforms.base import (
    OutcomeUnknown,
    Outgoing,
    PermanentError,
    Platform,
    Published,
    TransientError,
)
from postbot.platforms.media import ImageFile, ImageRule, MediaPolicy
from postbot.redact import Redactor

if TYPE_CHECKING:
    import requests
    from requests.auth import AuthBase

    from postbot.platforms.facets import Facet


T = TypeVar("T")

# The host our own media calls use; tweepy hard-codes https://api.twitter.com for its calls,
# and X serves the v2 API on both.
API_HOST = "https://api.x.com"
LINK_PLACEMENTS = ("inline", "reply")

OAUTH1_ROLES = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
OAUTH2_ROLE = "user_token"

# What X takes through the v2 simple upload (media_category=tweet_image), as documented
# (docs/platforms/x.md): up to 4 images per post, JPEG, PNG or WebP of at most 5 MB each (read
# as 5,000,000 bytes: X does not say MB or MiB, and the smaller reading never queues what X
# refuses), alt text up to 1,000 characters. GIFs (15 MB, one per post) and videos need the
# chunked upload, which postbot does not implement yet.
MEDIA = MediaPolicy(
    "X",
    max_items=4,
    types={t: ImageRule(max_bytes=5_000_000) for t in ("image/jpeg", "image/png", "image/webp")},
    max_alt=1000,
)


@dataclass
class _Connection:
    """Everything built once per platform object from the credentials."""

    client: Any  # tweepy.Client (tweepy ships no type information)
    session: requests.Session
    user_auth: bool  # True: OAuth 1.0a (tweepy's user_auth); False: Bearer user token
    auth: AuthBase | None  # for our own media calls: OAuth1 signer, or None with Bearer
    headers: dict[str, str]  # User-Agent, and Authorization with a Bearer token
    redact: Redactor  # masks the credential values in every message


def _budget(value: int | float) -> Decimal:
    from postbot.costs import parse_money

    return parse_money(value)


class XPlatform(Platform):
    """Publishes to one X account. One object per account, safe to share between threads."""

    name: ClassVar[str] = "x"
    default_limit: ClassVar[int] = 280
    max_char_limit: ClassVar[int | None] = 25_000  # X Premium's long posts
    # X Free tier: 17 posts per 24 hours per user. Paid tiers set `pace` (Basic: "100/24h").
    default_pace: ClassVar[str | None] = "17/24h"
    options: ClassVar[Mapping[str, Option]] = {
        "link_placement": Option(str, "inline", choices=LINK_PLACEMENTS),
        "timeout": TIMEOUT,
        # US dollars a month: a delivery that would exceed it waits (postbot.costs).
        "monthly_budget": Option(
            (int, float), parse=_budget, help="a number of US dollars a month, e.g. 25"
        ),
    }
    post_hosts: ClassVar[tuple[str, ...]] = ("x.com", "twitter.com", "www.x.com", "mobile.x.com")
    media = MEDIA

    def __init__(self, account: Account, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(account, environ)
        # Options are checked now (cheap, no network) so a typo fails at startup, not at 3 am.
        placement = account.options.get("link_placement", "inline")
        if placement not in LINK_PLACEMENTS:
            raise ConfigError(
                f"account '{account.name}': link_placement must be one of "
                f"{', '.join(LINK_PLACEMENTS)} (got {placement!r})"
            )
        self.link_placement: str = placement
        self.timeout = self.seconds_option("timeout", TIMEOUT.default)
        self._lock = threading.Lock()
        self._conn: _Connection | None = None

    # -- text -------------------------------------------------------------------------------
    def count(self, text: str) -> int:
        from postbot.compose import count_x

        return count_x(text)

    def render(self, teaser: str, link: str | None, hashtags: tuple[str, ...]) -> str:
        # With link_placement = "reply" the link is posted as the first reply (a part of its
        # own: render_thread), so the post itself is teaser and hashtags only.
        return super().render(teaser, None if self.link_placement == "reply" else link, hashtags)

    def facets(self, text: str) -> tuple[Facet, ...]:
        # X links what twitter-text finds (also `example.org` without a scheme), as it counts.
        from postbot.compose import _twitter_text
        from postbot.platforms.facets import find_facets

        found = _twitter_text("extract_urls").extract_urls_with_indices(text)
        return find_facets(text, [(u["indices"][0], u["indices"][1], u["url"]) for u in found])

    def render_thread(
        self, parts: Sequence[str], link: str | None, hashtags: tuple[str, ...]
    ) -> tuple[str, ...]:
        """As every platform's, but with link_placement = "reply" the link is a reply of its
        own right after the first part (unless the first part already holds it)."""
        texts = super().render_thread(parts, link, hashtags)
        return self._with_link_reply(texts, link)

    def legacy_parts(self, text: str, link: str | None) -> tuple[str, ...]:
        # Queued before threads existed: the link reply was added at publish, as it is now.
        return self._with_link_reply((text,), link)

    def _with_link_reply(self, texts: tuple[str, ...], link: str | None) -> tuple[str, ...]:
        if self.link_placement != "reply" or not link or link.strip() in texts[0]:
            return texts
        return (texts[0], link.strip(), *texts[1:])

    # -- network ----------------------------------------------------------------------------
    def publish(self, outgoing: Outgoing) -> Published:
        # Refuse what X would refuse before anything is uploaded: no half-done work to undo.
        self.refuse_overrun(outgoing.text, prefix="X: ")
        images = self.checked_media(outgoing.media, prefix="X media: ")
        conn = self._connection()

        media_detail: list[dict[str, object]] = []
        for item, image in zip(outgoing.media, images, strict=True):
            # A repeated upload only leaves an unused media id that X discards after a day,
            # so a media failure is never an unknown outcome: nothing is published yet.
            media_id = self._guard(
                "media upload", partial(self._upload, conn, item, image), conn, creates=False
            )
            media_detail.append({"path": item.path, "id": media_id, "alt": item.alt})
        media_ids = [str(m["id"]) for m in media_detail]

        # A thread's part (the link reply of link_placement = "reply" is one) replies to the
        # part before it; each part is one post, published and recorded on its own.
        reply_to = outgoing.reply_to.parent_id if outgoing.reply_to is not None else None
        data = self._guard(
            "post" if reply_to is None else f"reply (part {outgoing.part} of {outgoing.parts})",
            lambda: conn.client.create_tweet(
                text=outgoing.text,
                media_ids=media_ids or None,
                in_reply_to_tweet_id=reply_to,
                user_auth=conn.user_auth,
            ),
            conn,
            creates=True,
        )
        tweet_id = _created_id(data)
        detail: dict[str, object] = {
            "text": outgoing.text,
            "reply": reply_to,
            "media": media_detail,
        }

        return Published(
            remote_id=tweet_id,
            url=f"https://x.com/i/web/status/{tweet_id}",
            http_status=201,
            detail=detail,
        )

    def check(self) -> str:
        conn = self._connection()
        data = self._guard(
            "account check",
            lambda: conn.client.get_me(user_auth=conn.user_auth),
            conn,
            creates=False,
        )
        username = data.get("data", {}).get("username") if isinstance(data, dict) else None
        if not username:
            raise TransientError("X account check: the answer carried no username")
        return f"@{username}"

    # lookup(): the base behaviour (raise OutcomeUnknown) on purpose; see the module docstring.

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.session.close()

    # -- connection -------------------------------------------------------------------------
    def _connection(self) -> _Connection:
        # Built once and reused: the session keeps connections to X alive between posts.
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn

    def _connect(self) -> _Connection:
        import tweepy
        from requests_oauthlib import OAuth1

        roles = set(self.account.credential_vars)
        oauth1 = [r for r in OAUTH1_ROLES if r in roles]
        where = f"account '{self.account.name}'"
        if OAUTH2_ROLE in roles and oauth1:
            raise ConfigError(
                f"{where}: X credentials: define either {OAUTH2_ROLE} (OAuth 2.0) or "
                f"{', '.join(OAUTH1_ROLES)} (OAuth 1.0a), not both"
            )
        if OAUTH2_ROLE not in roles and len(oauth1) < len(OAUTH1_ROLES):
            missing = [r for r in OAUTH1_ROLES if r not in roles]
            raise ConfigError(
                f"{where}: X credentials need {', '.join(OAUTH1_ROLES)} (OAuth 1.0a) or "
                f"{OAUTH2_ROLE} (OAuth 2.0); missing: {', '.join(missing)}"
            )
        creds = self.account.credentials(self.environ)  # ConfigError names a missing variable
        from postbot.platforms.x.http import make_session, quiet_credential_loggers

        quiet_credential_loggers()

        session = make_session(self.timeout, self.account.base_url)
        auth: AuthBase | None
        if OAUTH2_ROLE in roles:
            client = tweepy.Client(bearer_token=creds[OAUTH2_ROLE], return_type=dict)
            user_auth = False  # tweepy then sends "Authorization: Bearer <token>"
            auth = None
            headers = {"Authorization": f"Bearer {creds[OAUTH2_ROLE]}"}
        else:
            client = tweepy.Client(
                consumer_key=creds["consumer_key"],
                consumer_secret=creds["consumer_secret"],
                access_token=creds["access_token"],
                access_token_secret=creds["access_token_secret"],
                return_type=dict,
            )
            user_auth = True
            # The same signer tweepy builds for its own user-context calls.
            auth = OAuth1(
                creds["consumer_key"],
                client_secret=creds["consumer_secret"],
                resource_owner_key=creds["access_token"],
                resource_owner_secret=creds["access_token_secret"],
                decoding=None,
            )
            headers = {}
        headers["User-Agent"] = client.user_agent
        # tweepy's own session has no timeout and could hang forever; ours has one (and the
        # base_url rewrite). The replaced session never opened a connection.
        client.session.close()
        client.session = session
        return _Connection(client, session, user_auth, auth, headers, Redactor(creds.values()))

    # -- media ------------------------------------------------------------------------------
    def _upload(self, conn: _Connection, item: MediaItem, image: ImageFile) -> str:
        """Upload one image (v2 simple upload), then set its alt text. Returns the media id."""
        path = Path(item.path)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise PermanentError(f"X media {item.path}: cannot read: {exc.strerror}") from None
        mime = image.mime or "application/octet-stream"  # read from the bytes, not the name
        # tweepy 4.17 only knows the v1.1 upload, which X has retired: call v2 ourselves.
        answer = self._request(
            conn,
            "POST",
            "/2/media/upload",
            files={"media": (path.name, content, mime)},
            data={"media_category": "tweet_image", "media_type": mime},
        )
        media_id = answer.get("data", {}).get("id") if isinstance(answer, dict) else None
        if not media_id:
            raise TransientError(f"X media upload {item.path}: the answer carried no media id")
        if item.alt:
            self._request(
                conn,
                "POST",
                "/2/media/metadata",
                json={"id": str(media_id), "metadata": {"alt_text": {"text": item.alt}}},
            )
        return str(media_id)

    def _request(self, conn: _Connection, method: str, route: str, **kwargs: Any) -> Any:
        """One call on the shared session with the account's auth; errors as tweepy raises them."""
        response = conn.session.request(
            method, API_HOST + route, auth=conn.auth, headers=conn.headers, **kwargs
        )
        with response:
            from postbot.platforms.x.http import raise_for_status

            raise_for_status(response)
            return response.json()

    # -- errors -----------------------------------------------------------------------------
    def _guard(self, what: str, call: Callable[[], T], conn: _Connection, *, creates: bool) -> T:
        """Run one API call; turn every failure into TransientError, PermanentError or
        OutcomeUnknown. `creates`: the call may create a post, so a failure after the request
        left us means the outcome is unknown (X has no idempotency key to make a resend safe).
        """
        import requests
        import tweepy

        from postbot.platforms.x.http import http_error, network_error

        try:
            return call()
        except tweepy.HTTPException as exc:
            error = http_error(what, exc, creates)
        except requests.RequestException as exc:
            host = host_of(self.account.base_url or API_HOST)
            error = network_error(what, exc, creates, host, self.timeout)
        # Messages come from X and from exception texts; mask any credential that slipped in.
        # `from None`: the chained exception would carry the request, and its headers hold
        # the credentials; nothing in it is needed beyond the message.
        raise error.redacted(conn.redact) from None


def _created_id(answer: Any) -> str:
    tweet_id = answer.get("data", {}).get("id") if isinstance(answer, dict) else None
    if not tweet_id:
        # A 2xx without an id: X probably created the post, but we cannot say which.
        raise OutcomeUnknown("X post: the answer carried no post id", http_status=201)
    return str(tweet_id)
