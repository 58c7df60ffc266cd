"""A local fake Bluesky PDS (XRPC over real HTTP) for tests that must not reach the internet.

It serves exactly what postbot's Bluesky adapter and the atproto SDK call, with the response
shapes and error statuses of the reference PDS (@atproto/pds), including its awkward parts:

- a createRecord with an rkey that already exists answers HTTP 500, not a clean conflict;
- a missing record answers 400 RecordNotFound;
- access and refresh tokens are JWT-shaped with `exp` claims, because the SDK decodes them to
  decide when to refresh;
- an expired token answers 400 ExpiredToken, a bad password 401 AuthenticationRequired;
- every response carries ratelimit-* headers, and createSession is limited to 30 per 5 minutes.

A post's `reply` (root and parent strong refs, uri and cid) is checked for its shape, as the
PDS's lexicon check does; `cid_of(rkey)` gives the CID a record was answered with.

Usage::

    with FakeBluesky(handle="postbot.test", password="abcd-efgh-ijkl-mnop") as fake:
        account = Account("bsky", "bluesky", fake.base_url, {...})
        fake.fail_next("com.atproto.repo.createRecord", server_error(), times=2)
        fake.fail_next("com.atproto.repo.createRecord", dropped(after_processing=True))
        ...
        fake.records          # rkey -> record as received
        fake.calls("com.atproto.server.createSession")
        fake.login_count

Faults are queued per XRPC method (or "*" for any method) and consumed one per request.
`set_fail_rate()` adds a seeded random share of failures for load tests.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import random
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import regex

POST_COLLECTION = "app.bsky.feed.post"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID_RE = regex.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_GRAPHEME = regex.compile(r"\X")

# Limits of the app.bsky.feed.post lexicon, as the reference PDS enforces them.
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 2_000_000  # app.bsky.embed.images maxSize since April 2026 (was 1,000,000)
MAX_LANGS = 3

# Reference PDS policies: createSession 30 per 5 minutes per account, a global 3000 per 5 min.
LOGIN_LIMIT = 30
LOGIN_WINDOW = 300
GLOBAL_LIMIT = 3000
GLOBAL_WINDOW = 300


# -- faults ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or around) the normal handling of one request.

    kind:
      "error"  answer `status` with {"error": error, "message": message} (and `headers`);
      "delay"  sleep `delay` seconds, then handle normally (a client with a shorter timeout
               gives up; the server still does the work, like a slow real PDS);
      "drop"   close the connection without any response, after handling the request when
               `after_processing` (the record is stored, the client never hears of it).
    """

    kind: str
    status: int = 500
    error: str = "InternalServerError"
    message: str = "Internal Server Error"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    after_processing: bool = True

    def describe(self) -> str:
        if self.kind == "error":
            return f"error {self.status} {self.error}"
        if self.kind == "delay":
            return f"delay {self.delay}s"
        return "drop after processing" if self.after_processing else "drop before processing"


def error_fault(
    status: int, error: str, message: str, headers: Mapping[str, str] | None = None
) -> Fault:
    return Fault("error", status=status, error=error, message=message, headers=dict(headers or {}))


def server_error(status: int = 500) -> Fault:
    """The reference PDS's answer to an unexpected failure (and to a duplicate rkey)."""
    return error_fault(status, "InternalServerError", "Internal Server Error")


def rate_limited(reset_at: int | None = None, policy: str = "3000;w=300") -> Fault:
    """429 with the ratelimit-* headers; `reset_at` is epoch seconds (default: in 60 s)."""
    reset = int(time.time()) + 60 if reset_at is None else int(reset_at)
    limit = policy.split(";", 1)[0]
    return error_fault(
        429,
        "RateLimitExceeded",
        "Rate Limit Exceeded",
        {
            "ratelimit-limit": limit,
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(reset),
            "ratelimit-policy": policy,
        },
    )


def unauthorized(
    error: str = "AuthenticationRequired", message: str = "Authentication Required"
) -> Fault:
    return error_fault(401, error, message)


def forbidden(
    error: str = "AccountTakedown", message: str = "Account has been taken down"
) -> Fault:
    return error_fault(403, error, message)


def invalid_request(message: str = "Invalid request") -> Fault:
    return error_fault(400, "InvalidRequest", message)


def delayed(seconds: float) -> Fault:
    return Fault("delay", delay=seconds)


