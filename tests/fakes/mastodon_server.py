"""A local fake of the parts of the Mastodon API that postbot uses, for tests that run the real
Mastodon.py over real HTTP (on 127.0.0.1, port chosen by the OS).

Response shapes follow a real Mastodon 4.6.4, as recorded in Mastodon.py's test cassettes
(halcy/Mastodon.py, MIT licence, commit b9f2effbb5a9f07ebca3807466f4130e69b1614c; see
/work/shared/cassettes/mastodon-py/). No cassette file is copied: the shapes are rebuilt below.

Endpoints:
- GET  /api/v1/instance[/]        v1 instance (Mastodon.py's version check reads "version")
- GET  /api/v2/instance[/]        v2 instance: configuration.statuses.max_characters,
                                  characters_reserved_per_url, max_media_attachments
- GET  /api/v1/accounts/verify_credentials   the account, with "source" and "role"
- GET  /api/v1/apps/verify_credentials       the application of the token
- POST /api/v1/statuses           form or JSON body; Idempotency-Key honoured like Mastodon
                                  (same key, same account, within `idempotency_ttl` seconds:
                                  the same status again, nothing new stored)
- GET|DELETE /api/v1/statuses/:id
- POST /api/v2/media              multipart "file" + "description" (alt text) [+ "focus"]
                                  -> 202, url null (processing)
- GET  /api/v1/media/:id          206 while processing (`media_processing_polls` times),
                                  then 200 with the url. A status can attach only media
                                  that finished processing (422 otherwise, like Mastodon).
- GET  /api/v1/accounts/:id/statuses   newest first; limit (max 40), max_id, since_id, min_id,
                                  Link header for paging
- POST /api/v1/statuses with `in_reply_to_id`: a reply (404 if that status is not there)
- POST /api/v1/statuses with `scheduled_at`, GET /api/v1/scheduled_statuses[/:id], PUT and
  DELETE /api/v1/scheduled_statuses/:id: scheduled statuses (mastodon_scheduled.py), with a
  clock of the fake's own that a test can `advance()`

Like Mastodon: every route but the instance ones needs "Authorization: Bearer <token>" (401
{"error": "The access token is invalid"} otherwise); errors are {"error": "..."}; every answer
carries X-RateLimit-Limit / -Remaining / -Reset (an ISO timestamp, 5-minute windows; not
enforced unless `enforce_rate_limit`); statuses longer than `max_characters` (graphemes, URLs
counting 23) get 422 "Validation failed: Text character limit of 500 exceeded".

Faults: `inject(path, Fault..., times=N)` affects the next N requests to that path (the path
without query string and trailing slash, e.g. "/api/v1/statuses"; shell-style patterns like
"/api/v1/media/*" work too). `fail_rate` fails a seeded random share of requests to
`fail_paths` with one of `fail_faults`, for load tests.

    with FakeMastodon() as fake:                 # or fake = FakeMastodon().start(); fake.stop()
        account = Account("masto", "mastodon", base_url=fake.base_url,
                          credential_vars={"access_token": "MASTODON_TOKEN"})
        environ = {"MASTODON_TOKEN": fake.token}
        fake.inject("/api/v1/statuses", Fault.server_error())          # 500
        fake.inject("/api/v1/statuses", Fault.rate_limited(reset))     # 429 + X-RateLimit-Reset
        fake.inject("/api/v1/statuses", Fault.slow(3))                 # answer after 3 s
        fake.inject("/api/v1/statuses", Fault.drop(store=True))        # stored, then no answer
        fake.inject("/api/v1/statuses", Fault.unauthorized())          # 401
        fake.inject("/api/v1/statuses", Fault.unprocessable())         # 422 text too long
        ...
        fake.statuses      # the stored statuses: received params + idempotency key + entity
        fake.media         # uploaded media: description (alt text), content type, bytes
        fake.requests      # every request received (Recorded), faults included
"""

from __future__ import annotations

import contextlib
import html
import json
import random
import re
import socket
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import regex

from tests.fakes._lifecycle import LocalServer, QuietServer, TrackedHandler
from tests.fakes.mastodon_scheduled import ScheduledStatuses

DEFAULT_TOKEN = "fake-mastodon-token-7f3c9a1e5b"
INVALID_TOKEN = "The access token is invalid"
TOO_LONG = "Validation failed: Text character limit of {limit} exceeded"
DESCRIPTION_TOO_LONG = "Validation failed: Description is too long (maximum is 1500 characters)"
NOT_PROCESSED = "Cannot attach files that have not finished processing. Try again in a moment!"
RATE_WINDOW = 300  # seconds: Mastodon's general API limit is 300 requests per 5 minutes
VISIBILITIES = ("public", "unlisted", "private", "direct")
SUPPORTED_MIME_TYPES = (
    "image/jpeg", "image/png", "image/gif", "image/heic", "image/heif", "image/webp",
    "image/avif", "video/webm", "video/mp4", "video/quicktime", "video/ogg", "audio/wave",
    "audio/wav", "audio/x-wav", "audio/ogg", "audio/mpeg", "audio/mp3", "audio/webm",
    "audio/flac", "audio/aac", "audio/m4a", "audio/mp4",
)  # fmt: skip

