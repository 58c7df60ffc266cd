"""Mastodon, through Mastodon.py (imported on first network use, never at module level).

How it talks to the server, and why:
- One Mastodon.py client per platform object, built on first use, with its own requests
  session. A response hook on that session keeps the last answer's status and headers (per
  thread), because Mastodon.py's MastodonRatelimitError carries neither: that is how a 429
  becomes `retry_after` = the server's X-RateLimit-Reset, to the microsecond.
- `ratelimit_method="throw"`: Mastodon.py must never sleep inside a publish ("wait" sleeps up
  to 5 minutes); the daemon schedules the retry instead.
- `version_check_mode` stays "none" and no `mastodon_version` is passed: with a version but no
  check, Mastodon.py keeps version 1.0.0 internally and silently uploads to the old
  /api/v1/media. Without one it asks the server on the first upload but swallows a failure the
  same way, so before the first upload we ask ourselves (`retrieve_mastodon_version` with
  fail_hard) and turn a failure into an error.
- Media: /api/v2/media answers 202 while it processes; we poll /api/v1/media/:id for a bounded
  time (`media_timeout`, 60 s) instead of Mastodon.py's `synchronous=True`, which polls forever.
- Errors: Mastodon.py's exceptions are sorted into TransientError / OutcomeUnknown /
  PermanentError (see `_translate`). OutcomeUnknown only where the status itself may exist:
  the POST /api/v1/statuses request went out and no answer came back.
- Duplicates: every status is posted with the delivery's Idempotency-Key; Mastodon answers a
  repeat (same key, same account, within an hour) with the first status instead of a new one.
  After a crash, `lookup` finds the status among the account's recent ones.
"""

from __future__ import annotations

import html
import mimetypes
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

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
)

if TYPE_CHECKING:
    import requests
    from mastodon import Mastodon

T = TypeVar("T")

DEFAULT_URL_WEIGHT = 23  # Mastodon counts every URL as 23 characters, however long
MAX_MEDIA = 4
DEFAULT_TIMEOUT = 30.0  # seconds per HTTP request
DEFAULT_MEDIA_TIMEOUT = 60.0  # seconds to wait for uploaded media to finish processing
VISIBILITIES = ("public", "unlisted", "private", "direct")
USER_AGENT = "postbot (Mastodon.py)"
LOOKUP_PAGE_SIZE = 40  # the most Mastodon returns per page of an account's statuses
LOOKUP_MAX_PAGES = 5
# Our clock and the server's may disagree a little: a status may look this much older than
# the delivery it was posted for.
LOOKUP_CLOCK_SLACK = timedelta(minutes=5)

# "@user@example.social" is rendered (and counted) by Mastodon as "@user".
_REMOTE_MENTION = re.compile(r"(@[\w.]+)@[\w.-]+\.\w+")
_PARAGRAPH_BREAK = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


class AccountConfigError(ConfigError, PermanentError):
    """The account's configuration cannot work: no token variable, no base_url, a bad option.

    Both a ConfigError (the CLI prints it and exits 2) and a PermanentError (the daemon fails
    the delivery instead of retrying it forever).
    """


@dataclass(frozen=True)
class InstanceLimits:
    """What the server says about statuses (GET /api/v2/instance, configuration.statuses)."""

    max_characters: int = 500
    characters_reserved_per_url: int = DEFAULT_URL_WEIGHT
    max_media_attachments: int = MAX_MEDIA


