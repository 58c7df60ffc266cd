"""A local fake of the parts of the X API v2 that postbot uses, for tests that run the real
tweepy over real HTTP (on 127.0.0.1, port chosen by the OS).

Endpoints (shapes follow X's answers, as recorded in tweepy's test cassettes and documented at
docs.x.com):
- POST /2/tweets          {"text", "media": {"media_ids"}, "reply": {"in_reply_to_tweet_id"}}
                          -> 201 {"data": {"id", "text", "edit_history_tweet_ids"}}
- GET  /2/tweets/{id}     -> 200 {"data": {...}} (404 if unknown)
- DELETE /2/tweets/{id}   -> 200 {"data": {"deleted": true}}
- GET  /2/users/me        -> 200 {"data": {"id", "name", "username"}}
- POST /2/media/upload    multipart "media" (+ media_category, media_type) or JSON with base64
                          -> 200 {"data": {"id", "media_key", "size", "expires_after_secs"}}
- POST /2/media/metadata  {"id", "metadata": {"alt_text": {"text"}}}
                          -> 200 {"data": {"id", "associated_metadata": {...}}}

Like X: every request needs an Authorization header ("OAuth ..." or "Bearer ..."), one whose
text contains `bad_token` gets 401; the same text posted twice by the same user (OAuth token or
Bearer token) gets 403 duplicate content; errors use the v2 problem shape
{"detail", "type", "title", "status"}; every answer carries x-rate-limit-limit / -remaining /
-reset headers.

Faults: `inject(path, Fault..., times=N)` affects the next N requests to that path (the path
without query string, e.g. "/2/tweets"); `fail_rate` fails a share of requests at random
(seeded) for load tests.

    with FakeX() as fake:                      # or fake = FakeX().start(); ...; fake.stop()
        account = Account("x", "x", base_url=fake.base_url, ...)
        fake.inject("/2/tweets", Fault.server_error(503))
        fake.inject("/2/tweets", Fault.drop(store=True))   # stored, then no answer
        ...
        fake.tweets        # payloads of the stored posts, in order
        fake.tweet_ids     # their ids, same order
        fake.media         # uploaded media with their alt text
        fake.requests      # every request received (Recorded), faults included
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes._lifecycle import LocalServer, QuietServer, TrackedHandler

DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
INVALID_REQUEST_TYPE = "https://api.twitter.com/2/problems/invalid-request"
RATE_WINDOW = 900  # seconds: X's 15-minute windows

# Per-endpoint limits in the x-rate-limit-* headers (informational: not enforced).
RATE_LIMITS = {
    "POST /2/tweets": 200,
    "DELETE /2/tweets": 50,
    "GET /2/tweets": 900,
    "GET /2/users/me": 75,
    "POST /2/media/upload": 500,
    "POST /2/media/metadata": 500,
}

_TWEET_ID_BASE = 1_900_000_000_000_000_000
_MEDIA_ID_BASE = 1_880_000_000_000_000_000


def problem(status: int, detail: str | None = None, title: str | None = None) -> dict[str, Any]:
    """An error body in X's v2 "problem" shape."""
    phrase = HTTPStatus(status).phrase
    return {
        "detail": detail or phrase,
        "type": "about:blank",
        "title": title or phrase,
        "status": status,
    }


