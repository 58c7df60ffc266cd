"""X (formerly Twitter): posts through the v2 API with tweepy, media through the v2 media endpoints.

Credentials (by the roles an account's `credentials` table defines):
- OAuth 1.0a user context: `consumer_key`, `consumer_secret`, `access_token`,
  `access_token_secret` (the app's API key and secret plus the account's access token pair);
- OAuth 2.0 user context: `user_token` (an access token from the authorization-code flow with
  the scopes tweet.read tweet.write users.read media.write offline.access), sent as a Bearer
  token. Refreshing it is left to whoever issued it: we only read the variable.
Defining both sets, or only part of the OAuth 1.0a set, is a configuration error.

Account options: `link_placement` ("inline", the default, or "reply": the link goes into a
first reply instead of the post) and `timeout` (seconds per HTTP request, default 30).
`base_url` points every request at another host (a local fake in tests, or a proxy).

Why there is no `lookup()`: X offers no idempotency key and no reliable way to find "the post
this delivery made" (search is delayed, paid and incomplete; the user timeline needs a read
quota and can miss a post). So after an unknown outcome the base behaviour stands: we cannot
tell, and the scheduler must not resend on its own. See docs/platforms/x.md.

Nothing here imports tweepy or requests at module level: `postbot enqueue` imports this module
to count text and must stay fast.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from postbot.domain import Account, MediaItem
from postbot.errors import ConfigError
from postbot.options import SECONDS, Option
from postbot.platforms.base import (
    OutcomeUnknown,
    Outgoing,
    PermanentError,
    Platform,
    Published,
    PublishError,
    TransientError,
    scrub,
)

if TYPE_CHECKING:
    import requests
    from requests.auth import AuthBase

log = logging.getLogger(__name__)

T = TypeVar("T")

# The host our own media calls use; tweepy hard-codes https://api.twitter.com for its calls,
# and X serves the v2 API on both.
API_HOST = "https://api.x.com"
DEFAULT_TIMEOUT = 30.0
LINK_PLACEMENTS = ("inline", "reply")

OAUTH1_ROLES = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
OAUTH2_ROLE = "user_token"

# What the v2 simple upload (media_category=tweet_image) takes. GIFs and videos need the
# chunked upload (initialize/append/finalize), which we do not implement yet.
IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/pjpeg", "image/png", "image/webp", "image/bmp", "image/tiff"}
)
# Some systems' mime.types name BMP differently; X wants the standard name.
_MIME_ALIASES = {"image/x-ms-bmp": "image/bmp", "image/x-bmp": "image/bmp"}
MAX_IMAGES = 4  # X attaches at most four images to one post
MAX_ALT_TEXT = 1000  # X refuses longer alt text


@dataclass
class _Connection:
    """Everything built once per platform object from the credentials."""

    client: Any  # tweepy.Client (tweepy ships no type information)
    session: requests.Session
    user_auth: bool  # True: OAuth 1.0a (tweepy's user_auth); False: Bearer user token
    auth: AuthBase | None  # for our own media calls: OAuth1 signer, or None with Bearer
    headers: dict[str, str]  # User-Agent, and Authorization with a Bearer token
    secrets: tuple[str, ...]  # credential values, scrubbed from every message


class XPlatform(Platform):
    """Publishes to one X account. One object per account, safe to share between threads."""

    name: ClassVar[str] = "x"
    default_limit: ClassVar[int] = 280
    # X Free tier: 17 posts per 24 hours per user. Paid tiers set `pace` (Basic: "100/24h").
    default_pace: ClassVar[str | None] = "17/24h"
    options: ClassVar[Mapping[str, Option]] = {
        "link_placement": Option(str, "inline", choices=LINK_PLACEMENTS),
        "timeout": replace(SECONDS, default=DEFAULT_TIMEOUT),
    }
    post_hosts: ClassVar[tuple[str, ...]] = ("x.com", "twitter.com", "www.x.com", "mobile.x.com")

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
        self.timeout = self.seconds_option("timeout", DEFAULT_TIMEOUT)
        self._lock = threading.Lock()
        self._conn: _Connection | None = None

    # -- text -------------------------------------------------------------------------------
    def count(self, text: str) -> int:
        from postbot.compose import count_x

        return count_x(text)

    def render(self, teaser: str, link: str | None, hashtags: tuple[str, ...]) -> str:
        from postbot.compose import render_text

        # With link_placement = "reply" the link is posted as the first reply (publish() takes
        # it from Outgoing.link), so the post itself is teaser and hashtags only.
        if self.link_placement == "reply":
            return render_text(teaser, None, hashtags)
        return render_text(teaser, link, hashtags)

    # -- network ----------------------------------------------------------------------------
    def publish(self, outgoing: Outgoing) -> Published:
        # Refuse what X would refuse before anything is uploaded: no half-done work to undo.
        self._check_media(outgoing.media)
        conn = self._connection()

        media_detail: list[dict[str, object]] = []
        for item in outgoing.media:
            # A repeated upload only leaves an unused media id that X discards after a day,
            # so a media failure is never an unknown outcome: nothing is published yet.
            media_id = self._guard(
                "media upload", partial(self._upload, conn, item), conn, creates=False
            )
            media_detail.append({"path": item.path, "id": media_id, "alt": item.alt})
        media_ids = [str(m["id"]) for m in media_detail]

        reply_link = outgoing.link if self.link_placement == "reply" else None
        if reply_link and reply_link in outgoing.text:
            reply_link = None  # already in the post (rendered inline): do not post it twice

        data = self._guard(
            "post",
            lambda: conn.client.create_tweet(
                text=outgoing.text, media_ids=media_ids or None, user_auth=conn.user_auth
            ),
            conn,
            creates=True,
        )
        tweet_id = _created_id(data)
        detail: dict[str, object] = {
            "text": outgoing.text,
            "reply": reply_link,
            "media": media_detail,
        }

        if reply_link:
            try:
                reply = self._guard(
                    "link reply",
                    lambda: conn.client.create_tweet(
                        text=reply_link, in_reply_to_tweet_id=tweet_id, user_auth=conn.user_auth
                    ),
                    conn,
                    creates=True,
                )
                detail["reply_id"] = _created_id(reply)
            except PublishError as exc:
                # The post itself is out. Raising now would make the scheduler publish it a
                # second time, so the missing reply is recorded, not retried.
                detail["reply_error"] = exc.message
                log.warning(
                    "account %s: post %s published, link reply failed: %s",
                    self.account.name,
                    tweet_id,
                    exc.message,
                )

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
        _quiet_credential_loggers()
        secrets = tuple(sorted({v for v in creds.values() if v}, key=len, reverse=True))

        session = _make_session(self.timeout, self.account.base_url)
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
        return _Connection(client, session, user_auth, auth, headers, secrets)

    # -- media ------------------------------------------------------------------------------
    def _check_media(self, media: Iterable[MediaItem]) -> None:
        items = list(media)
        if len(items) > MAX_IMAGES:
            raise PermanentError(f"X takes at most {MAX_IMAGES} images per post ({len(items)})")
        for item in items:
            mime = _image_type(item.path)
            if mime not in IMAGE_TYPES:
                raise PermanentError(
                    f"X media {item.path}: only images (JPEG, PNG, WebP, BMP, TIFF) are supported,"
                    f" not {mime or 'an unknown type'}"
                )
            if len(item.alt) > MAX_ALT_TEXT:
                raise PermanentError(
                    f"X media {item.path}: alt text is {len(item.alt)} characters,"
                    f" X takes at most {MAX_ALT_TEXT}"
                )
            if not Path(item.path).is_file():
                raise PermanentError(f"X media {item.path}: file not found")

    def _upload(self, conn: _Connection, item: MediaItem) -> str:
        """Upload one image (v2 simple upload), then set its alt text. Returns the media id."""
        path = Path(item.path)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise PermanentError(f"X media {item.path}: cannot read: {exc.strerror}") from None
        mime = _image_type(path.name) or "application/octet-stream"
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
            _raise_for_status(response)
            return response.json()

    # -- errors -----------------------------------------------------------------------------
    def _guard(self, what: str, call: Callable[[], T], conn: _Connection, *, creates: bool) -> T:
        """Run one API call; turn every failure into TransientError, PermanentError or
        OutcomeUnknown. `creates`: the call may create a post, so a failure after the request
        left us means the outcome is unknown (X has no idempotency key to make a resend safe).
        """
        import requests
        import tweepy

        try:
            return call()
        except tweepy.HTTPException as exc:
            error = _http_error(what, exc)
        except requests.RequestException as exc:
            error = _network_error(what, exc, creates, self.timeout)
        # Messages come from X and from exception texts; scrub any credential that slipped in.
        error.message = scrub(error.message, conn.secrets)
        error.args = (error.message,)
        # `from None`: the chained exception would carry the request, and its headers hold
        # the credentials; nothing in it is needed beyond the message.
        raise error from None


def _image_type(path: str) -> str | None:
    mime = mimetypes.guess_type(path)[0]
    return _MIME_ALIASES.get(mime, mime) if mime else None


def _created_id(answer: Any) -> str:
    tweet_id = answer.get("data", {}).get("id") if isinstance(answer, dict) else None
    if not tweet_id:
        # A 2xx without an id: X probably created the post, but we cannot say which.
        raise OutcomeUnknown("X post: the answer carried no post id", http_status=201)
    return str(tweet_id)


def _raise_for_status(response: requests.Response) -> None:
    """Raise the tweepy exception tweepy itself raises for this status (see BaseClient.request),
    so our own calls and tweepy's share one error mapping."""
    from tweepy import errors

    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        reset_time = int(reset) if reset and reset.isdigit() else None
        raise errors.TooManyRequests(response, reset_time=reset_time)
    by_status: dict[int, type[errors.HTTPException]] = {
        400: errors.BadRequest,
        401: errors.Unauthorized,
        403: errors.Forbidden,
        404: errors.NotFound,
    }
    if status >= 500:
        raise errors.TwitterServerError(response)
    raise by_status.get(status, errors.HTTPException)(response)