def dropped(after_processing: bool = True) -> Fault:
    return Fault("drop", after_processing=after_processing)


# -- state -------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request as the fake received it, and what it did with it."""

    method: str  # the XRPC method (NSID), e.g. "com.atproto.repo.createRecord"
    http_method: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int | None = None  # None: the connection was dropped without a response
    fault: str | None = None  # the injected fault, if any

    @property
    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class Blob:
    mime_type: str
    data: bytes


@dataclass
class _Token:
    kind: str  # "access" | "refresh"
    did: str
    exp: int
    revoked: bool = False


class _XrpcError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


class _Drop(Exception):
    """Close the connection without a response."""


# -- the server --------------------------------------------------------------------------


class FakeBluesky:
    """A one-account fake PDS on 127.0.0.1 (random port), served from a background thread."""

    def __init__(
        self,
        handle: str = "postbot.test",
        password: str = "abcd-efgh-ijkl-mnop",
        *,
        did: str | None = None,
        email: str | None = None,
        access_ttl: int = 7200,
        refresh_ttl: int = 90 * 86400,
        login_limit: int | None = LOGIN_LIMIT,
        seed: int = 0,
    ) -> None:
        self.handle = handle
        self.password = password
        self.did = did or "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
        self.email = email or f"{handle.split('.')[0]}@example.test"
        # Seconds a newly issued token lives; below 15 minutes the SDK refreshes on every call.
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.login_limit = login_limit
        # Answer createSession with AuthFactorTokenRequired (an account with email 2FA).
        self.require_auth_factor = False

        self.records: dict[str, dict[str, Any]] = {}  # rkey -> record (app.bsky.feed.post)
        self.blobs: dict[str, Blob] = {}  # cid -> blob
        self.requests: list[RecordedRequest] = []
        self.login_count = 0  # createSession requests received (successful or not)
        self.refresh_count = 0  # refreshSession requests received

        self._tokens: dict[str, _Token] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._fail_rate = 0.0
        self._fail_methods: frozenset[str] | None = None
        self._fail_faults: tuple[Fault, ...] = (server_error(),)
        self._random = random.Random(seed)
        self._login_times: deque[float] = deque()
        self._global_times: deque[float] = deque()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> FakeBluesky:
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: stop() (server.shutdown) waits up to one interval.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-bluesky",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delay fault
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeBluesky:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeBluesky is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- fault injection -----------------------------------------------------------------
    def fail_next(self, method: str, fault: Fault, times: int = 1) -> None:
        """Apply `fault` to the next `times` requests to `method` ("*": any method)."""
        with self._lock:
            self._faults.setdefault(method, deque()).extend([fault] * times)

    def fail_status(
        self,
        method: str,
        status: int,
        error: str = "InternalServerError",
        message: str = "Internal Server Error",
        times: int = 1,
    ) -> None:
        self.fail_next(method, error_fault(status, error, message), times)

    def rate_limit_next(self, method: str, reset_at: int | None = None, times: int = 1) -> None:
        self.fail_next(method, rate_limited(reset_at), times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        self.fail_next(method, delayed(seconds), times)

    def drop_next(self, method: str, after_processing: bool = True, times: int = 1) -> None:
        self.fail_next(method, dropped(after_processing), times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._fail_rate = 0.0

    @property
    def fail_rate(self) -> float:
        """Share of requests failed at random (see set_fail_rate); settable directly."""
        return self._fail_rate

    @fail_rate.setter
    def fail_rate(self, rate: float) -> None:
        self.set_fail_rate(rate, methods=self._fail_methods)

    def set_fail_rate(
        self,
        rate: float,
        *,
        methods: Iterable[str] | None = None,
        faults: Iterable[Fault] | None = None,
        seed: int | None = None,
    ) -> None:
        """Fail a random share `rate` of requests (to `methods`, default all) with one of
        `faults` (default HTTP 500), drawn from a seeded generator so runs are repeatable."""
        with self._lock:
            self._fail_rate = rate
            self._fail_methods = frozenset(methods) if methods is not None else None
            if faults is not None:
                self._fail_faults = tuple(faults)
            if seed is not None:
                self._random = random.Random(seed)

    # -- session control -----------------------------------------------------------------
    def expire_access_tokens(self) -> None:
        """Make every access token issued so far answer 400 ExpiredToken (refresh still works)."""
        with self._lock:
            for token in self._tokens.values():
                if token.kind == "access":
                    token.exp = int(time.time()) - 1

    def revoke_sessions(self) -> None:
        """Invalidate every token issued so far: only a new createSession helps."""
        with self._lock:
            for token in self._tokens.values():
                token.revoked = True

    # -- inspection ----------------------------------------------------------------------
    def calls(self, method: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method]

    def wait_for(self, condition: Callable[[FakeBluesky], bool], timeout: float = 5.0) -> bool:
        """Poll `condition(self)` until true or `timeout` (for work a delayed request finishes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self):
                return True
            time.sleep(0.02)
        return condition(self)

    def issued_tokens(self) -> list[str]:
        """Every access and refresh JWT handed out (to assert none leaks into messages)."""
        with self._lock:
            return list(self._tokens)

    def cid_of(self, rkey: str) -> str:
        """The CID createRecord and getRecord answer for the record stored under `rkey`."""
        with self._lock:
            record = self.records[rkey]
        return _cid(json.dumps(record, sort_keys=True).encode(), codec=0x71)

    def post_uri(self, rkey: str) -> str:
        return f"at://{self.did}/{POST_COLLECTION}/{rkey}"

    # -- internals -----------------------------------------------------------------------
    def _next_fault(self, method: str) -> Fault | None:
        with self._lock:
            for key in (method, "*"):
                queue = self._faults.get(key)
                if queue:
                    return queue.popleft()
            applies = self._fail_methods is None or method in self._fail_methods
            if self._fail_rate > 0 and applies and self._random.random() < self._fail_rate:
                return self._random.choice(self._fail_faults)
        return None

    def _global_headers(self) -> dict[str, str]:
        now = time.time()
        with self._lock:
            _trim(self._global_times, now - GLOBAL_WINDOW)
            self._global_times.append(now)
            remaining = max(GLOBAL_LIMIT - len(self._global_times), 0)
            reset = int((self._global_times[0] if self._global_times else now) + GLOBAL_WINDOW)
        return {
            "ratelimit-limit": str(GLOBAL_LIMIT),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset),
            "ratelimit-policy": f"{GLOBAL_LIMIT};w={GLOBAL_WINDOW}",
        }

    def _issue_tokens(self) -> dict[str, str]:
        now = int(time.time())
        access = _jwt(
            {"typ": "at+jwt", "alg": "ES256K"},
            {
                "scope": "com.atproto.appPass",
                "sub": self.did,
                "aud": "did:web:pds.example.test",
                "iat": now,
                "exp": now + self.access_ttl,
            },
        )
        refresh = _jwt(
            {"typ": "refresh+jwt", "alg": "ES256K"},
            {
                "scope": "com.atproto.refresh",
                "sub": self.did,
                "aud": "did:web:pds.example.test",
                "jti": secrets.token_urlsafe(16),
                "iat": now,
                "exp": now + self.refresh_ttl,
            },
        )
        with self._lock:
            self._tokens[access] = _Token("access", self.did, now + self.access_ttl)
            self._tokens[refresh] = _Token("refresh", self.did, now + self.refresh_ttl)
        return {"accessJwt": access, "refreshJwt": refresh}

    def _did_doc(self) -> dict[str, Any]:
        return {
            "@context": [
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/multikey/v1",
            ],
            "id": self.did,
            "alsoKnownAs": [f"at://{self.handle}"],
            "verificationMethod": [
                {
                    "id": f"{self.did}#atproto",
                    "type": "Multikey",
                    "controller": self.did,
                    "publicKeyMultibase": "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF",
                }
            ],
            "service": [
                {
                    "id": "#atproto_pds",
                    "type": "AtprotoPersonalDataServer",
                    # Where the SDK sends every call after login, as with a real PDS.
                    "serviceEndpoint": self.base_url,
                }
            ],
        }

    def _session_body(self, tokens: Mapping[str, str]) -> dict[str, Any]:
        return {
            **tokens,
            "handle": self.handle,
            "did": self.did,
            "didDoc": self._did_doc(),
            "email": self.email,
            "emailConfirmed": True,
            "emailAuthFactor": self.require_auth_factor,
            "active": True,
        }

    def _authenticate(self, headers: Mapping[str, str], kind: str = "access") -> _Token:
        value = headers.get("authorization", "")
        if not value.lower().startswith("bearer "):
            raise _XrpcError(401, "AuthenticationRequired", "Authentication Required")
        with self._lock:
            token = self._tokens.get(value[7:].strip())
        if token is None:
            raise _XrpcError(400, "InvalidToken", "Token could not be verified")
        if token.kind != kind:
            raise _XrpcError(400, "InvalidToken", "Invalid token type")
        if token.revoked:
            raise _XrpcError(400, "ExpiredToken", "Token has been revoked")
        if token.exp <= time.time():
            raise _XrpcError(400, "ExpiredToken", "Token has expired")
        return token

    # -- XRPC methods ----------------------------------------------------------------------
    def handle_xrpc(
        self, method: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one XRPC call: (status, JSON body, extra headers)."""
        handler = _METHODS.get(method)
        if handler is None:
            raise _XrpcError(501, "MethodNotImplemented", "Method Not Implemented")
        return handler(self, query, headers, body)

    def _create_session(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        now = time.time()
        with self._lock:
            self.login_count += 1
            _trim(self._login_times, now - LOGIN_WINDOW)
            self._login_times.append(now)
            used = len(self._login_times)
            first = self._login_times[0]
        limit = self.login_limit
        rl_headers: dict[str, str] = {}
        if limit is not None:
            rl_headers = {
                "ratelimit-limit": str(limit),
                "ratelimit-remaining": str(max(limit - used, 0)),
                "ratelimit-reset": str(int(first + LOGIN_WINDOW)),
                "ratelimit-policy": f"{limit};w={LOGIN_WINDOW}",
            }
            if used > limit:
                raise _RateLimited(rl_headers)
        data = _json_body(body)
        identifier = str(data.get("identifier", ""))
        password = str(data.get("password", ""))
        if not identifier or not password:
            raise _XrpcError(400, "InvalidRequest", 'Input must have the property "identifier"')
        known = {self.handle.lower(), self.did, self.email.lower()}
        if identifier.lower() not in known or not secrets.compare_digest(password, self.password):
            raise _XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
        if self.require_auth_factor and not data.get("authFactorToken"):
            raise _XrpcError(
                401, "AuthFactorTokenRequired", "A sign in code has been sent to your email address"
            )
        return 200, self._session_body(self._issue_tokens()), rl_headers

    def _refresh_session(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.refresh_count += 1
        old = headers.get("authorization", "")[7:].strip()
        self._authenticate(headers, kind="refresh")
        with self._lock:
            self._tokens[old].revoked = True  # refresh tokens rotate, as on the reference PDS
        body_out = self._session_body(self._issue_tokens())
        for key in ("email", "emailConfirmed", "emailAuthFactor"):
            body_out.pop(key, None)
        return 200, body_out, {}

    def _get_session(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        self._authenticate(headers)
        out = self._session_body({})
        return 200, out, {}

    def _describe_server(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        return (
            200,
            {
                "did": "did:web:pds.example.test",
                "availableUserDomains": [".test"],
                "inviteCodeRequired": False,
                "phoneVerificationRequired": False,
                "links": {},
                "contact": {},
            },
            {},
        )

    def _check_repo(self, repo: str) -> None:
        if repo not in (self.did, self.handle):
            raise _XrpcError(400, "InvalidRequest", f"Could not find repo: {repo}")

    def _create_record(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        self._authenticate(headers)
        data = _json_body(body)
        self._check_repo(str(data.get("repo", "")))
        collection = data.get("collection")
        if collection != POST_COLLECTION:
            raise _XrpcError(400, "InvalidRequest", f"Unsupported collection: {collection}")
        record = data.get("record")
        if not isinstance(record, dict):
            raise _XrpcError(400, "InvalidRequest", 'Input must have the property "record"')
        rkey = data.get("rkey") or _tid_now()
        if not isinstance(rkey, str) or not _TID_RE.match(rkey):
            raise _XrpcError(400, "InvalidRequest", f"Invalid record key: {rkey}")
        self._validate_post(record)
        with self._lock:
            if rkey in self.records:
                # The reference PDS fails the repo write on the unique constraint and answers
                # a bare 500, not a 409: clients must look the record up to tell.
                raise _XrpcError(500, "InternalServerError", "Internal Server Error")
            self.records[rkey] = record
        cid = _cid(json.dumps(record, sort_keys=True).encode(), codec=0x71)
        return (
            200,
            {
                "uri": self.post_uri(rkey),
                "cid": cid,
                "commit": {"cid": _cid(cid.encode(), codec=0x71), "rev": _tid_now()},
                "validationStatus": "valid",
            },
            {},
        )

    def _validate_post(self, record: Mapping[str, Any]) -> None:
        def invalid(detail: str) -> _XrpcError:
            return _XrpcError(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {detail}")

        if record.get("$type") != POST_COLLECTION:
            raise _XrpcError(
                400,
                "InvalidRequest",
                f"Invalid $type: expected {POST_COLLECTION}, got {record.get('$type')}",
            )
        text = record.get("text")
        if not isinstance(text, str):
            raise invalid('Record must have the property "text"')
        if len(text.encode()) > MAX_TEXT_BYTES:
            raise invalid(f"Record/text must not be longer than {MAX_TEXT_BYTES} characters")
        if sum(1 for _ in _GRAPHEME.finditer(text)) > MAX_GRAPHEMES:
            raise invalid(f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes")
        created = record.get("createdAt")
        if not isinstance(created, str):
            raise invalid('Record must have the property "createdAt"')
        try:
            datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            raise invalid("Record/createdAt must be an valid atproto datetime") from None
        langs = record.get("langs", [])
        if not isinstance(langs, list) or len(langs) > MAX_LANGS:
            raise invalid(f"Record/langs must not have more than {MAX_LANGS} elements")
        size = len(text.encode())
        for i, facet in enumerate(record.get("facets") or []):
            index = facet.get("index", {})
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= size):
                raise invalid(f"Record/facets/{i}/index is out of range")
            if not facet.get("features"):
                raise invalid(f"Record/facets/{i}/features must not be empty")
        reply = record.get("reply")
        if reply is not None:
            # app.bsky.feed.post#replyRef: strong refs (com.atproto.repo.strongRef) to the
            # thread's root and to the parent, each an at:// uri and a cid.
            for side in ("root", "parent"):
                ref = reply.get(side) if isinstance(reply, dict) else None
                if (
                    not isinstance(ref, dict)
                    or not str(ref.get("uri", "")).startswith("at://")
                    or not isinstance(ref.get("cid"), str)
                ):
                    raise invalid(f'Record/reply/{side} must have the properties "uri" and "cid"')
        embed = record.get("embed")
        if embed and embed.get("$type") == "app.bsky.embed.images":
            images = embed.get("images") or []
            if len(images) > MAX_IMAGES:
                raise invalid(f"Record/embed/images must not have more than {MAX_IMAGES} elements")
            for i, image in enumerate(images):
                if not isinstance(image.get("alt"), str):
                    raise invalid(f'Record/embed/images/{i} must have the property "alt"')
                blob = image.get("image") or {}
                link = (blob.get("ref") or {}).get("$link")
                with self._lock:
                    stored = self.blobs.get(str(link))
                if stored is None:
                    raise _XrpcError(400, "InvalidRequest", f"Could not find blob: {link}")
                if len(stored.data) > MAX_IMAGE_BYTES:
                    raise invalid(f"Record/embed/images/{i}/image file too large")

    def _get_record(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        repo, collection, rkey = query.get("repo", ""), query.get("collection"), query.get("rkey")
        self._check_repo(repo)
        uri = f"at://{repo}/{collection}/{rkey}"
        with self._lock:
            record = self.records.get(str(rkey)) if collection == POST_COLLECTION else None
        if record is None:
            raise _XrpcError(400, "RecordNotFound", f"Could not locate record: {uri}")
        cid = _cid(json.dumps(record, sort_keys=True).encode(), codec=0x71)
        return 200, {"uri": self.post_uri(str(rkey)), "cid": cid, "value": record}, {}

    def _upload_blob(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        self._authenticate(headers)
        mime = headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        if mime in ("", "*/*"):
            mime = _sniff(body)
        cid = _cid(body, codec=0x55)
        with self._lock:
            self.blobs[cid] = Blob(mime, body)
        return (
            200,
            {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(body)}},
            {},
        )

    def _get_profile(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        self._authenticate(headers)
        actor = query.get("actor", "")
        if actor not in (self.did, self.handle):
            raise _XrpcError(400, "InvalidRequest", "Profile not found")
        with self._lock:
            posts = len(self.records)
        return (
            200,
            {
                "did": self.did,
                "handle": self.handle,
                "displayName": "Postbot Test",
                "description": "",
                "followersCount": 0,
                "followsCount": 0,
                "postsCount": posts,
                "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False},
                "indexedAt": "2024-01-01T00:00:00.000Z",
                "createdAt": "2024-01-01T00:00:00.000Z",
                "viewer": {"muted": False, "blockedBy": False},
                "labels": [],
            },
            {},
        )


class _RateLimited(_XrpcError):
    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__(429, "RateLimitExceeded", "Rate Limit Exceeded")
        self.headers = dict(headers)


_Method = Any  # Callable[[FakeBluesky, Mapping, Mapping, bytes], tuple[int, dict, dict]]
_METHODS: dict[str, _Method] = {
    "com.atproto.server.createSession": FakeBluesky._create_session,
    "com.atproto.server.refreshSession": FakeBluesky._refresh_session,
    "com.atproto.server.getSession": FakeBluesky._get_session,
    "com.atproto.server.describeServer": FakeBluesky._describe_server,
    "com.atproto.repo.createRecord": FakeBluesky._create_record,
    "com.atproto.repo.getRecord": FakeBluesky._get_record,
    "com.atproto.repo.uploadBlob": FakeBluesky._upload_blob,
    "app.bsky.actor.getProfile": FakeBluesky._get_profile,
}


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeBluesky
    protocol_version = "HTTP/1.1"  # keep-alive, like a real PDS behind a proxy
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet test output

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        fake = self.server_state
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        method = url.path.removeprefix("/xrpc/") if url.path.startswith("/xrpc/") else url.path
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        log = RecordedRequest(method, self.command, query, headers, body)
        with fake._lock:
            fake.requests.append(log)

        fault = fake._next_fault(method)
        log.fault = fault.describe() if fault else None
        extra = fake._global_headers()
        try:
            if fault is not None and fault.kind == "error":
                raise _XrpcError(fault.status, fault.error, fault.message)
            if fault is not None and fault.kind == "drop" and not fault.after_processing:
                raise _Drop
            if fault is not None and fault.kind == "delay" and fake._stopping.wait(fault.delay):
                raise _Drop  # the fake is stopping: do not answer
            status, payload, headers_out = fake.handle_xrpc(method, query, headers, body)
            if fault is not None and fault.kind == "drop":
                raise _Drop  # the work is done (record stored), the answer is lost
            extra.update(headers_out)
        except _Drop:
            log.status = None
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except _XrpcError as exc:
            status, payload = exc.status, {"error": exc.error, "message": exc.message}
            if isinstance(exc, _RateLimited):
                extra.update(exc.headers)
            if fault is not None:
                extra.update(fault.headers)
        log.status = status
        self._send_json(status, payload, extra)

    def _send_json(
        self, status: int, payload: Mapping[str, Any], headers: Mapping[str, str]
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout): nothing to answer


# -- helpers -----------------------------------------------------------------------------


def _trim(times: deque[float], cutoff: float) -> None:
    while times and times[0] < cutoff:
        times.popleft()


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise _XrpcError(400, "InvalidRequest", "Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _XrpcError(400, "InvalidRequest", "Request body must be a JSON object")
    return data


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    """A JWT-shaped token: the SDK decodes the payload (for `exp`) but never checks the
    signature, so random bytes of the right length stand in for an ES256K signature."""
    parts = [
        _b64url(json.dumps(header, separators=(",", ":")).encode()),
        _b64url(json.dumps(payload, separators=(",", ":")).encode()),
        _b64url(secrets.token_bytes(64)),
    ]
    return ".".join(parts)


def _cid(data: bytes, codec: int) -> str:
    """A real CIDv1 string (base32, sha2-256): 0x71 dag-cbor for records, 0x55 raw for blobs."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"


def tid_from_micros(micros: int, clock_id: int = 0) -> str:
    """A TID: 64-bit (micros << 10 | clock id) in 13 base32-sortable characters."""
    value = (micros << 10) | (clock_id & 0x3FF)
    return "".join(TID_ALPHABET[(value >> (5 * (12 - i))) & 31] for i in range(13))


def _tid_now() -> str:
    return tid_from_micros(int(datetime.now(UTC).timestamp() * 1_000_000), random.randrange(1024))