class MastodonPlatform(Platform):
    name: ClassVar[str] = "mastodon"
    default_limit: ClassVar[int] = 500
    # Every status carries the delivery's Idempotency-Key: a re-send within Mastodon's hour
    # returns the first status. (Later than that only `lookup` prevents a second one.)
    safe_to_resend: ClassVar[bool] = True
    # The server keeps an idempotency key for about an hour; a later retry looks first.
    lookup_before_retry: ClassVar[bool] = True
    # 300 statuses per 3 hours per account (Mastodon's default rate limit).
    default_pace: ClassVar[str | None] = "300/3h"
    options: ClassVar[Mapping[str, Option]] = {
        "visibility": Option(str, "public", choices=VISIBILITIES),
        "timeout": replace(SECONDS, default=DEFAULT_TIMEOUT),
        "media_timeout": replace(SECONDS, default=DEFAULT_MEDIA_TIMEOUT),
    }

    def __init__(self, account: Account, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(account, environ)
        self._lock = threading.Lock()  # guards the attributes below (held briefly)
        # Held around first-time fetches (limits, version): concurrent workers wait for one
        # request instead of each sending its own.
        self._fetch_lock = threading.Lock()
        self._api: Mastodon | None = None
        self._session: requests.Session | None = None
        self._token: str | None = None  # kept only to scrub it out of any message
        self._limits: InstanceLimits | None = None
        self._version_checked = False
        self._account_id: str | None = None
        self._app_name: str | None = None
        self._app_name_known = False
        self._last = threading.local()  # .response: (status, headers) of the last answer

    # -- text (no network, no heavy imports) -------------------------------------------
    def count(self, text: str) -> int:
        from postbot.compose import count_with_url_weight

        return count_with_url_weight(text, DEFAULT_URL_WEIGHT)

    # limit() is Platform's: account.char_limit, else 500. It must stay offline (enqueue
    # calls it); publish() checks the text against the instance's own limit.

    # -- network ------------------------------------------------------------------------
    def publish(self, outgoing: Outgoing) -> Published:
        api = self._client()
        visibility = self._visibility()
        media_timeout = self._seconds("media_timeout", DEFAULT_MEDIA_TIMEOUT)
        media = tuple(outgoing.media)
        _check_media(media)
        limits = self.instance_limits()
        length = _count(outgoing.text, limits.characters_reserved_per_url)
        if length > limits.max_characters:
            raise PermanentError(
                f"text is {length} characters, instance limit is {limits.max_characters}"
            )
        media_ids = self._upload_media(api, media, media_timeout)
        status: Any = self._call(
            partial(
                api.status_post,
                outgoing.text,
                media_ids=media_ids or None,
                visibility=visibility,
                language=outgoing.language or None,
                # Stable for every retry of this delivery: Mastodon answers a repeat with the
                # status it already created instead of posting it twice.
                idempotency_key=outgoing.idempotency_key or None,
            ),
            "posting the status",
            ambiguous=True,
        )
        return Published(
            remote_id=str(status["id"]),
            url=status.get("url") or status.get("uri"),
            http_status=self._last_status() or 200,
            detail={
                "text": outgoing.text,
                "language": outgoing.language,
                "visibility": visibility,
                "media": [{"path": item.path, "alt": item.alt} for item in media],
            },
        )

    def check(self) -> str:
        api = self._client()
        me: Any = self._call(api.account_verify_credentials, "checking the access token")
        with self._lock:
            self._account_id = str(me["id"])
        return f"@{me['acct']}"

    def lookup(self, outgoing: Outgoing) -> Published | None:
        """Find the status a publish with an unknown outcome may have created.

        Looks through the account's most recent statuses (newest first, 40 a page) for one
        whose text - HTML stripped, white space collapsed - equals the outgoing text, with as
        many media attachments, posted by the same application as our token (when the server
        says), and not older than the delivery (`outgoing.created_at`, minus 5 minutes for
        clock differences). Pages back until statuses get older than the delivery (at most
        5 pages; then it raises OutcomeUnknown: cannot tell); without `created_at`, only the
        first page. None: not published.

        Re-posting with the same idempotency key is also safe for about an hour after the
        first try (Mastodon keeps the key that long), so a retry soon after a crash cannot
        duplicate even without this.
        """
        api = self._client()
        account_id = self._own_account_id(api)
        app_name = self._own_app_name(api)
        wanted = _comparable(outgoing.text)
        since = _aware(outgoing.created_at)
        if since is not None:
            since -= LOOKUP_CLOCK_SLACK
        pages = LOOKUP_MAX_PAGES if since is not None else 1
        max_id: Any = None
        for _ in range(pages):
            page: Any = self._call(
                partial(
                    api.account_statuses,
                    account_id,
                    limit=LOOKUP_PAGE_SIZE,
                    max_id=max_id,
                    exclude_reblogs=True,
                ),
                "looking for the post among the account's statuses",
            )
            for status in page:
                created = _aware(status.get("created_at"))
                if since is not None and created is not None and created < since:
                    return None  # newest first: everything from here on predates the delivery
                if _is_ours(status, wanted, len(outgoing.media), app_name):
                    return Published(
                        remote_id=str(status["id"]),
                        url=status.get("url") or status.get("uri"),
                        http_status=self._last_status() or 200,
                        detail={"found_by": "lookup"},
                    )
            if len(page) < LOOKUP_PAGE_SIZE:
                return None  # that was the account's oldest status
            max_id = page[-1]["id"]
        if since is None:
            return None
        raise OutcomeUnknown(
            f"looked through the {pages * LOOKUP_PAGE_SIZE} most recent statuses of the"
            " account without getting back to the delivery's time: cannot tell whether the"
            " post exists"
        )

    def instance_limits(self) -> InstanceLimits:
        """The server's status limits, fetched once per platform object.

        Falls back to /api/v1/instance before Mastodon 4.0, and to Mastodon's defaults when the
        server will not say (a refusal, an odd server); a network failure is raised."""
        with self._lock:
            if self._limits is not None:
                return self._limits
        with self._fetch_lock:
            return self._fetch_limits()

    def _fetch_limits(self) -> InstanceLimits:
        with self._lock:
            if self._limits is not None:  # another worker fetched them meanwhile
                return self._limits
        from mastodon.errors import MastodonError

        api = self._client()
        info: Any = None
        for fetch in (api.instance_v2, api.instance_v1):
            self._last.response = None
            try:
                info = fetch()
                break
            except MastodonError as exc:
                error = self._translate(exc, "reading the instance limits", ambiguous=False)
                if error.transient:
                    raise error from None
        if info is None:
            return InstanceLimits()  # not cached: the next publish asks again
        limits = _limits_from(info)
        with self._lock:
            self._limits = limits
        return limits

    def close(self) -> None:
        with self._lock:
            session, self._session, self._api = self._session, None, None
            self._version_checked = False
        if session is not None:
            session.close()

    # -- the client -----------------------------------------------------------------------
    def _client(self) -> Mastodon:
        with self._lock:
            if self._api is None:
                base_url = self._base_url()
                timeout = self._seconds("timeout", DEFAULT_TIMEOUT)
                token = self._read_token()
                import requests
                from mastodon import Mastodon

                session = requests.Session()
                session.hooks["response"].append(self._remember_response)
                self._api = Mastodon(
                    access_token=token,
                    api_base_url=base_url,
                    request_timeout=timeout,
                    ratelimit_method="throw",
                    session=session,
                    user_agent=USER_AGENT,
                )
                self._session = session
            return self._api

    def _read_token(self) -> str:
        account = self.account
        if "access_token" not in account.credential_vars:
            raise AccountConfigError(
                f"account '{account.name}': credentials.access_token is not set (name the"
                " environment variable that holds the token: credentials = { access_token ="
                ' "MASTODON_ACCESS_TOKEN" })'
            )
        try:
            token = account.credentials(self.environ)["access_token"]
        except ConfigError as exc:
            raise AccountConfigError(str(exc)) from None
        # A token never contains white space; a stray "\r" from a .env edited on Windows does.
        token = token.strip()
        if not token:
            raise AccountConfigError(
                f"account '{account.name}': environment variable"
                f" {account.credential_vars['access_token']} (access_token) is blank"
            )
        self._token = token
        return token

    def _base_url(self) -> str:
        url = (self.account.base_url or "").strip().rstrip("/")
        if not url:
            raise AccountConfigError(
                f"account '{self.account.name}': base_url is missing (the address of your"
                ' Mastodon server, e.g. base_url = "https://mastodon.social")'
            )
        if "://" not in url:
            url = "https://" + url  # as Mastodon.py would; "mastodon.social" is common
        return url

    def _seconds(self, key: str, default: float) -> float:
        try:
            return self.seconds_option(key, default)
        except ConfigError as exc:  # also permanent: a delivery fails at once, no retries
            raise AccountConfigError(str(exc)) from None

    def _visibility(self) -> str:
        value = self.account.options.get("visibility", "public")
        if value not in VISIBILITIES:
            raise AccountConfigError(
                f"account '{self.account.name}': visibility must be one of"
                f" {', '.join(VISIBILITIES)} (got {value!r})"
            )
        return str(value)

    def _host(self) -> str:
        return urlsplit(self._base_url()).netloc or self._base_url()

    def _remember_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.response = (response.status_code, response.headers)

    def _last_response(self) -> tuple[int, Mapping[str, str]] | None:
        last: tuple[int, Mapping[str, str]] | None = getattr(self._last, "response", None)
        return last

    def _last_status(self) -> int | None:
        last = self._last_response()
        return last[0] if last else None

    def _own_account_id(self, api: Mastodon) -> str:
        with self._lock:
            if self._account_id is not None:
                return self._account_id
        me: Any = self._call(api.account_verify_credentials, "checking the access token")
        with self._lock:
            self._account_id = str(me["id"])
            return self._account_id

    def _own_app_name(self, api: Mastodon) -> str | None:
        """The name of the application our token belongs to; None if the server won't say."""
        with self._lock:
            if self._app_name_known:
                return self._app_name
        try:
            app: Any = self._call(api.app_verify_credentials, "asking which application we are")
            name = str(app.get("name") or "") or None
        except PermanentError:
            name = None  # then lookup matches on text and time alone
        with self._lock:
            self._app_name, self._app_name_known = name, True
        return name

    # -- media ----------------------------------------------------------------------------
    def _upload_media(
        self, api: Mastodon, media: tuple[MediaItem, ...], media_timeout: float
    ) -> list[str]:
        if not media:
            return []
        self._ensure_version(api)
        uploaded: list[tuple[str, Any]] = []
        for index, item in enumerate(media, 1):
            action = f"uploading media {index} of {len(media)} ({Path(item.path).name})"
            uploaded.append((action, self._upload(api, item, action)))
        # Uploaded first, waited for after: the server processes them side by side, and the
        # whole wait is bounded by one deadline.
        deadline = time.monotonic() + media_timeout
        return [
            str(self._wait_processed(api, attachment, action, deadline, media_timeout)["id"])
            for action, attachment in uploaded
        ]

    def _ensure_version(self, api: Mastodon) -> None:
        """Make Mastodon.py learn the server version now, so media go to /api/v2/media."""
        with self._lock:
            if self._version_checked:
                return
        with self._fetch_lock:
            with self._lock:
                if self._version_checked:
                    return
            self._call(
                partial(api.retrieve_mastodon_version, fail_hard=True),
                "asking the server's version (it decides the media upload endpoint)",
            )
            with self._lock:
                self._version_checked = True

    def _upload(self, api: Mastodon, item: MediaItem, action: str) -> Any:
        path = Path(item.path)
        try:
            # Our own file handle, closed after the upload (Mastodon.py leaves its own open).
            with path.open("rb") as handle:
                return self._call(
                    partial(
                        api.media_post,
                        handle,
                        mime_type=_mime_type(path),
                        description=item.alt or None,
                    ),
                    action,
                )
        except OSError as exc:
            raise PermanentError(
                f"{action}: cannot read {item.path}: {exc.strerror or exc}"
            ) from None

    def _wait_processed(
        self, api: Mastodon, attachment: Any, action: str, deadline: float, media_timeout: float
    ) -> Any:
        media_id = attachment["id"]
        delay = 0.25
        while attachment.get("url") is None:  # url stays null until processing is done
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransientError(
                    f"{action}: {self._host()} was still processing it after"
                    f" {media_timeout:g} s (media_timeout)"
                )
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)
            attachment = self._call(partial(api.media, media_id), f"{action}, waiting for it")
        return attachment

    # -- errors ---------------------------------------------------------------------------
    def _call(self, fn: Callable[[], T], action: str, *, ambiguous: bool = False) -> T:
        """Run one Mastodon.py call; its exceptions become PublishErrors (chain dropped, so no
        traceback carries the Authorization header). `ambiguous`: the call creates the status,
        so a lost answer means the status may exist."""
        from mastodon.errors import MastodonError

        self._last.response = None
        try:
            return fn()
        except MastodonError as exc:
            raise self._translate(exc, action, ambiguous=ambiguous) from None

    def _translate(self, exc: Exception, action: str, *, ambiguous: bool) -> PublishError:
        from mastodon.errors import (
            MastodonAPIError,
            MastodonError,
            MastodonIllegalArgumentError,
            MastodonNetworkError,
            MastodonRatelimitError,
            MastodonVersionError,
        )

        host = self._host()
        if isinstance(exc, MastodonVersionError) and isinstance(exc.__cause__, MastodonError):
            exc = exc.__cause__  # retrieve_mastodon_version wraps the real failure
        if isinstance(exc, MastodonNetworkError):
            # Mastodon.py raises it inside `except`, without `from`: the cause is the context.
            cause = exc.__cause__ or exc.__context__
            detail = str(cause) if cause is not None else str(exc)
            if _is_bad_header(cause):
                return self._error(
                    PermanentError,
                    f"{action}: the access token holds characters an HTTP header cannot carry"
                    " (a line break or space inside the environment variable?)",
                )
            if _is_request_setup_error(cause):
                return self._error(
                    PermanentError, f"{action}: cannot send a request to {host}: {detail}"
                )
            if ambiguous and _may_have_been_sent(cause):
                return self._error(
                    OutcomeUnknown,
                    f"{action}: no answer from {host} after sending, the status may or may"
                    f" not exist: {detail}",
                )
            return self._error(TransientError, f"{action}: cannot reach {host}: {detail}")
        if isinstance(exc, MastodonRatelimitError):
            last = self._last_response()
            if last is not None and last[0] != 429:
                # Mastodon.py could not read the rate-limit headers of an ordinary answer.
                cls = OutcomeUnknown if ambiguous and last[0] < 300 else TransientError
                return self._error(cls, f"{action}: unreadable answer from {host}: {exc}")
            retry_after = _reset_time(last[1] if last else None, self._client_reset())
            when = f"; retry after {retry_after.isoformat()}" if retry_after else ""
            return self._error(
                TransientError,
                f"{action}: rate limited by {host} (HTTP 429){when}",
                http_status=429,
                retry_after=retry_after,
            )
        if isinstance(exc, MastodonAPIError):
            status, message = _api_error_details(exc)
            if status is None:  # a 2xx answer that is not the JSON Mastodon sends
                cls = OutcomeUnknown if ambiguous else TransientError
                return self._error(cls, f"{action}: unreadable answer from {host}: {exc}")
            return self._for_status(status, message, action, host, ambiguous=ambiguous)
        if isinstance(exc, MastodonIllegalArgumentError | MastodonVersionError | OSError):
            # A file Mastodon.py cannot read, an unknown media type, no version from the server.
            return self._error(PermanentError, f"{action}: {exc}")
        return self._error(TransientError, f"{action}: {type(exc).__name__}: {exc}")

    def _for_status(
        self, status: int, message: str, action: str, host: str, *, ambiguous: bool
    ) -> PublishError:
        said = f": {message}" if message else ""
        if status in (401, 403):
            hint = (
                " (does the token have the scopes write:statuses, write:media, read:accounts"
                " and, for looking up posts after a crash, read:statuses?)"
                if status == 403
                else ""
            )
            return self._error(
                PermanentError,
                f"{action}: access token rejected by {host} (HTTP {status}){said}{hint}",
                http_status=status,
            )
        if status == 429:  # only without "throw"; kept for completeness
            return self._error(
                TransientError,
                f"{action}: rate limited by {host} (HTTP 429){said}",
                http_status=429,
                retry_after=_reset_time(None, self._client_reset()),
            )
        if status >= 500 or status in (408, 409, 425):
            # 502/504 come from a proxy that may have passed the status on before giving up.
            cls = OutcomeUnknown if ambiguous and status in (502, 504) else TransientError
            return self._error(
                cls, f"{action}: {host} failed (HTTP {status}){said}", http_status=status
            )
        if status == 404:
            return self._error(
                PermanentError,
                f"{action}: {host} answered HTTP 404{said} (is base_url the address of a"
                " Mastodon server?)",
                http_status=404,
            )
        # 400, 422 (validation: too long, media not processed...), 413 (file too large)...
        return self._error(
            PermanentError, f"{action}: {host} refused it (HTTP {status}){said}", http_status=status
        )

    def _client_reset(self) -> float | None:
        api = self._api
        reset = getattr(api, "ratelimit_reset", None) if api is not None else None
        return float(reset) if isinstance(reset, int | float) else None

    def _error(
        self,
        cls: type[PublishError],
        message: str,
        *,
        http_status: int | None = None,
        retry_after: datetime | None = None,
    ) -> PublishError:
        token = self._token
        if token:
            # Also as repr() shows it: messages of requests quote header values that way.
            for form in {token, repr(token)[1:-1]}:
                message = message.replace(form, "[access token]")
        return cls(message, http_status=http_status, retry_after=retry_after)