def _http_error(what: str, exc: Any) -> PublishError:
    """Map a tweepy HTTPException: 429/5xx/408 transient, any other refusal permanent."""
    import tweepy

    response = exc.response
    status: int = response.status_code
    reason = response.reason or ""
    said = "; ".join(str(m) for m in exc.api_messages if m) or reason
    message = f"X {what}: {status} {reason}"
    if said != reason:
        message += f": {said}"

    if isinstance(exc, tweepy.TooManyRequests):
        retry_after = (
            datetime.fromtimestamp(exc.reset_time, tz=UTC) if exc.reset_time is not None else None
        )
        return TransientError(message, http_status=status, retry_after=retry_after)
    if isinstance(exc, tweepy.TwitterServerError) or status == 408:
        return TransientError(message, http_status=status)
    if status == 403 and "duplicate" in said.lower():
        # X refuses a text identical to one of the account's recent posts. Also what a resend
        # after an unnoticed success runs into, so it says so.
        return PermanentError(
            f"duplicate content: X refused the post as identical to an earlier one"
            f" ({status} {reason}: {said})",
            http_status=status,
        )
    # 400 (invalid request), 401 (bad or revoked token), 403 (not allowed), 404 and the rest:
    # sending the same request again will be refused again.
    return PermanentError(message, http_status=status)