def invalid_request(message: str, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """X's 400 body: an errors list and the invalid-request problem."""
    return {
        "errors": [{"parameters": dict(parameters or {}), "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": INVALID_REQUEST_TYPE,
    }


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or before) answering one request.

    kind "status": answer `status` with `body` (a v2 problem by default) and `headers`;
    kind "delay": wait `delay` seconds, then answer normally (longer than the client's
    timeout: the client gives up, but a post is still stored - like X under load);
    kind "drop": close the connection without any answer, after handling the request
    (the post is stored) when `store`, before it otherwise;
    kind "pass": answer normally (queue it first to let requests through before a fault).
    """

    kind: str
    status: int = 0
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    store: bool = True

    @classmethod
    def error(
        cls,
        status: int,
        detail: str | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        return cls("status", status, body or problem(status, detail), dict(headers or {}))

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls.error(status)

    @classmethod
    def rate_limited(cls, reset: int | None = None) -> Fault:
        """429 with x-rate-limit-reset = `reset` (epoch seconds; default now + 15 minutes)."""
        reset = int(time.time()) + RATE_WINDOW if reset is None else reset
        return cls.error(
            429,
            "Too Many Requests",
            headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
        )

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls.error(401, "Unauthorized")

    @classmethod
    def forbidden(cls, detail: str = "You are not permitted to perform this action.") -> Fault:
        return cls.error(403, detail)

    @classmethod
    def duplicate(cls) -> Fault:
        return cls.error(403, DUPLICATE_DETAIL)

    @classmethod
    def bad_request(cls, message: str = "Invalid Request") -> Fault:
        return cls.error(400, body=invalid_request(message))

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
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any  # the parsed JSON body, or None
    auth_scheme: str | None  # "OAuth", "Bearer" or None
    fault: str | None = None  # the fault applied, if any
    status: int | None = None  # the status answered; None when the connection was dropped
    at: float = field(default_factory=time.time)


@dataclass
class _Answer:
    status: int
    body: Mapping[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeX(LocalServer):
    """The fake X API server. Not started by the constructor: call start() (or use `with`)."""

    name = "fake-x"

    def __init__(
        self,
        *,
        username: str = "postbot_test",
        name: str = "Postbot Test",
        user_id: str = "1790000000000000001",
        bad_token: str = "bad-token",
        fail_rate: float = 0.0,
        seed: int = 0,
        fail_faults: Iterable[Fault] = (),
        fail_paths: Iterable[str] = ("/2/tweets",),
    ) -> None:
        self.username = username
        self.name = name
        self.user_id = user_id
        # Any Authorization header containing this text is refused with 401 (OAuth 1.0a
        # percent-encodes its values: use letters, digits, "-", "_", "." and "~" only).
        self.bad_token = bad_token
        # A share of requests to fail_paths fails with one of fail_faults (chosen at random).
        self.fail_rate = fail_rate
        self.fail_faults: tuple[Fault, ...] = tuple(fail_faults) or (Fault.server_error(503),)
        self.fail_paths = frozenset(fail_paths)
        self._random = random.Random(seed)

        self._lock = threading.Lock()
        self._faults: dict[str, deque[Fault]] = {}
        self._tweets: list[dict[str, Any]] = []  # payloads as received
        self._tweet_ids: list[str] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._texts: set[tuple[str, str]] = set()  # (user, text) posted: duplicate detection
        self._media: dict[str, dict[str, Any]] = {}
        self._requests: list[Recorded] = []
        self._windows: dict[str, tuple[int, int]] = {}  # endpoint -> (window start, used)
        self._next_tweet = 0
        self._next_media = 0

        self._init_server()

    # -- lifecycle (start, stop, base_url: tests/fakes/_lifecycle.py) -------------------------
    def _make_server(self) -> _Server:
        return _Server(("127.0.0.1", 0), _Handler)

    # -- faults -----------------------------------------------------------------------------
    def inject(self, path: str, fault: Fault, times: int = 1) -> None:
        """Apply `fault` to the next `times` requests to `path` (after faults already queued)."""
        with self._lock:
            self._faults.setdefault(path, deque()).extend([fault] * times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self, path: str) -> int:
        with self._lock:
            return len(self._faults.get(path, ()))

    def reset(self) -> None:
        """Forget everything received (posts, media, requests, duplicates) and all faults."""
        with self._lock:
            self._faults.clear()
            self._tweets.clear()
            self._tweet_ids.clear()
            self._by_id.clear()
            self._texts.clear()
            self._media.clear()
            self._requests.clear()
            self._windows.clear()

    # -- what was received ------------------------------------------------------------------
    @property
    def tweets(self) -> list[dict[str, Any]]:
        """The JSON payloads of the stored posts, in order (refused ones are not here)."""
        with self._lock:
            return [json.loads(json.dumps(t)) for t in self._tweets]

    @property
    def tweet_ids(self) -> list[str]:
        with self._lock:
            return list(self._tweet_ids)

    def tweet(self, tweet_id: str) -> dict[str, Any] | None:
        """The payload stored under `tweet_id`."""
        with self._lock:
            payload = self._by_id.get(str(tweet_id))
            return dict(payload) if payload is not None else None

    @property
    def media(self) -> list[dict[str, Any]]:
        """Uploaded media: id, media_key, filename, content_type, media_category, media_type,
        size, data (bytes), alt_text (None until set)."""
        with self._lock:
            return [dict(m) for m in self._media.values()]

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str, method: str | None = None) -> list[Recorded]:
        return [
            r for r in self.requests if r.path == path and (method is None or r.method == method)
        ]

    def wait_for(self, condition: Callable[[FakeX], bool], timeout: float = 5.0) -> bool:
        """Poll until condition(self) holds (e.g. a delayed post got stored)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self):
                return True
            time.sleep(0.02)
        return condition(self)

    # -- request handling (called from handler threads) --------------------------------------
    def _record(self, record: Recorded) -> Fault | None:
        with self._lock:
            self._requests.append(record)
            queue = self._faults.get(record.path)
            if queue:
                return queue.popleft()
            if (
                self.fail_rate > 0
                and record.path in self.fail_paths
                and self._random.random() < self.fail_rate
            ):
                return self._random.choice(self.fail_faults)
        return None

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _rate_headers(self, method: str, path: str) -> dict[str, str]:
        endpoint = f"{method} {_route(path)}"
        limit = RATE_LIMITS.get(endpoint, 900)
        now = int(time.time())
        with self._lock:
            start, used = self._windows.get(endpoint, (now, 0))
            if now >= start + RATE_WINDOW:
                start, used = now, 0
            used += 1
            self._windows[endpoint] = (start, used)
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(limit - used, 0)),
            "x-rate-limit-reset": str(start + RATE_WINDOW),
        }

    def _handle(self, record: Recorded) -> _Answer:
        """Authorize and route one request (the real behaviour, without faults)."""
        header = record.headers.get("authorization", "")
        if record.auth_scheme is None or (self.bad_token and self.bad_token in header):
            return _Answer(401, problem(401, "Unauthorized"))
        user = _user_of(header)
        method, path = record.method, record.path
        if path == "/2/tweets" and method == "POST":
            return self._create_tweet(user, record.json)
        match = re.fullmatch(r"/2/tweets/(\d+)", path)
        if match and method == "GET":
            return self._get_tweet(match.group(1))
        if match and method == "DELETE":
            return self._delete_tweet(match.group(1))
        if path == "/2/users/me" and method == "GET":
            return _Answer(
                200, {"data": {"id": self.user_id, "name": self.name, "username": self.username}}
            )
        if path == "/2/media/upload" and method == "POST":
            return self._upload(user, record)
        if path == "/2/media/metadata" and method == "POST":
            return self._metadata(record.json)
        return _Answer(404, problem(404, f"No route for {method} {path}", "Not Found Error"))

    def _create_tweet(self, user: str, payload: Any) -> _Answer:
        if not isinstance(payload, dict):
            return _Answer(400, invalid_request("The request body is not valid JSON."))
        text = payload.get("text")
        media_ids = (payload.get("media") or {}).get("media_ids") or []
        reply_to = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
        if text is not None and not isinstance(text, str):
            return _Answer(400, invalid_request("`text` must be a string", {"text": [text]}))
        if not text and not media_ids:
            return _Answer(400, invalid_request("Post text or media is required."))
        with self._lock:
            if any(str(m) not in self._media for m in media_ids):
                return _Answer(
                    400,
                    invalid_request("Your media IDs are invalid.", {"media.media_ids": media_ids}),
                )
            if reply_to is not None and str(reply_to) not in self._by_id:
                return _Answer(
                    403,
                    problem(
                        403,
                        "You attempted to reply to a Tweet that is deleted or not visible to you.",
                    ),
                )
            if text and (user, text) in self._texts:
                return _Answer(403, problem(403, DUPLICATE_DETAIL))
            tweet_id = str(_TWEET_ID_BASE + self._next_tweet)
            self._next_tweet += 1
            if text:
                self._texts.add((user, text))
            self._tweets.append(payload)
            self._tweet_ids.append(tweet_id)
            self._by_id[tweet_id] = payload
        data = {"id": tweet_id, "text": text or "", "edit_history_tweet_ids": [tweet_id]}
        return _Answer(201, {"data": data}, {"location": f"{self.base_url}/2/tweets/{tweet_id}"})

    def _get_tweet(self, tweet_id: str) -> _Answer:
        with self._lock:
            payload = self._by_id.get(tweet_id)
        if payload is None:
            return _Answer(
                404, problem(404, f"Could not find tweet with id: [{tweet_id}].", "Not Found Error")
            )
        text = payload.get("text") or ""
        return _Answer(
            200, {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}
        )

    def _delete_tweet(self, tweet_id: str) -> _Answer:
        with self._lock:
            payload = self._by_id.pop(tweet_id, None)
            if payload is not None:
                index = self._tweet_ids.index(tweet_id)
                del self._tweet_ids[index]
                del self._tweets[index]
                self._texts = {(u, t) for (u, t) in self._texts if t != payload.get("text")}
        return _Answer(200, {"data": {"deleted": payload is not None}})

    def _upload(self, user: str, record: Recorded) -> _Answer:
        content_type = record.headers.get("content-type", "")
        fields: dict[str, tuple[str | None, str | None, bytes]] = {}
        if content_type.startswith("multipart/form-data"):
            fields = _multipart(content_type, record.body)
            media = fields.get("media")
            data = media[2] if media else None
            filename, part_type = (media[0], media[1]) if media else (None, None)
            category = fields["media_category"][2].decode() if "media_category" in fields else None
            media_type = fields["media_type"][2].decode() if "media_type" in fields else None
        elif isinstance(record.json, dict):
            try:
                data = base64.b64decode(record.json.get("media") or "", validate=True) or None
            except ValueError:
                data = None
            filename, part_type = None, None
            category = record.json.get("media_category")
            media_type = record.json.get("media_type")
        else:
            return _Answer(400, invalid_request("Expected multipart/form-data or JSON."))
        if not data:
            return _Answer(400, invalid_request("The `media` field is required.", {"media": []}))
        if category not in ("tweet_image", "dm_image", "subtitles"):
            return _Answer(
                400, invalid_request("Invalid media_category.", {"media_category": [category]})
            )
        with self._lock:
            media_id = str(_MEDIA_ID_BASE + self._next_media)
            self._next_media += 1
            self._media[media_id] = {
                "id": media_id,
                "media_key": f"3_{media_id}",
                "user": user,
                "filename": filename,
                "content_type": part_type,
                "media_category": category,
                "media_type": media_type,
                "size": len(data),
                "data": data,
                "alt_text": None,
            }
        return _Answer(
            200,
            {
                "data": {
                    "id": media_id,
                    "media_key": f"3_{media_id}",
                    "size": len(data),
                    "expires_after_secs": 86400,
                }
            },
        )

    def _metadata(self, payload: Any) -> _Answer:
        if not isinstance(payload, dict) or not payload.get("id"):
            return _Answer(400, invalid_request("The `id` field is required.", {"id": []}))
        media_id = str(payload["id"])
        metadata = payload.get("metadata") or {}
        alt = (metadata.get("alt_text") or {}).get("text")
        if alt is not None and (not isinstance(alt, str) or len(alt) > 1000):
            return _Answer(400, invalid_request("alt_text.text must be at most 1000 characters."))
        with self._lock:
            media = self._media.get(media_id)
            if media is None:
                return _Answer(
                    400, invalid_request(f"Media {media_id} not found.", {"id": [media_id]})
                )
            if alt is not None:
                media["alt_text"] = alt
        return _Answer(200, {"data": {"id": media_id, "associated_metadata": metadata}})


