"""Mastodon.py's exceptions, sorted into TransientError / OutcomeUnknown / PermanentError.

The class for an HTTP status comes from the shared table (_http.error_class); what is
Mastodon's own is here: where Mastodon.py hides the real failure, the hints a person needs
(token scopes, a base_url that is not a Mastodon server), and 429s, whose reset time comes from
the answer's headers because Mastodon.py's exception carries none.

OutcomeUnknown only where the status itself may exist: the call `creates` it, the request may
have reached the server, and no answer came back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from postbot.platforms._http import describe_network_error, error_class, never_sent, retry_after
from postbot.platforms.base import OutcomeUnknown, PermanentError, PublishError, TransientError


@dataclass(frozen=True)
class Context:
    """What the adapter knows about the call that failed."""

    action: str  # "posting the status", for the message
    host: str
    timeout: float
    creates: bool = False
    # (status, headers) of the last answer on this thread, if there was one.
    last_response: tuple[int, Mapping[str, str]] | None = None
    client_reset: float | None = None  # Mastodon.py's idea of the rate-limit reset (epoch)


def translate(exc: Exception, ctx: Context) -> PublishError:
    """The PublishError for a Mastodon.py exception. Its message is not redacted yet."""
    from mastodon.errors import (
        MastodonAPIError,
        MastodonError,
        MastodonIllegalArgumentError,
        MastodonNetworkError,
        MastodonRatelimitError,
        MastodonVersionError,
    )

    action, host = ctx.action, ctx.host
    if isinstance(exc, MastodonVersionError) and isinstance(exc.__cause__, MastodonError):
        exc = exc.__cause__  # retrieve_mastodon_version wraps the real failure
    if isinstance(exc, MastodonNetworkError):
        # Mastodon.py raises it inside `except`, without `from`: the cause is the context.
        return _network(exc.__cause__ or exc.__context__ or exc, ctx)
    if isinstance(exc, MastodonRatelimitError):
        last = ctx.last_response
        if last is not None and last[0] != 429:
            # Mastodon.py could not read the rate-limit headers of an ordinary answer.
            cls = OutcomeUnknown if ctx.creates and last[0] < 300 else TransientError
            return cls(f"{action}: unreadable answer from {host}: {exc}")
        reset = retry_after(last[1] if last else None, ctx.client_reset)
        when = f"; retry after {reset.isoformat()}" if reset else ""
        return TransientError(
            f"{action}: rate limited by {host} (HTTP 429){when}",
            http_status=429,
            retry_after=reset,
        )
    if isinstance(exc, MastodonAPIError):
        status, message = _api_error_details(exc)
        if status is None:  # a 2xx answer that is not the JSON Mastodon sends
            cls = OutcomeUnknown if ctx.creates else TransientError
            return cls(f"{action}: unreadable answer from {host}: {exc}")
        return _for_status(status, message, ctx)
    if isinstance(exc, MastodonIllegalArgumentError | MastodonVersionError | OSError):
        # A file Mastodon.py cannot read, an unknown media type, no version from the server.
        return PermanentError(f"{action}: {exc}")
    return TransientError(f"{action}: {type(exc).__name__}: {exc}")


def _network(cause: BaseException, ctx: Context) -> PublishError:
    import requests

    action = ctx.action
    if isinstance(cause, requests.exceptions.InvalidHeader):
        # Ours are the token and the idempotency key; the library's message quotes the value.
        return PermanentError(
            f"{action}: the access token holds characters an HTTP header cannot carry"
            " (a line break or space inside the environment variable?)"
        )
    setup = (
        requests.exceptions.InvalidURL,
        requests.exceptions.InvalidSchema,
        requests.exceptions.MissingSchema,
    )
    if isinstance(cause, setup):  # a broken base_url: retrying will not help
        return PermanentError(f"{action}: cannot send a request to {ctx.host}: {cause}")
    said = describe_network_error(cause, ctx.host, ctx.timeout) or type(cause).__name__
    if ctx.creates and not never_sent(cause):
        return OutcomeUnknown(f"{action}: {said}, after sending: the status may or may not exist")
    return TransientError(f"{action}: cannot reach the server: {said}")


def _for_status(status: int, message: str, ctx: Context) -> PublishError:
    action, host = ctx.action, ctx.host
    said = f": {message}" if message else ""
    cls = error_class(status, creates=ctx.creates)
    reset = None
    if status in (401, 403):
        hint = (
            " (does the token have the scopes write:statuses, write:media, read:accounts"
            " and, for looking up posts after a crash, read:statuses?)"
            if status == 403
            else ""
        )
        text = f"{action}: access token rejected by {host} (HTTP {status}){said}{hint}"
    elif status == 429:  # only without ratelimit_method="throw"; kept for completeness
        text = f"{action}: rate limited by {host} (HTTP 429){said}"
        reset = retry_after(None, ctx.client_reset)
    elif cls.transient:
        text = f"{action}: {host} failed (HTTP {status}){said}"
    elif status == 404:
        text = (
            f"{action}: {host} answered HTTP 404{said} (is base_url the address of a"
            " Mastodon server?)"
        )
    else:  # 400, 422 (validation: too long, media not processed...), 413 (too large)...
        text = f"{action}: {host} refused it (HTTP {status}){said}"
    return cls(text, http_status=status, retry_after=reset)


def _api_error_details(exc: Exception) -> tuple[int | None, str]:
    """MastodonAPIError args: ("Mastodon API returned error", status, reason, error message)."""
    args = exc.args
    status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    reason = str(args[2]) if len(args) > 2 and args[2] else ""
    message = str(args[3]) if len(args) > 3 and args[3] else reason
    return status, message
