"""How X's HTTP reads: one requests session with a timeout on every request (and the
base_url rewrite), the errors tweepy raises for each status (our own calls raise the same, so
one mapping serves both), and that mapping into TransientError / OutcomeUnknown /
PermanentError by the shared status table.

tweepy and requests are imported inside the functions: `postbot enqueue` imports x.py (to
count text), which imports this module.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from postbot.platforms._http import describe_network_error, error_class, never_sent
from postbot.platforms.base import OutcomeUnknown, PermanentError, PublishError, TransientError

if TYPE_CHECKING:
    import requests


def raise_for_status(response: requests.Response) -> None:
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


def http_error(what: str, exc: Any, creates: bool) -> PublishError:
    """Map a tweepy HTTPException by the shared status table; X's duplicate 403 says so."""
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
    if status == 403 and "duplicate" in said.lower():
        # X refuses a text identical to one of the account's recent posts. Also what a resend
        # after an unnoticed success runs into, so it says so.
        return PermanentError(
            f"duplicate content: X refused the post as identical to an earlier one"
            f" ({status} {reason}: {said})",
            http_status=status,
        )
    cls = error_class(status, creates=creates)
    if cls is OutcomeUnknown:
        message += "; the post may or may not have been published (a proxy gave up on it)"
    return cls(message, http_status=status)


def network_error(
    what: str, exc: Exception, creates: bool, host: str, timeout: float
) -> PublishError:
    """A request that got no HTTP answer. Unknown outcome only if it may have reached X."""
    import requests

    if isinstance(exc, requests.JSONDecodeError):
        text = f"X {what}: the answer was not valid JSON"
        # A 2xx with an unreadable body: a create probably happened.
        return OutcomeUnknown(text) if creates else TransientError(text)
    said = describe_network_error(exc, host, timeout) or type(exc).__name__
    if never_sent(exc):
        return TransientError(f"X {what}: cannot connect to X: {said}")
    text = f"X {what}: {said}"
    if creates:
        return OutcomeUnknown(
            f"{text}; the post may or may not have been published"
            " (X has no idempotency key, so it is not resent automatically)"
        )
    return TransientError(text)


# tweepy logs every request's headers (a Bearer token among them) and requests-oauthlib/oauthlib
# log the signed Authorization header at DEBUG level: a daemon run with --debug would write
# credentials to its log.
_CHATTY_LOGGERS = ("tweepy.client", "requests_oauthlib", "oauthlib")


def quiet_credential_loggers() -> None:
    """Keep those loggers at WARNING unless someone configured them on purpose."""
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def make_session(timeout: float, base_url: str | None) -> requests.Session:
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