# -- helpers ------------------------------------------------------------------------------
def _count(text: str, url_weight: int) -> int:
    from postbot.compose import count_with_url_weight

    return count_with_url_weight(text, url_weight)


def _check_media(media: tuple[MediaItem, ...]) -> None:
    """Offline checks before anything is uploaded: a partial upload helps nobody."""
    if len(media) > MAX_MEDIA:
        raise PermanentError(
            f"{len(media)} media attachments: Mastodon allows at most {MAX_MEDIA} per post"
        )
    for item in media:
        path = Path(item.path)
        if not path.is_file():
            raise PermanentError(f"media file not found: {item.path}")
        if _mime_type(path) is None:
            raise PermanentError(
                f"cannot tell the type of media file {item.path} from its name"
                " (use .png, .jpg, .gif, .webp, .mp4 ...)"
            )


def _mime_type(path: Path) -> str | None:
    return mimetypes.guess_type(path.name)[0]


def _limits_from(info: Any) -> InstanceLimits:
    configuration = info.get("configuration") if hasattr(info, "get") else None
    statuses = (configuration or {}).get("statuses") or {}
    defaults = InstanceLimits()

    def positive(key: str, default: int) -> int:
        value = statuses.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return default

    return InstanceLimits(
        max_characters=positive("max_characters", defaults.max_characters),
        characters_reserved_per_url=positive(
            "characters_reserved_per_url", defaults.characters_reserved_per_url
        ),
        max_media_attachments=positive("max_media_attachments", defaults.max_media_attachments),
    )