def _network_error(what: str, exc: Exception, creates: bool, timeout: float) -> PublishError:
    """A request that got no HTTP answer. Unknown outcome only if it may have reached X."""
    import requests

    if isinstance(exc, requests.JSONDecodeError):
        text = f"X {what}: the answer was not valid JSON"
        # A 2xx with an unreadable body: a create probably happened.
        return OutcomeUnknown(text) if creates else TransientError(text)
    if _never_sent(exc):
        return TransientError(f"X {what}: cannot connect to X ({_cause(exc)})")
    if isinstance(exc, requests.Timeout):
        text = f"X {what}: no answer within {timeout:g} s"
    else:
        text = f"X {what}: connection lost before X answered ({_cause(exc)})"
    if creates:
        return OutcomeUnknown(
            f"{text}; the post may or may not have been published"
            " (X has no idempotency key, so it is not resent automatically)"
        )
    return TransientError(text)


def _never_sent(exc: BaseException) -> bool:
    """True when the request cannot have left this machine: the connection (TCP or the TLS
    certificate check, both before any request byte) failed."""
    import ssl

    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

    if isinstance(exc, requests.ConnectTimeout):
        return True
    for cause in _causes(exc):
        if isinstance(cause, ReadTimeoutError):
            return False
        if isinstance(
            cause, NewConnectionError | ConnectTimeoutError | ssl.SSLCertVerificationError
        ):
            return True
    return False


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (requests/urllib3 nest them in args and .reason)."""
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo and len(seen) < 20:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend(item.args)
        todo.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
    return seen


def _cause(exc: BaseException) -> str:
    """A short, credential-free description of the innermost network failure."""
    innermost = _causes(exc)[-1]
    text = str(innermost).strip()
    name = type(innermost).__name__
    if not text or len(text) > 200:
        return name
    return f"{name}: {text}"


# tweepy logs every request's headers (a Bearer token among them) and requests-oauthlib/oauthlib
# log the signed Authorization header at DEBUG level: a daemon run with --debug would write
# credentials to its log.
_CHATTY_LOGGERS = ("tweepy.client", "requests_oauthlib", "oauthlib")


def _quiet_credential_loggers() -> None:
    """Keep those loggers at WARNING unless someone configured them on purpose."""
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def _make_session(timeout: float, base_url: str | None) -> requests.Session:
    """A requests session whose every request has a timeout and, with `base_url`, goes to
    that host instead of the one in the URL (tweepy hard-codes https://api.twitter.com)."""
    import requests
    from requests.adapters import HTTPAdapter

    base = base_url.rstrip("/") if base_url else None

    class XAdapter(HTTPAdapter):
        # A transport adapter sees every request (tweepy's, ours, redirects), so this is the
        # one place that can guarantee a timeout and the host rewrite. Default max_retries
        # (0) stays: urllib3 must never silently resend a POST.
        def send(
            self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
        ) -> requests.Response:
            if kwargs.get("timeout") is None and len(args) < 2:
                kwargs["timeout"] = (timeout, timeout)  # (connect, read)
            if base is not None and request.url:
                from urllib.parse import urlsplit

                parts = urlsplit(request.url)
                request = request.copy()
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                request.url = base + path
            return super().send(request, *args, **kwargs)

    session = requests.Session()
    adapter = XAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
