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
- Limits: Mastodon's documented defaults are checked offline (enqueue, and first thing at
  publish); then the server's own (`/api/v2/instance`, fetched once; instance.py).
- Media: uploaded, then waited for within `media_timeout` (media.py).
- Errors: sorted into TransientError / OutcomeUnknown / PermanentError (errors.py).
- Duplicates: every status is posted with the delivery's Idempotency-Key (a thread's part with
  one of its own); Mastodon answers a repeat (same key, same account, within an hour) with the
  first status instead of a new one. A thread's part replies to the one before it
  (`in_reply_to_id`).
  After a crash, `lookup` finds the status among the account's recent ones
  (lookup.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from postbot.domain import Account
from postbot.errors import ConfigError
from postbot.options import SECONDS, Option
from postbot.platforms._http import TIMEOUT, host_of
from postbot.platforms.base import (
    OutcomeUnknown,
    Outgoing,
    PermanentError,
    Platform,
    Published,
    PublishError,
)
from postbot.platforms.limits import TextLimit
from postbot.platforms.mastodon.instance import DEFAULTS, URL_WEIGHT, InstanceLimits, limits_from
from postbot.platforms.mastodon.scheduled import (
    ScheduledStatuses,
    check_option,
    lead_option,
    server_side_of,
)
from postbot.platforms.media import judge
from postbot.redact import Redactor

if TYPE_CHECKING:
    import requests
    from mastodon import Mastodon

T = TypeVar("T")

DEFAULT_MEDIA_TIMEOUT = 60.0  # seconds to wait for uploaded media to finish processing
VISIBILITIES = ("public", "unlisted", "private", "direct")
USER_AGENT = "postbot (Mastodon.py)"


class AccountConfigError(ConfigError, PermanentError):
    """The account's configuration cannot work: no token variable, no base_url, a bad option.

    Both a ConfigError (the CLI prints it and exits 2) and a PermanentError (the daemon fails
    the delivery instead of retrying it forever).
    """


class MastodonPlatform(ScheduledStatuses, Platform):
    name: ClassVar[str] = "mastodon"
    default_limit: ClassVar[int] = DEFAULTS.max_characters
    # Every status carries the delivery's Idempotency-Key: a re-send within Mastodon's hour
    # returns the first status. (Later than that only `lookup` prevents a second one.)
    safe_to_resend: ClassVar[bool] = True
    # The server keeps an idempotency key for about an hour; a later retry looks first.
    lookup_before_retry: ClassVar[bool] = True
    # 300 statuses per 3 hours per account (Mastodon's default rate limit).
    default_pace: ClassVar[str | None] = "300/3h"
    options: ClassVar[Mapping[str, Option]] = {
        "visibility": Option(str, "public", choices=VISIBILITIES),
        "timeout": TIMEOUT,
        "media_timeout": replace(SECONDS, default=DEFAULT_MEDIA_TIMEOUT),
        # Hand each post to the instance's scheduled statuses once it is due within the lead
        # (scheduled.py); how often postbot asks the instance what became of them.
        "server_side": Option(bool, False),
        "server_side_lead": Option(str, "1h", parse=lead_option, help='a duration, e.g. "1h"'),
        "server_side_check": Option(str, "1m", parse=check_option, help='a duration, e.g. "1m"'),
    }
    # Mastodon's defaults; the server's own limits are checked again at publish.
    media = DEFAULTS.media_policy()

    def __init__(self, account: Account, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(account, environ)
        self.server_side = server_side_of(account)  # ConfigError for a lead without it
        self._lock = threading.Lock()  # guards the attributes below (held briefly)
        # Held around first-time fetches (limits, version): concurrent workers wait for one
        # request instead of each sending its own.
        self._fetch_lock = threading.Lock()
        self._api: Mastodon | None = None
        self._session: requests.Session | None = None
        self._redact = Redactor()  # learns the token when it is read
        self._limits: InstanceLimits | None = None
        self._version_checked = False
        self._account_id: str | None = None
        self._app_name: str | None = None
        self._app_name_known = False
        self._last = threading.local()  # .response: (status, headers) of the last answer

    # -- text (no network, no heavy imports) -------------------------------------------
    def count(self, text: str) -> int:
        from postbot.compose import count_with_url_weight

        return count_with_url_weight(text, URL_WEIGHT)

    def notes(self, parts: int) -> tuple[str, ...]:
        if self.server_side is not None and parts > 1:
            return (
                "a thread is published by postbot itself, not handed to the server: scheduled"
                " statuses cannot reply to one another",
            )
        return ()

    def text_limits(self, instance: InstanceLimits | None = None) -> tuple[TextLimit, ...]:
        """Offline (enqueue): the account's char_limit, else Mastodon's 500, URLs 23 each.
        With the `instance`'s own limits, what publish checks before sending."""
        if instance is None:
            return super().text_limits()
        from postbot.compose import count_with_url_weight

        weight = instance.characters_reserved_per_url
        count = partial(count_with_url_weight, url_weight=weight)
        return (TextLimit("characters", instance.max_characters, count),)

    # -- network ------------------------------------------------------------------------
    def publish(self, outgoing: Outgoing) -> Published:
        status, detail = self._post_status(outgoing)
        return self._published(status, detail)

    def _post_status(
        self, outgoing: Outgoing, scheduled_at: datetime | None = None
    ) -> tuple[Any, dict[str, object]]:
        """POST /api/v1/statuses (with `scheduled_at`: a scheduled status); the entity the
        server answered, and what was sent."""
        api = self._client()
        visibility = self._visibility()
        media_timeout = self._seconds("media_timeout", DEFAULT_MEDIA_TIMEOUT)
        media = tuple(outgoing.media)
        images = self.checked_media(media)  # offline first: a partial upload helps nobody
        limits = self.instance_limits()
        self.refuse_overrun(outgoing.text, self.text_limits(limits), limit_is="instance limit is")
        refusals = judge(limits.media_policy(), images, [item.alt for item in media]).refusals
        if refusals:
            said = "; ".join(map(str, refusals))
            raise PermanentError(f"media refused by the server's limits: {said}")
        media_ids: list[str] = []
        if media:
            from postbot.platforms.mastodon.media import upload_all

            self._ensure_version(api)
            media_ids = upload_all(
                api, self._call, media, images, host=self._host(), media_timeout=media_timeout
            )
        # A thread's part replies to the part before it.
        reply_to = outgoing.reply_to.parent_id if outgoing.reply_to is not None else None
        status: Any = self._call(
            partial(
                api.status_post,
                outgoing.text,
                in_reply_to_id=reply_to,
                media_ids=media_ids or None,
                visibility=visibility,
                language=outgoing.language or None,
                # Stable for every retry of this delivery: Mastodon answers a repeat with the
                # status it already created instead of posting it twice.
                idempotency_key=outgoing.idempotency_key or None,
                scheduled_at=scheduled_at,
            ),
            "posting the status" if scheduled_at is None else "scheduling the status",
            creates=True,
        )
        detail: dict[str, object] = {
            "text": outgoing.text,
            "language": outgoing.language,
            "visibility": visibility,
            "media": [{"path": item.path, "alt": item.alt} for item in media],
            **({"in_reply_to_id": reply_to} if reply_to is not None else {}),
        }
        return status, detail

    def _published(self, status: Any, detail: dict[str, object]) -> Published:
        return Published(
            remote_id=str(status["id"]),
            url=status.get("url") or status.get("uri"),
            http_status=self._last_status() or 200,
            detail=detail,
        )

    def check(self) -> str:
        api = self._client()
        me: Any = self._call(api.account_verify_credentials, "checking the access token")
        with self._lock:
            self._account_id = str(me["id"])
        return f"@{me['acct']}"

    def lookup(self, outgoing: Outgoing) -> Published | None:
        """Find the status a publish with an unknown outcome may have created (see
        mastodon_lookup.find_status). None: not published. OutcomeUnknown: cannot tell.

        Re-posting with the same idempotency key is also safe for about an hour after the
        first try (Mastodon keeps the key that long), so a retry soon after a crash cannot
        duplicate even without this.
        """
        from postbot.platforms.mastodon.lookup import PAGE_SIZE, CannotTell, find_status

        api = self._client()
        account_id = self._own_account_id(api)

        def page(max_id: Any) -> Any:
            return self._call(
                partial(
                    api.account_statuses,
                    account_id,
                    limit=PAGE_SIZE,
                    max_id=max_id,
                    exclude_reblogs=True,
                ),
                "looking for the post among the account's statuses",
            )

        try:
            status = find_status(
                page,
                outgoing.text,
                len(outgoing.media),
                self._own_app_name(api),
                outgoing.created_at,
            )
        except CannotTell as exc:
            raise OutcomeUnknown(str(exc)) from None
        if status is None:
            return None
        return Published(
            remote_id=str(status["id"]),
            url=status.get("url") or status.get("uri"),
            http_status=self._last_status() or 200,
            detail={"found_by": "lookup"},
        )

    def instance_limits(self) -> InstanceLimits:
        """The server's status and media limits, fetched once per platform object.

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
                error = self._translate(exc, "reading the instance limits", creates=False)
                if error.transient:
                    raise error from None
        if info is None:
            return DEFAULTS  # not cached: the next publish asks again
        limits = limits_from(info)
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
                timeout = self._seconds("timeout", TIMEOUT.default)
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
        self._redact = self._redact.with_secrets(token)
        token = token.strip()
        if not token:
            raise AccountConfigError(
                f"account '{account.name}': environment variable"
                f" {account.credential_vars['access_token']} (access_token) is blank"
            )
        self._redact = self._redact.with_secrets(token)
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
        return host_of(self._base_url())

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

    # -- errors ---------------------------------------------------------------------------
    def _call(self, fn: Callable[[], T], action: str, *, creates: bool = False) -> T:
        """Run one Mastodon.py call; its exceptions become PublishErrors (chain dropped, so no
        traceback carries the Authorization header). `creates`: the call creates the status,
        so a lost answer means the status may exist."""
        from mastodon.errors import MastodonError

        self._last.response = None
        try:
            return fn()
        except MastodonError as exc:
            raise self._translate(exc, action, creates=creates) from None

    def _translate(self, exc: Exception, action: str, *, creates: bool) -> PublishError:
        from postbot.platforms.mastodon.errors import Context, translate

        context = Context(
            action,
            self._host(),
            self._seconds("timeout", TIMEOUT.default),
            creates,
            self._last_response(),
            self._client_reset(),
        )
        return translate(exc, context).redacted(self._redact)

    def _client_reset(self) -> float | None:
        api = self._api
        reset = getattr(api, "ratelimit_reset", None) if api is not None else None
        return float(reset) if isinstance(reset, int | float) else None