def _api_error_details(exc: Exception) -> tuple[int | None, str]:
    """MastodonAPIError args: ("Mastodon API returned error", status, reason, error message)."""
    args = exc.args
    status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    reason = str(args[2]) if len(args) > 2 and args[2] else ""
    message = str(args[3]) if len(args) > 3 and args[3] else reason
    return status, message


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """exc and everything it wraps (cause, context, urllib3's .reason, exceptions in args)."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None))
        pending.extend(e for e in (*linked, *current.args) if isinstance(e, BaseException))


def _is_bad_header(cause: BaseException | None) -> bool:
    """requests refused a header value - ours are the token and the idempotency key. Its
    message quotes the value, so it is never shown."""
    import requests

    return isinstance(cause, requests.exceptions.InvalidHeader)


def _is_request_setup_error(cause: BaseException | None) -> bool:
    """The request could not even be built (a broken base_url): retrying will not help."""
    import requests

    return isinstance(
        cause,
        requests.exceptions.InvalidURL
        | requests.exceptions.InvalidSchema
        | requests.exceptions.MissingSchema,
    )


def _may_have_been_sent(cause: BaseException | None) -> bool:
    """False only when the request certainly never reached the server: no connection could be
    made (refused, DNS, connect timeout, certificate refused). A read timeout, a connection
    dropped before the answer or a broken answer: it may have been processed."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if cause is None:
        return True
    if isinstance(cause, requests.exceptions.ConnectTimeout | requests.exceptions.ProxyError):
        return False
    if isinstance(cause, requests.exceptions.SSLError) and "certificate" in str(cause).lower():
        return False
    return not any(
        isinstance(e, ConnectTimeoutError | NewConnectionError) for e in _exception_chain(cause)
    )