_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
# Mastodon counts a remote mention "@user@domain" as "@user".
_REMOTE_MENTION = re.compile(r"(@[\w.]+)@[\w.-]+\.\w+")
_GRAPHEME = regex.compile(r"\X")
# URL or hashtag, scanned left to right so a "#" inside a URL stays part of the URL.
_ENTITY = regex.compile(
    r"(?P<url>https?://[^\s<>\"]+)|(?<![\p{L}\p{M}\p{Nd}_/)])#(?P<tag>[\p{L}\p{M}\p{Nd}_]*"
    r"[\p{L}\p{M}_][\p{L}\p{M}\p{Nd}_]*)",
    regex.IGNORECASE,
)


# -- faults ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    """What to do instead of (or before) answering one request.

    kind "status": answer `status` with `body` ({"error": ...}) and `headers`;
    kind "delay": wait `delay` seconds, then answer normally (longer than the client's
    timeout: the client gives up, but a status is still stored - like a slow server);
    kind "drop": close the connection without any answer, after handling the request
    (the status is stored) when `store`, before it otherwise;
    kind "pass": answer normally (queue it first to let requests through before a fault).
    """

    kind: str
    status: int = 0
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    store: bool = True

    @classmethod
    def error(cls, status: int, message: str, *, headers: Mapping[str, str] | None = None) -> Fault:
        return cls("status", status, {"error": message}, dict(headers or {}))

    @classmethod
    def server_error(
        cls, status: int = 500, message: str = "We're sorry, but something went wrong on our end."
    ) -> Fault:
        return cls.error(status, message)

    @classmethod
    def rate_limited(cls, reset: datetime | None = None, limit: int = 300) -> Fault:
        """429 with X-RateLimit-Reset = `reset` (aware datetime; default now + 5 minutes)."""
        when = reset or datetime.now(UTC) + timedelta(seconds=RATE_WINDOW)
        return cls.error(
            429,
            "Too many requests",
            headers={
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset_header(when),
            },
        )

    @classmethod
    def unauthorized(cls, message: str = INVALID_TOKEN) -> Fault:
        return cls.error(
            401,
            message,
            headers={
                "WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token", '
                f'error_description="{message}"'
            },
        )

    @classmethod
    def forbidden(cls, message: str = "This action is outside the authorized scopes") -> Fault:
        return cls.error(403, message)

    @classmethod
    def unprocessable(cls, message: str = TOO_LONG.format(limit=500)) -> Fault:
        return cls.error(422, message)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        return cls("delay", delay=seconds)

    @classmethod
    def drop(cls, *, store: bool = True) -> Fault:
        return cls("drop", store=store)

    @classmethod
    def passthrough(cls) -> Fault:
        return cls("pass")


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str  # without query string and trailing slash
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    params: dict[str, Any]  # the parsed form / JSON / multipart fields (files excluded)
    files: dict[str, tuple[str | None, str | None, bytes]]  # name -> (filename, type, bytes)
    token: str | None  # the Bearer token, if any
    fault: str | None = None  # the fault applied, if any
    status: int | None = None  # the status answered; None when the connection was dropped
    at: float = field(default_factory=time.time)


@dataclass
class _Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def reset_header(when: datetime) -> str:
    """Mastodon's X-RateLimit-Reset format: ISO 8601, microseconds, "Z"."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _timestamp(when: datetime) -> str:
    """Mastodon's created_at format: milliseconds, "Z"."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def mastodon_length(text: str, url_weight: int = 23) -> int:
    """Status length the way Mastodon validates it: graphemes, URLs count `url_weight`,
    remote mentions count their local part only."""
    countable = _URL.sub("x" * url_weight, text)
    countable = _REMOTE_MENTION.sub(r"\1", countable)
    return sum(1 for _ in _GRAPHEME.finditer(countable))


def tiny_png(width: int = 1, height: int = 1) -> bytes:
    """A valid RGB PNG of the given size (red), for media upload tests."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# -- the fake server ---------------------------------------------------------------------------