class _Server(QuietServer):
    fake: FakeX


class _Handler(TrackedHandler):
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        parsed: Any = None
        if body and headers.get("content-type", "").startswith(("application/json", "text/plain")):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        scheme = headers.get("authorization", "").split(" ", 1)[0]
        record = Recorded(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers=headers,
            body=body,
            json=parsed,
            auth_scheme=scheme if scheme in ("OAuth", "Bearer") else None,
        )
        fault = fake._record(record)
        if fault is not None:
            record.fault = fault.kind if fault.kind != "status" else f"status {fault.status}"
        if fault is not None and fault.kind == "delay":
            fake._wait(fault.delay)
        if fault is not None and fault.kind == "status":
            headers_out = fake._rate_headers(self.command, parts.path)
            headers_out.update(fault.headers)
            self._send(record, _Answer(fault.status, dict(fault.body or {}), headers_out))
            return
        if fault is not None and fault.kind == "drop":
            if fault.store:
                fake._handle(record)
            self._drop()
            return
        answer = fake._handle(record)
        answer.headers = {**fake._rate_headers(self.command, parts.path), **answer.headers}
        self._send(record, answer)

    def _send(self, record: Recorded, answer: _Answer) -> None:
        payload = json.dumps(answer.body).encode()
        record.status = answer.status
        try:
            self.send_response(answer.status)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(payload)))
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


def _route(path: str) -> str:
    return "/2/tweets" if re.fullmatch(r"/2/tweets/\d+", path) else path


def _user_of(authorization: str) -> str:
    """Who is posting: the OAuth 1.0a access token, or the Bearer token."""
    match = re.search(r'oauth_token="([^"]*)"', authorization)
    if match:
        return match.group(1)
    return authorization.removeprefix("Bearer ").strip()


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
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if name:
            fields[name.group(1)] = (filename.group(1) if filename else None, part_type, content)
    return fields
