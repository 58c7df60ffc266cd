"""What every adapter needs from HTTP, once: timeouts, the error table by status, whether a
failed request can have reached the server, network failures in words for people, and when a
rate limit ends.

Both stacks are covered: requests/urllib3 (under Mastodon.py and tweepy) and httpx (under
atproto). Nothing here imports a client library: an exception of a library can only exist once
that library is loaded, so its classes are looked up in `sys.modules`. Importing this module
costs nothing on `postbot enqueue`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from postbot.options import SECONDS
from postbot.platforms.base import OutcomeUnknown, PermanentError, PublishError, TransientError

DEFAULT_TIMEOUT = 30.0  # seconds per HTTP request (connect, and each read)
TIMEOUT = replace(SECONDS, default=DEFAULT_TIMEOUT)  # the `timeout` option every adapter takes


# -- the error table ------------------------------------------------------------------------
def error_class(status: int, *, creates: bool = False) -> type[PublishError]:
    """What an HTTP error answer means for a delivery.

    429, 408, 409, 425 and 5xx: try again later. 502 and 504 come from a proxy that may have
    passed the request on before giving up, so for a call that `creates` the post the outcome
    is unknown. 401 and 403 (token refused, not allowed), 400, 404, 413, 422 (content refused)
    and every other refusal: sending the same request again will be refused again.
    """
    if status in (502, 504) and creates:
        return OutcomeUnknown
    if status >= 500 or status in (408, 409, 425, 429):
        return TransientError
    return PermanentError


# -- what an exception wraps ----------------------------------------------------------------
def exception_chain(exc: BaseException) -> list[BaseException]:
    """`exc` and everything it wraps, outermost first: causes, contexts, urllib3's `.reason`
    and exceptions passed as arguments (requests nests them that way)."""
    seen: list[BaseException] = []
    pending: list[object] = [exc]
    while pending and len(seen) < 32:
        item = pending.pop(0)
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        try:
            reason = getattr(item, "reason", None)
        except Exception:  # a property of an odd exception: not worth failing over
            reason = None
        pending.extend((item.__cause__, item.__context__, reason, *item.args))
    return seen


def _classes(module: str, *names: str) -> tuple[type[BaseException], ...]:
    loaded = sys.modules.get(module)
    if loaded is None:
        return ()
    return tuple(getattr(loaded, name) for name in names if hasattr(loaded, name))


def _first(
    chain: list[BaseException], *kinds: tuple[type[BaseException], ...]
) -> BaseException | None:
    classes = tuple(cls for group in kinds for cls in group)
    if not classes:
        return None
    return next((e for e in chain if isinstance(e, classes)), None)


def _reached() -> tuple[type[BaseException], ...]:
    """Failures after the request left: the server may have processed it."""
    return (
        *_classes("urllib3.exceptions", "ReadTimeoutError", "ProtocolError"),
        *_classes("requests.exceptions", "ReadTimeout", "ChunkedEncodingError"),
        *_classes("httpx", "ReadTimeout", "WriteTimeout", "ReadError", "WriteError"),
        *_classes("httpx", "RemoteProtocolError"),
        *_classes("http.client", "RemoteDisconnected", "IncompleteRead"),
    )


def _not_connected() -> tuple[type[BaseException], ...]:
    """Failures before any request byte was sent: no connection (refused, no such host, no
    answer to the connect, the TLS certificate refused) or no free connection in the pool."""
    return (
        ConnectionRefusedError,
        *_classes("socket", "gaierror"),
        *_classes("ssl", "SSLCertVerificationError"),
        *_classes("urllib3.exceptions", "NewConnectionError", "ConnectTimeoutError"),
        *_classes("requests.exceptions", "ConnectTimeout", "ProxyError"),
        *_classes("httpx", "ConnectError", "ConnectTimeout", "PoolTimeout"),
    )


def never_sent(exc: BaseException) -> bool:
    """True only when the request certainly did not reach the server, so no post can exist.

    Anything else - a read timeout, a connection dropped before the answer, a broken answer, an
    error this does not know - may have been processed, and counts as possibly sent.
    """
    chain = exception_chain(exc)
    if _first(chain, _reached()) is not None:
        return False
    return _first(chain, _not_connected()) is not None


# -- network failures in words --------------------------------------------------------------
def describe_network_error(
    exc: BaseException, host: str | None = None, timeout: float | None = None
) -> str | None:
    """A failure that got no HTTP answer, as a person would say it (`connection refused by
    mastodon.social`, `no answer within 30 s from bsky.social`, `cannot resolve host …`),
    never a library's repr. None when `exc` is not a network failure."""
    chain = exception_chain(exc)
    where = host or "the server"
    within = f" within {timeout:g} s" if timeout else ""
    dns = (_classes("socket", "gaierror"), _classes("urllib3.exceptions", "NameResolutionError"))
    if _first(chain, *dns) is not None:
        return f"cannot resolve host {host}" if host else "cannot resolve the server's host name"
    if _first(chain, (ConnectionRefusedError,)) is not None:
        return f"connection refused by {where}"
    cert = _first(chain, _classes("ssl", "SSLCertVerificationError"))
    if cert is not None:
        detail = getattr(cert, "verify_message", None) or getattr(cert, "reason", None)
        return f"TLS certificate of {where} refused" + (f" ({detail})" if detail else "")
    refused_otherwise = _first(chain, _classes("urllib3.exceptions", "NewConnectionError"))
    if refused_otherwise is not None and _first(chain, (TimeoutError,)) is None:
        # urllib3 makes NewConnectionError a ConnectTimeoutError: not every one is a timeout.
        return f"cannot connect to {where} ({_reason(chain)})"
    connect_timeouts = (
        _classes("urllib3.exceptions", "ConnectTimeoutError"),
        _classes("requests.exceptions", "ConnectTimeout"),
        _classes("httpx", "ConnectTimeout"),
    )
    if _first(chain, *connect_timeouts) is not None:
        return f"no connection to {where}{within}"
    if _first(chain, _classes("httpx", "PoolTimeout")) is not None:
        return f"no free connection to {where}{within}"
    read_timeouts = (
        _classes("urllib3.exceptions", "ReadTimeoutError"),
        _classes("requests.exceptions", "ReadTimeout"),
        _classes("httpx", "ReadTimeout", "WriteTimeout"),
        _classes("atproto_client.exceptions", "InvokeTimeoutError"),
        (TimeoutError,),
    )
    if _first(chain, *read_timeouts) is not None:
        return f"timed out: no answer{within} from {where}"
    dropped = (
        (ConnectionResetError, ConnectionAbortedError, BrokenPipeError),
        _classes("http.client", "RemoteDisconnected", "IncompleteRead"),
        _classes("urllib3.exceptions", "ProtocolError"),
        _classes("requests.exceptions", "ChunkedEncodingError"),
        _classes("httpx", "RemoteProtocolError", "ReadError", "WriteError"),
    )
    if _first(chain, *dropped) is not None:
        return f"connection to {where} lost before the answer"
    tls = _first(chain, _classes("ssl", "SSLError"))
    if tls is not None:
        return f"TLS with {where} failed ({_short(tls)})"
    other = (
        (ConnectionError,),
        _classes("urllib3.exceptions", "HTTPError"),
        _classes("requests.exceptions", "ConnectionError"),
        _classes("httpx", "TransportError"),
    )
    if _first(chain, *other) is not None:
        return f"cannot connect to {where} ({_reason(chain)})"
    return None