class FakeMastodon(LocalServer, ScheduledStatuses):
    """The fake Mastodon server. Not started by the constructor: call start() (or use `with`)."""

    name = "fake-mastodon"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        username: str = "postbot_test",
        display_name: str = "Postbot Test",
        account_id: str = "117020457910412882",
        app_name: str = "postbot",
        version: str = "4.6.4",
        max_characters: int = 500,
        characters_reserved_per_url: int = 23,
        max_media_attachments: int = 4,
        media_processing_polls: int = 0,
        idempotency_ttl: float = 3600.0,
        enforce_rate_limit: bool = False,
        rate_limit: int = 300,
        fail_rate: float = 0.0,
        seed: int = 0,
        fail_faults: Iterable[Fault] = (),
        fail_paths: Iterable[str] = ("/api/v1/statuses",),
    ) -> None:
        self.token = token
        # More tokens of the same account may be added (they share idempotency keys, as the
        # real server keys them per account).
        self.tokens: set[str] = {token}
        self.username = username
        self.display_name = display_name
        self.account_id = account_id
        self.app_name = app_name
        self.version = version
        self.max_characters = max_characters
        self.characters_reserved_per_url = characters_reserved_per_url
        self.max_media_attachments = max_media_attachments
        # GET /api/v1/media/:id answers 206 (still processing) this many times per upload,
        # then 200 with the url. 0: the first poll finds it processed.
        self.media_processing_polls = media_processing_polls
        self.idempotency_ttl = idempotency_ttl
        self.enforce_rate_limit = enforce_rate_limit
        self.rate_limit = rate_limit
        # A share of requests to fail_paths fails with one of fail_faults (chosen at random).
        self.fail_rate = fail_rate
        self.fail_faults: tuple[Fault, ...] = tuple(fail_faults) or (Fault.server_error(),)
        self.fail_paths = frozenset(fail_paths)
        self._random = random.Random(seed)

        self._lock = threading.RLock()
        self._faults: dict[str, deque[Fault]] = {}
        self._statuses: list[dict[str, Any]] = []  # stored, in order
        self._by_id: dict[str, dict[str, Any]] = {}
        self._idempotency: dict[str, tuple[str, float]] = {}  # key -> (status id, expiry)
        self._media: dict[str, dict[str, Any]] = {}
        self._requests: list[Recorded] = []
        self._windows: dict[str, tuple[float, int]] = {}  # token -> (window start, used)
        self._last_id = 0

        self._init_scheduled()
        self._init_server()

    # -- lifecycle (start, stop, base_url: tests/fakes/_lifecycle.py) -------------------------
    def _make_server(self) -> _Server:
        return _Server(("127.0.0.1", 0), _Handler)

    @property
    def domain(self) -> str:
        return self.base_url.removeprefix("http://")

    # -- faults -----------------------------------------------------------------------------
    def inject(self, path: str, fault: Fault, times: int = 1) -> None:
        """Apply `fault` to the next `times` requests to `path` (after faults already queued).

        `path` is matched without query string and trailing slash; "*" patterns work."""
        with self._lock:
            self._faults.setdefault(_normalize(path), deque()).extend([fault] * times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self, path: str) -> int:
        with self._lock:
            return len(self._faults.get(_normalize(path), ()))

    def reset(self) -> None:
        """Forget everything received (statuses, media, requests, keys) and all faults."""
        with self._lock:
            self._faults.clear()
            self._statuses.clear()
            self._by_id.clear()
            self._idempotency.clear()
            self._media.clear()
            self._requests.clear()
            self._windows.clear()
            self._scheduled.clear()
            self._published_from.clear()

    # -- what was received ------------------------------------------------------------------
    @property
    def statuses(self) -> list[dict[str, Any]]:
        """The stored statuses, in order (refused and deleted ones are not here). Each: "id",
        "status" (the text as received), "language", "visibility", "media_ids", "sensitive",
        "spoiler_text", "idempotency_key", "params" (all received fields), "entity" (the
        Status JSON the server answered)."""
        with self._lock:
            return [json.loads(json.dumps(s)) for s in self._statuses]

    def status(self, status_id: str) -> dict[str, Any] | None:
        with self._lock:
            stored = self._by_id.get(str(status_id))
            return json.loads(json.dumps(stored)) if stored is not None else None

    @property
    def media(self) -> list[dict[str, Any]]:
        """Uploaded media, in order: "id", "description" (alt text, None if not given),
        "focus", "filename", "content_type", "data" (bytes), "polls", "processed"."""
        with self._lock:
            return [dict(m) for m in self._media.values()]

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str, method: str | None = None) -> list[Recorded]:
        path = _normalize(path)
        return [
            r
            for r in self.requests
            if fnmatchcase(r.path, path) and (method is None or r.method == method)
        ]

    def wait_for(self, condition: Callable[[FakeMastodon], bool], timeout: float = 5.0) -> bool:
        """Poll until condition(self) holds (e.g. a delayed status got stored)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self):
                return True
            time.sleep(0.02)
        return condition(self)

    def add_status(
        self,
        text: str,
        *,
        created_at: datetime | None = None,
        app: str | None = "Web",
        **params: Any,
    ) -> str:
        """Store a status directly (as if posted earlier, e.g. from the web UI); its id."""
        fields = {"status": text, **params}
        answer = self._create_status(fields, None, created_at=created_at, app=app)
        if answer.status != 200:
            raise ValueError(answer.body)
        return str(answer.body["id"])

    # -- request handling (called from handler threads) --------------------------------------
    def _record(self, record: Recorded) -> Fault | None:
        with self._lock:
            self._requests.append(record)
            queue = self._faults.get(record.path)
            if not queue:
                queue = next(
                    (q for p, q in self._faults.items() if q and fnmatchcase(record.path, p)),
                    None,
                )
            if queue:
                return queue.popleft()
            if (
                self.fail_rate > 0
                and any(fnmatchcase(record.path, p) for p in self.fail_paths)
                and self._random.random() < self.fail_rate
            ):
                return self._random.choice(self.fail_faults)
        return None

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _rate(self, record: Recorded) -> tuple[dict[str, str], bool]:
        """The X-RateLimit-* headers for this request, and whether the limit is exhausted."""
        who = record.token or "anonymous"
        now = time.time()
        with self._lock:
            start, used = self._windows.get(who, (now - now % RATE_WINDOW, 0))
            if now >= start + RATE_WINDOW:
                start, used = now - now % RATE_WINDOW, 0
            used += 1
            self._windows[who] = (start, used)
        reset = datetime.fromtimestamp(start + RATE_WINDOW, UTC)
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(self.rate_limit - used, 0)),
            "X-RateLimit-Reset": reset_header(reset),
        }
        return headers, used > self.rate_limit

    def _handle(self, record: Recorded) -> _Answer:
        """Authorize and route one request (the real behaviour, without faults)."""
        method, path = record.method, record.path
        if path in ("/api/v1/instance", "/api/v2/instance") and method == "GET":
            # Public: Mastodon.py's version check may run before anything else.
            return _Answer(200, self._instance_v1() if "v1" in path else self._instance_v2())
        if record.token is None or record.token not in self.tokens:
            return _Answer(
                401,
                {"error": INVALID_TOKEN},
                {
                    "WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token", '
                    f'error_description="{INVALID_TOKEN}"'
                },
            )
        if path == "/api/v1/accounts/verify_credentials" and method == "GET":
            return _Answer(200, self._account(with_source=True))
        if path == "/api/v1/apps/verify_credentials" and method == "GET":
            return _Answer(200, self._application())
        self.publish_due()  # what the instance's scheduler published by now
        if path == "/api/v1/statuses" and method == "POST":
            key = record.headers.get("idempotency-key")
            if record.params.get("scheduled_at"):
                answer: _Answer = self._schedule(record.params, key)
                return answer
            return self._create_status(record.params, key, app=self.app_name)
        scheduled = self._scheduled_route(method, path, record)
        if scheduled is not None:
            found: _Answer = scheduled
            return found
        match = re.fullmatch(r"/api/v1/statuses/(\d+)", path)
        if match and method == "GET":
            return self._get_status(match.group(1))
        if match and method == "DELETE":
            return self._delete_status(match.group(1))
        if path in ("/api/v2/media", "/api/v1/media") and method == "POST":
            return self._upload(record, sync=path == "/api/v1/media")
        match = re.fullmatch(r"/api/v1/media/(\d+)", path)
        if match and method == "GET":
            return self._poll_media(match.group(1))
        match = re.fullmatch(r"/api/v1/accounts/(\d+)/statuses", path)
        if match and method == "GET":
            return self._account_statuses(match.group(1), record.query)
        return _Answer(404, {"error": "Record not found"})

    # -- statuses ---------------------------------------------------------------------------
    def _answer(self, status: int, body: Any) -> _Answer:
        return _Answer(status, body)

    def _next_id(self, when: datetime | None = None) -> str:
        """A Mastodon-style snowflake id: milliseconds << 16 (increasing, unless backdated)."""
        with self._lock:
            if when is not None:  # a backdated status sorts where its time puts it
                candidate = int(when.timestamp() * 1000) << 16
                while str(candidate) in self._by_id:
                    candidate += 1
                return str(candidate)
            candidate = int(time.time() * 1000) << 16
            self._last_id = max(candidate, self._last_id + 1)
            return str(self._last_id)

    def _create_status(
        self,
        params: Mapping[str, Any],
        key: str | None,
        *,
        created_at: datetime | None = None,
        app: str | None = None,
    ) -> _Answer:
        with self._lock:
            now = time.time()
            # Like PostStatusService: a known key answers the first status before any check.
            if key:
                known = self._idempotency.get(key)
                if known and known[1] > now and known[0] in self._by_id:
                    return _Answer(200, self._by_id[known[0]]["entity"])
            text = str(params.get("status") or "").strip()
            media_ids = [str(m) for m in _as_list(params.get("media_ids"))]
            visibility = str(params.get("visibility") or "public")
            language = params.get("language") or None
            sensitive = str(params.get("sensitive", "0")).lower() in ("1", "true")
            spoiler = str(params.get("spoiler_text") or "")
            if len(media_ids) > self.max_media_attachments:
                return _Answer(
                    422, {"error": f"Cannot attach more than {self.max_media_attachments} files"}
                )
            attached = [self._media[m] for m in media_ids if m in self._media]
            if any(not m["processed"] for m in attached):
                return _Answer(422, {"error": NOT_PROCESSED})
            if not text and not attached:
                return _Answer(422, {"error": "Validation failed: Text can't be blank"})
            if mastodon_length(text, self.characters_reserved_per_url) > self.max_characters:
                return _Answer(422, {"error": TOO_LONG.format(limit=self.max_characters)})
            if visibility not in VISIBILITIES:
                return _Answer(422, {"error": f"'{visibility}' is not a valid visibility"})
            reply_to = params.get("in_reply_to_id")
            parent = self._by_id.get(str(reply_to)) if reply_to else None
            if reply_to and parent is None:
                return _Answer(404, {"error": "Record not found"})  # as Status.find answers
            status_id = self._next_id(created_at)
            entity = self._status_entity(
                status_id,
                text,
                visibility=visibility,
                language=language or "en",
                sensitive=sensitive or bool(spoiler),
                spoiler_text=spoiler,
                media=attached,
                created_at=created_at or datetime.now(UTC),
                app=app,
            )
            if parent is not None:
                entity["in_reply_to_id"] = parent["id"]
                entity["in_reply_to_account_id"] = self.account_id
            stored = {
                "id": status_id,
                "status": params.get("status"),
                "language": language,
                "visibility": params.get("visibility"),
                "media_ids": media_ids,
                "sensitive": sensitive,
                "spoiler_text": params.get("spoiler_text"),
                "in_reply_to_id": parent["id"] if parent is not None else None,
                "idempotency_key": key,
                "params": dict(params),
                "entity": entity,
            }
            self._statuses.append(stored)
            self._by_id[status_id] = stored
            if key:
                self._idempotency[key] = (status_id, now + self.idempotency_ttl)
            return _Answer(200, entity)

    def _get_status(self, status_id: str) -> _Answer:
        with self._lock:
            stored = self._by_id.get(status_id)
        if stored is None:
            return _Answer(404, {"error": "Record not found"})
        return _Answer(200, stored["entity"])

    def _delete_status(self, status_id: str) -> _Answer:
        with self._lock:
            stored = self._by_id.pop(status_id, None)
            if stored is None:
                return _Answer(404, {"error": "Record not found"})
            self._statuses.remove(stored)
        entity = dict(stored["entity"])
        entity.pop("content", None)
        entity["text"] = stored["status"]  # like Mastodon: the source text, for redrafting
        return _Answer(200, entity)

    def _account_statuses(self, account_id: str, query: Mapping[str, list[str]]) -> _Answer:
        if account_id != self.account_id:
            return _Answer(404, {"error": "Record not found"})

        def number(name: str) -> int | None:
            values = query.get(name)
            return int(values[-1]) if values and values[-1].isdigit() else None

        limit = min(number("limit") or 20, 40)
        max_id, since_id, min_id = number("max_id"), number("since_id"), number("min_id")
        with self._lock:
            entities = [s["entity"] for s in self._statuses]
        entities.sort(key=lambda e: int(e["id"]), reverse=True)
        if max_id is not None:
            entities = [e for e in entities if int(e["id"]) < max_id]
        if since_id is not None:
            entities = [e for e in entities if int(e["id"]) > since_id]
        if min_id is not None:  # the page just above min_id, still newest first
            entities = [e for e in entities if int(e["id"]) > min_id][-limit:]
        page = entities[:limit]
        headers: dict[str, str] = {}
        if page:
            url = f"{self.base_url}/api/v1/accounts/{account_id}/statuses"
            headers["Link"] = (
                f'<{url}?{urlencode({"limit": limit, "max_id": page[-1]["id"]})}>; rel="next", '
                f'<{url}?{urlencode({"limit": limit, "min_id": page[0]["id"]})}>; rel="prev"'
            )
        return _Answer(200, page, headers)

    # -- media ------------------------------------------------------------------------------
    def _upload(self, record: Recorded, *, sync: bool) -> _Answer:
        file = record.files.get("file")
        if file is None or not file[2]:
            return _Answer(422, {"error": "Validation failed: File can't be blank"})
        filename, content_type, data = file
        if content_type not in SUPPORTED_MIME_TYPES:
            return _Answer(
                422,
                {
                    "error": "Validation failed: File content type is invalid, "
                    "File file type is invalid"
                },
            )
        description = record.params.get("description")
        if description is not None and len(description) > 1500:
            return _Answer(
                422,
                {"error": DESCRIPTION_TOO_LONG},
            )
        with self._lock:
            media_id = self._next_id()
            self._media[media_id] = {
                "id": media_id,
                "description": description,
                "focus": record.params.get("focus"),
                "filename": filename,
                "content_type": content_type,
                "data": data,
                "polls": 0,
                # v1 uploads are processed before the answer; v2 ones in the background.
                "processed": sync,
            }
            entity = self._media_entity(self._media[media_id])
        # 202: accepted, still processing (url null), as Mastodon answers for v2 uploads.
        return _Answer(200 if sync else 202, entity)

    def _poll_media(self, media_id: str) -> _Answer:
        with self._lock:
            media = self._media.get(media_id)
            if media is None:
                return _Answer(404, {"error": "Record not found"})
            media["polls"] += 1
            if not media["processed"] and media["polls"] > self.media_processing_polls:
                media["processed"] = True
            entity = self._media_entity(media)
        return _Answer(200 if media["processed"] else 206, entity)

    # -- entities (shapes of Mastodon 4.6.4) -------------------------------------------------
    def _account(self, *, with_source: bool = False) -> dict[str, Any]:
        base = self.base_url
        with self._lock:
            count = len(self._statuses)
        account: dict[str, Any] = {
            "id": self.account_id,
            "username": self.username,
            "acct": self.username,
            "display_name": self.display_name,
            "locked": False,
            "bot": True,
            "discoverable": None,
            "indexable": False,
            "group": False,
            "created_at": "2026-08-01T00:00:00.000Z",
            "note": "",
            "url": f"{base}/@{self.username}",
            "uri": f"{base}/ap/users/{self.account_id}",
            "avatar": f"{base}/avatars/original/missing.png",
            "avatar_static": f"{base}/avatars/original/missing.png",
            "avatar_description": "",
            "header": f"{base}/headers/original/missing.png",
            "header_static": f"{base}/headers/original/missing.png",
            "header_description": "",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": count,
            "last_status_at": datetime.now(UTC).strftime("%Y-%m-%d") if count else None,
            "hide_collections": None,
            "show_media": True,
            "show_media_replies": True,
            "show_featured": True,
            "noindex": False,
            "feature_approval": {"automatic": [], "manual": [], "current_user": "denied"},
            "emojis": [],
            "roles": [],
            "fields": [],
        }
        if with_source:
            account["source"] = {
                "privacy": "public",
                "sensitive": False,
                "language": None,
                "note": "",
                "fields": [],
                "follow_requests_count": 0,
                "hide_collections": None,
                "discoverable": None,
                "indexable": False,
                "attribution_domains": [],
                "quote_policy": "public",
            }
            account["role"] = {
                "id": "-99",
                "name": "",
                "permissions": "65536",
                "color": "",
                "highlighted": False,
                "collection_limit": 10,
            }
        return account

    def _application(self) -> dict[str, Any]:
        return {
            "id": "2",
            "name": self.app_name,
            "website": None,
            "scopes": ["write:statuses", "write:media", "read:accounts"],
            "redirect_uris": ["urn:ietf:wg:oauth:2.0:oob"],
            "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
        }

    def _status_entity(
        self,
        status_id: str,
        text: str,
        *,
        visibility: str,
        language: str,
        sensitive: bool,
        spoiler_text: str,
        media: list[dict[str, Any]],
        created_at: datetime,
        app: str | None,
    ) -> dict[str, Any]:
        content, tags = self._render(text)
        return {
            "id": status_id,
            "created_at": _timestamp(created_at),
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": sensitive,
            "spoiler_text": spoiler_text,
            "visibility": visibility,
            "language": language,
            "uri": f"{self.base_url}/ap/users/{self.account_id}/statuses/{status_id}",
            "url": f"{self.base_url}/@{self.username}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "quotes_count": 0,
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": content,
            "filtered": [],
            "reblog": None,
            # Mastodon shows the posting application on the owner's own statuses.
            "application": {"name": app, "website": None} if app else None,
            "account": self._account(),
            "media_attachments": [self._media_entity(m) for m in media],
            "mentions": [],
            "tags": tags,
            "emojis": [],
            "tagged_collections": [],
            "quote": None,
            "card": None,
            "poll": None,
            "quote_approval": {"automatic": ["public"], "manual": [], "current_user": "automatic"},
        }

    def _media_entity(self, media: dict[str, Any]) -> dict[str, Any]:
        base = f"{self.base_url}/system/media_attachments"
        path = "/".join(re.findall(r"\d{1,3}", media["id"].zfill(18)))
        kind = str(media["content_type"]).split("/")[0]
        extension = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}.get(
            media["content_type"], "bin"
        )
        meta: dict[str, Any] = {}
        size = _png_size(media["data"])
        if size:
            width, height = size
            original = {
                "width": width,
                "height": height,
                "size": f"{width}x{height}",
                "aspect": width / height,
            }
            meta = {"original": original, "small": dict(original)}
        if media.get("focus"):
            x, _, y = str(media["focus"]).partition(",")
            meta["focus"] = {"x": float(x), "y": float(y or 0)}
        return {
            "id": media["id"],
            "type": kind if kind in ("image", "video", "audio") else "unknown",
            "url": f"{base}/files/{path}/original/{media['id']}.{extension}"
            if media["processed"]
            else None,
            "preview_url": f"{base}/files/{path}/small/{media['id']}.{extension}",
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": meta,
            "description": media["description"],
            "blurhash": "UGC~-#M{0JfkNFofR%M{IURj%Mt7E0oM%MR*",
        }

    def _render(self, text: str) -> tuple[str, list[dict[str, str]]]:
        """Mastodon's plain-text formatter: escape, link URLs and hashtags, <p> and <br />."""
        out: list[str] = []
        tags: list[dict[str, str]] = []
        position = 0
        for match in _ENTITY.finditer(text):
            out.append(_escape(text[position : match.start()]))
            position = match.end()
            if match.group("url"):
                url = match.group("url")
                prefix = re.match(r"https?://(www\.)?", url, re.IGNORECASE)
                cut = prefix.end() if prefix else 0
                shown, rest = url[cut:], ""
                if len(shown) > 30:
                    shown, rest = shown[:30], shown[30:]
                middle = "ellipsis" if rest else ""
                out.append(
                    f'<a href="{_escape(url)}" target="_blank" rel="nofollow noopener" '
                    f'translate="no"><span class="invisible">{_escape(url[:cut])}</span>'
                    f'<span class="{middle}">{_escape(shown)}</span>'
                    f'<span class="invisible">{_escape(rest)}</span></a>'
                )
            else:
                name = match.group("tag")
                link = f"{self.base_url}/tags/{name.lower()}"
                out.append(
                    f'<a href="{_escape(link)}" class="mention hashtag" rel="tag">'
                    f"#<span>{_escape(name)}</span></a>"
                )
                if all(t["name"] != name.lower() for t in tags):
                    tags.append({"name": name.lower(), "url": link})
        out.append(_escape(text[position:]))
        rendered = "".join(out)
        paragraphs = [p for p in re.split(r"\n\s*\n", rendered) if p.strip()]
        return "".join(f"<p>{p.replace(chr(10), '<br />')}</p>" for p in paragraphs), tags

    def _instance_v1(self) -> dict[str, Any]:
        base = self.base_url
        with self._lock:
            count = len(self._statuses)
        return {
            "uri": self.domain,
            "title": "Mastodon",
            "short_description": "",
            "description": "",
            "email": "",
            "version": self.version,
            "urls": {"streaming_api": f"ws://{self.domain}"},
            "stats": {"user_count": 1, "status_count": count, "domain_count": 1},
            "thumbnail": f"{base}/packs/images/preview.png",
            "languages": ["en"],
            "registrations": False,
            "approval_required": False,
            "invites_enabled": True,
            "configuration": {
                "accounts": {"max_featured_tags": 10},
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": self.max_media_attachments,
                    "characters_reserved_per_url": self.characters_reserved_per_url,
                },
                "media_attachments": {
                    "supported_mime_types": list(SUPPORTED_MIME_TYPES),
                    "image_size_limit": 16777216,
                    "image_matrix_limit": 33177600,
                    "video_size_limit": 103809024,
                    "video_frame_rate_limit": 120,
                    "video_matrix_limit": 8294400,
                },
                "polls": {
                    "max_options": 4,
                    "max_characters_per_option": 50,
                    "min_expiration": 300,
                    "max_expiration": 2629746,
                },
            },
            "contact_account": None,
            "rules": [],
        }

    def _instance_v2(self) -> dict[str, Any]:
        base = self.base_url
        return {
            "domain": self.domain,
            "title": "Mastodon",
            "version": self.version,
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "",
            "usage": {"users": {"active_month": 1}},
            "thumbnail": {"url": f"{base}/packs/images/preview.png", "description": ""},
            "icon": [
                {"src": f"{base}/packs/icons/android-chrome-36x36.png", "size": "36x36"},
                {"src": f"{base}/packs/icons/android-chrome-512x512.png", "size": "512x512"},
            ],
            "languages": ["en"],
            "configuration": {
                "urls": {
                    "streaming": f"ws://{self.domain}",
                    "status": None,
                    "about": f"{base}/about",
                    "privacy_policy": f"{base}/privacy-policy",
                    "terms_of_service": None,
                },
                "vapid": {"public_key": ""},
                "accounts": {
                    "max_display_name_length": 40,
                    "max_note_length": 500,
                    "max_avatar_description_length": 150,
                    "max_header_description_length": 150,
                    "max_featured_tags": 10,
                    "max_pinned_statuses": 5,
                    "max_profile_fields": 4,
                    "profile_field_name_limit": 255,
                    "profile_field_value_limit": 255,
                },
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": self.max_media_attachments,
                    "characters_reserved_per_url": self.characters_reserved_per_url,
                },
                "media_attachments": {
                    "description_limit": 1500,
                    "image_matrix_limit": 33177600,
                    "image_size_limit": 16777216,
                    "supported_mime_types": list(SUPPORTED_MIME_TYPES),
                    "video_frame_rate_limit": 120,
                    "video_matrix_limit": 8294400,
                    "video_size_limit": 103809024,
                },
                "polls": {
                    "max_options": 4,
                    "max_characters_per_option": 50,
                    "min_expiration": 300,
                    "max_expiration": 2629746,
                },
                "translation": {"enabled": False},
                "timelines_access": {
                    "live_feeds": {"local": "public", "remote": "public"},
                    "hashtag_feeds": {"local": "public", "remote": "public"},
                    "trending_link_feeds": {"local": "public", "remote": "public"},
                },
                "limited_federation": False,
            },
            "registrations": {
                "enabled": False,
                "approval_required": False,
                "reason_required": False,
                "message": None,
                "min_age": None,
                "url": None,
            },
            "api_versions": {"mastodon": 11},
            "wrapstodon": None,
            "contact": {"email": "", "account": None},
            "rules": [],
        }


