"""The atproto SDK's failures, read: what the PDS said, whether the session is the problem,
whether a record may have been written, and the PublishError each one means.

The class for an HTTP status comes from the shared table (_http.error_class); what is
Bluesky's own is here: XRPC error codes (ExpiredToken, AuthFactorTokenRequired ...), 429s whose
reset the SDK has already parsed, and the hints a person needs to mend a login.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from postbot.platforms._http import describe_network_error, error_class, never_sent
from postbot.platforms.base import PermanentError, PublishError, TransientError

# Errors that mean "this session is no good", not "this request is bad".
TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})


def error_parts(exc: Any) -> tuple[int, str | None, str | None]:
    """(HTTP status, XRPC error code, server message) of an SDK request error."""
    from atproto_client.models.common import XrpcError

    response = exc.response
    content = response.content
    if isinstance(content, XrpcError):
        return response.status_code, content.error, content.message
    if isinstance(content, dict):
        return response.status_code, content.get("error"), content.get("message")
    return response.status_code, None, None


def http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _answered(exc: BaseException) -> bool:
    from atproto_client.exceptions import RequestErrorBase

    return isinstance(exc, RequestErrorBase) and exc.response is not None


def is_session_failure(exc: BaseException) -> bool:
    """The server refused our session (expired, revoked, garbage): a new one may help."""
    from atproto_client.exceptions import LoginRequiredError

    if isinstance(exc, LoginRequiredError) or _is_token_decode_error(exc):
        return True
    if _answered(exc):
        status, code, _ = error_parts(exc)
        return status == 401 or (status in (400, 401) and code in TOKEN_ERRORS)
    return False


def _is_token_decode_error(exc: BaseException) -> bool:
    from atproto_server.exceptions import TokenDecodeError

    return isinstance(exc, TokenDecodeError)


def is_transport_error(exc: BaseException) -> bool:
    import httpx
    from atproto_client.exceptions import NetworkError

    return isinstance(exc, httpx.TransportError) or (
        isinstance(exc, NetworkError) and exc.response is None
    )


def _is_timeout(exc: BaseException) -> bool:
    import httpx
    from atproto_client.exceptions import InvokeTimeoutError

    return isinstance(exc, InvokeTimeoutError | httpx.TimeoutException) or isinstance(
        exc.__cause__, httpx.TimeoutException
    )


def may_have_written(exc: BaseException) -> bool:
    """Could the PDS have stored the record although we got no success answer?"""
    if _answered(exc):
        status = http_status(exc) or 0
        return status >= 500 or status == 409  # 500 is also the answer to a repeated rkey
    return is_transport_error(exc) and not never_sent(exc)


def describe(exc: BaseException, action: str, host: str, timeout: float) -> str:
    """`Bluesky createRecord: HTTP 400 InvalidRequest: …`, or the network failure in words.
    Not redacted yet."""
    prefix = f"Bluesky {action}"
    if _answered(exc):
        status, code, message = error_parts(exc)
        detail = ": ".join(p for p in (code, message) if p)
        return f"{prefix}: HTTP {status}" + (f" {detail}" if detail else "")
    said = describe_network_error(exc, host, timeout)
    if _is_timeout(exc):
        return f"{prefix}: {said or f'timed out: no answer within {timeout:g} s'}"
    cause = exc.__cause__ or exc
    return f"{prefix}: connection failed: {said or str(cause) or type(cause).__name__}"


def to_publish_error(
    exc: Exception, message: str, action: str, credential_vars: Mapping[str, str]
) -> Exception:
    """The PublishError for an SDK or transport failure described by `message` (anything
    else passes through unchanged)."""
    from atproto_client.exceptions import LoginRequiredError, ModelError, RateLimitExceededError

    if isinstance(exc, PublishError):
        return exc
    if _answered(exc):
        status, code, _ = error_parts(exc)
        if status == 429:
            retry_after = None
            if isinstance(exc, RateLimitExceededError):
                retry_after = exc.reset_at
                if retry_after is None and exc.retry_after is not None:
                    retry_after = datetime.now(UTC) + timedelta(seconds=exc.retry_after)
            return TransientError(message, http_status=429, retry_after=retry_after)
        if status in (401, 403) or code in TOKEN_ERRORS:
            return PermanentError(_auth_hint(message, code, credential_vars), http_status=status)
        return error_class(status)(message, http_status=status)  # 5xx, 409 / 400, 413, ...
    if isinstance(exc, LoginRequiredError) or _is_token_decode_error(exc):
        return PermanentError(f"Bluesky {action}: the session is unusable")
    if isinstance(exc, ModelError):
        return TransientError(f"Bluesky {action}: unexpected answer from the PDS")
    if is_transport_error(exc):
        return TransientError(message)
    return exc


def _auth_hint(message: str, code: str | None, variables: Mapping[str, str]) -> str:
    password = variables.get("app_password", "app_password")
    if code == "AuthFactorTokenRequired":
        return (
            f"{message} (the account asks for an email sign-in code: use an app password"
            f" in {password})"
        )
    if code == "AuthenticationRequired":
        handle = variables.get("handle", "handle")
        return f"{message} (check {handle} and the app password in {password})"
    return message
