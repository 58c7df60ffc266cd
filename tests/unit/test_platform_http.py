"""postbot.platforms._http: the plumbing every adapter shares.

The classification runs over real exception objects, raised by real requests and httpx calls
(the stacks under Mastodon.py, tweepy and atproto) against 127.0.0.1: a closed port, a server
that reads the request and hangs up, one that resets the connection, and one that never answers.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import requests
import urllib3

from postbot.platforms._http import (
    DEFAULT_TIMEOUT,
    TIMEOUT,
    as_utc,
    describe_failure,
    describe_network_error,
    error_class,
    exception_chain,
    host_of,
    never_sent,
    retry_after,
)
from postbot.platforms.base import OutcomeUnknown, PermanentError, TransientError

pytestmark = pytest.mark.timeout(30)

TIMEOUT_S = 0.3


# -- the error table --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, PermanentError), (401, PermanentError), (403, PermanentError),
        (404, PermanentError), (413, PermanentError), (422, PermanentError),
        (408, TransientError), (409, TransientError), (425, TransientError),
        (429, TransientError), (500, TransientError), (502, TransientError),
        (503, TransientError), (504, TransientError),
    ],
)  # fmt: skip
def test_error_class_by_status(status: int, expected: type) -> None:
    assert error_class(status) is expected


@pytest.mark.parametrize("status", [502, 504])
def test_a_proxy_that_gave_up_on_a_create_leaves_the_outcome_unknown(status: int) -> None:
    assert error_class(status, creates=True) is OutcomeUnknown
    assert error_class(status, creates=False) is TransientError


@pytest.mark.parametrize("status", [500, 503, 429, 400, 401])
def test_other_statuses_do_not_depend_on_creating(status: int) -> None:
    assert error_class(status, creates=True) is error_class(status, creates=False)


def test_one_timeout_for_every_adapter() -> None:
    assert DEFAULT_TIMEOUT == 30.0
    assert TIMEOUT.default == DEFAULT_TIMEOUT
    assert TIMEOUT.parse is not None and TIMEOUT.parse(5) == 5.0


# -- real failures, both stacks ----------------------------------------------------------------
def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    return port


@pytest.fixture
def server() -> Iterator[Callable[[str], int]]:
    """server(mode) -> port of a local TCP server that reads the request, then: "drop" closes
    the connection, "reset" resets it, "silent" keeps it open without answering."""
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def start(mode: str) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listeners.append(listener)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                conn.recv(65536)
                if mode == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif mode == "silent":
                    stop.wait(5)
                conn.close()

        threading.Thread(target=serve, daemon=True).start()
        port: int = listener.getsockname()[1]
        return port

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


def _requests_error(port: int) -> BaseException:
    with pytest.raises(requests.RequestException) as caught:
        requests.post(f"http://127.0.0.1:{port}/api", data="x", timeout=TIMEOUT_S)
    return caught.value


def _httpx_error(port: int) -> BaseException:
    with pytest.raises(httpx.TransportError) as caught:
        httpx.post(f"http://127.0.0.1:{port}/api", content="x", timeout=TIMEOUT_S)
    return caught.value


STACKS = [pytest.param(_requests_error, id="requests"), pytest.param(_httpx_error, id="httpx")]


@pytest.mark.parametrize("call", STACKS)
def test_connection_refused_was_never_sent(call: Callable[[int], BaseException]) -> None:
    port = _closed_port()
    error = call(port)
    assert never_sent(error)
    assert describe_network_error(error, f"127.0.0.1:{port}") == (
        f"connection refused by 127.0.0.1:{port}"
    )


@pytest.mark.parametrize("mode", ["drop", "reset"])
@pytest.mark.parametrize("call", STACKS)
def test_a_connection_lost_after_sending_may_have_been_processed(
    call: Callable[[int], BaseException], mode: str, server: Callable[[str], int]
) -> None:
    port = server(mode)
    error = call(port)
    assert not never_sent(error)
    assert describe_network_error(error, "pds.example") == (
        "connection to pds.example lost before the answer"
    )


@pytest.mark.parametrize("call", STACKS)
def test_no_answer_in_time_may_have_been_processed(
    call: Callable[[int], BaseException], server: Callable[[str], int]
) -> None:
    error = call(server("silent"))
    assert not never_sent(error)
    assert describe_network_error(error, "bsky.social", TIMEOUT_S) == (
        "timed out: no answer within 0.3 s from bsky.social"
    )


def test_a_name_that_does_not_resolve_was_never_sent() -> None:
    # Built, not provoked: resolving a name would ask a DNS server, and no test goes online.
    gaierror = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    dns = urllib3.exceptions.NameResolutionError("mastodon.invalid", None, gaierror)  # type: ignore[arg-type]
    dns.__cause__ = gaierror  # urllib3 raises it `from` the resolver's error
    error = requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", dns))  # type: ignore[arg-type]
    assert never_sent(error)
    said = describe_network_error(error, "mastodon.invalid")
    assert said == "cannot resolve host mastodon.invalid"
    wrapped = httpx.ConnectError("[Errno -2] Name or service not known")
    wrapped.__cause__ = gaierror
    assert never_sent(wrapped)
    assert describe_network_error(wrapped, "bsky.invalid") == "cannot resolve host bsky.invalid"


def test_what_is_not_a_network_failure_is_not_described_as_one() -> None:
    assert describe_network_error(ValueError("bad JSON")) is None
    assert not never_sent(ValueError("bad JSON"))  # unknown: counts as possibly sent
    assert describe_failure(ValueError("bad JSON")) == "ValueError: bad JSON"
    assert describe_failure(RuntimeError("x" * 300)) == "RuntimeError"  # no wall of text


def test_no_raw_library_repr_reaches_a_person() -> None:
    error = _requests_error(_closed_port())
    said = describe_failure(error, "mastodon.social")
    for noise in ("HTTPConnection object", "Max retries", "urllib3", "0x"):
        assert noise not in said


def test_the_chain_walker_finds_what_requests_nests_in_args_and_reason() -> None:
    error = _requests_error(_closed_port())
    kinds = [type(e).__name__ for e in exception_chain(error)]
    assert kinds[0] == "ConnectionError"
    assert "MaxRetryError" in kinds and "NewConnectionError" in kinds
    assert "ConnectionRefusedError" in kinds


def test_the_chain_walker_survives_cycles() -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    assert exception_chain(first) == [first, second]


# -- small readers ------------------------------------------------------------------------------
def test_host_of() -> None:
    assert host_of("https://mastodon.social/") == "mastodon.social"
    assert host_of("mastodon.social") == "mastodon.social"
    assert host_of("http://127.0.0.1:8080/x") == "127.0.0.1:8080"


def test_retry_after_reads_iso_epoch_seconds_and_http_dates() -> None:
    iso = datetime(2026, 12, 1, 8, 0, 0, 524560, tzinfo=UTC)
    assert retry_after({"X-RateLimit-Reset": "2026-12-01T08:00:00.524560Z"}) == iso
    assert retry_after({"X-RateLimit-Reset": "1796112000"}) == datetime.fromtimestamp(
        1796112000, UTC
    )
    assert retry_after({"Retry-After": "Tue, 01 Dec 2026 08:00:00 GMT"}) == iso.replace(
        microsecond=0
    )
    soon = retry_after({"Retry-After": "120"})
    assert soon is not None
    assert timedelta(seconds=118) < soon - datetime.now(UTC) <= timedelta(seconds=120)
    assert retry_after({"X-RateLimit-Reset": "garbage"}, 1796112000.0) == datetime.fromtimestamp(
        1796112000, UTC
    )
    assert retry_after(None) is None


def test_as_utc() -> None:
    assert as_utc("2026-12-01T09:00:00+01:00") == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert as_utc(datetime(2026, 12, 1, 8)) == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert as_utc("not a time") is None
    assert as_utc(None) is None