def describe_failure(
    exc: BaseException, host: str | None = None, timeout: float | None = None
) -> str:
    """Any failure in one short line: a network failure in words, else its kind and message."""
    return describe_network_error(exc, host, timeout) or _short(exc)


def _reason(chain: list[BaseException]) -> str:
    """The innermost operating-system reason (`network is unreachable`), else the last link."""
    for exc in reversed(chain):
        if isinstance(exc, OSError) and exc.strerror:
            return exc.strerror[0].lower() + exc.strerror[1:]
    return _short(chain[-1])


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    if not text or len(text) > 200:
        return name
    return f"{name}: {text}"


def host_of(url: str) -> str:
    """`https://mastodon.social/` -> `mastodon.social` (with the port, if it has one)."""
    return urlsplit(url if "://" in url else "https://" + url).netloc or url


# -- rate limits ----------------------------------------------------------------------------
def retry_after(
    headers: Mapping[str, str] | None, fallback_epoch: float | None = None
) -> datetime | None:
    """When a rate limit ends, as an aware UTC datetime: X-RateLimit-Reset (ISO 8601 or epoch
    seconds), else Retry-After (seconds or an HTTP date), else `fallback_epoch`."""
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
        from email.utils import parsedate_to_datetime

        try:
            parsed = parsedate_to_datetime(value)  # Retry-After as an HTTP date
        except (TypeError, ValueError):
            return None
    return as_utc(parsed)


def as_utc(value: object) -> datetime | None:
    """A datetime (or ISO 8601 text) in UTC; naive ones are taken as UTC (postbot stores UTC)."""
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