class _Server(QuietServer):
    fake: FakeMastodon


class _Handler(TrackedHandler):
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        params, files = _parse_body(headers.get("content-type", ""), body)
        authorization = headers.get("authorization", "")
        token = authorization[7:].strip() if authorization.startswith("Bearer ") else None
        record = Recorded(
            method=self.command,
            path=_normalize(parts.path),
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            body=body,
            params=params,
            files=files,
            token=token,
        )
        fault = fake._record(record)
        if fault is not None:
            record.fault = fault.kind if fault.kind != "status" else f"status {fault.status}"
        if fault is not None and fault.kind == "delay":
            fake._wait(fault.delay)
        rate_headers, exhausted = fake._rate(record)
        if fault is not None and fault.kind == "status":
            answer_headers = {**rate_headers, **fault.headers}
            self._send(record, _Answer(fault.status, dict(fault.body or {}), answer_headers))
            return
        if fault is not None and fault.kind == "drop":
            if fault.store:
                fake._handle(record)
            self._drop()
            return
        if exhausted and fake.enforce_rate_limit:
            self._send(record, _Answer(429, {"error": "Too many requests"}, rate_headers))
            return
        answer = fake._handle(record)
        answer.headers = {**rate_headers, **answer.headers}
        self._send(record, answer)

    def _send(self, record: Recorded, answer: _Answer) -> None:
        payload = json.dumps(answer.body, ensure_ascii=False, separators=(",", ":")).encode()
        record.status = answer.status
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "private, no-store")
            self.send_header("Vary", "Authorization, Origin")
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up (its timeout) before we answered

    def _drop(self) -> None:
        """Hang up without a single byte of answer: the client cannot know what happened."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def fake_mastodon() -> Iterator[FakeMastodon]:
    """A started FakeMastodon, stopped after the test. Re-export it from a conftest.py:
    `from tests.fakes.mastodon_server import fake_mastodon  # noqa: F401`."""
    with FakeMastodon() as fake:
        yield fake


# -- helpers -----------------------------------------------------------------------------------
def _normalize(path: str) -> str:
    return path.rstrip("/") or "/"


def _escape(text: str) -> str:
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return (width, height) if width and height else None


def _parse_body(
    content_type: str, body: bytes
) -> tuple[dict[str, Any], dict[str, tuple[str | None, str | None, bytes]]]:
    """Form fields (lists for "name[]" keys, as Rails reads them) and files of a request."""
    if not body:
        return {}, {}
    if content_type.startswith("application/json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}, {}
        return (parsed if isinstance(parsed, dict) else {}), {}
    if content_type.startswith("multipart/form-data"):
        fields: dict[str, Any] = {}
        files: dict[str, tuple[str | None, str | None, bytes]] = {}
        for name, (filename, part_type, content) in _multipart(content_type, body).items():
            if filename is not None:
                files[name] = (filename, part_type, content)
            else:
                fields[name] = content.decode("utf-8", "replace")
        return fields, files
    form: dict[str, Any] = {}
    for key, values in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items():
        if key.endswith("[]"):
            form[key[:-2]] = values
        else:
            form[key] = values[-1]
    return form, {}


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str | None, bytes]]:
    """name -> (filename, content type, bytes) for a multipart/form-data body (exact bytes,
    unlike the email parser)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        return {}
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, tuple[str | None, str | None, bytes]] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, content = chunk.partition(b"\r\n\r\n")
        disposition = ""
        part_type = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value
            elif key.strip().lower() == "content-type":
                part_type = value.strip()
        name = re.search(r'(?:^|[;\s])name="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if name:
            fields[name.group(1)] = (filename.group(1) if filename else None, part_type, content)
    return fields