def _reset_time(headers: Mapping[str, str] | None, fallback_epoch: float | None) -> datetime | None:
    """When a rate limit ends, as an aware UTC datetime: X-RateLimit-Reset (Mastodon: ISO 8601;
    GoToSocial: epoch seconds), else Retry-After, else what Mastodon.py worked out."""
    if headers is not None:
        for name in ("X-RateLimit-Reset", "Retry-After"):
            value = headers.get(name)
            if value:
                parsed = _parse_reset(value, relative=name == "Retry-After")
                if parsed is not None:
                    return parsed
    if fallback_epoch is not None:
        return datetime.fromtimestamp(fallback_epoch, UTC)
    return None


def _parse_reset(value: str, *, relative: bool) -> datetime | None:
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        number = float(value)
        if relative or number < 1e9:  # seconds from now
            return datetime.now(UTC) + timedelta(seconds=number)
        return datetime.fromtimestamp(number, UTC)  # epoch seconds
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)  # Retry-After as an HTTP date
        except (TypeError, ValueError):
            return None
    return _aware(parsed)


def _aware(value: object) -> datetime | None:
    """A datetime in UTC; naive ones are taken as UTC (postbot stores UTC)."""
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _html_to_text(content: str) -> str:
    """Mastodon's rendered HTML back to its text: paragraphs, line breaks, tags, entities.
    Links keep their full URL (the hidden "https://" and tail are spans inside the link)."""
    text = _PARAGRAPH_BREAK.sub("\n\n", content)
    text = _LINE_BREAK.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


def _comparable(text: str) -> str:
    text = unicodedata.normalize("NFC", _REMOTE_MENTION.sub(r"\1", text))
    return " ".join(text.split())


def _is_ours(status: Any, wanted: str, media_count: int, app_name: str | None) -> bool:
    if status.get("reblog"):
        return False
    if _comparable(_html_to_text(status.get("content") or "")) != wanted:
        return False
    if len(status.get("media_attachments") or ()) != media_count:
        return False
    application = status.get("application")
    posted_by = application.get("name") if application else None
    # Only where both are known: a server may hide the application.
    return not (app_name and posted_by and posted_by != app_name)
