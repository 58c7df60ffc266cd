"""The fake server of tests/example_platform.py: a tiny JSON API on 127.0.0.1.

`POST /api/posts` (Bearer token, Idempotency-Key) stores `{"text", "language"}` and answers 201
`{"id", "url"}`; a repeated key answers the first post. `GET /api/posts?key=` finds a post by
its key (404 if none); `GET /api/me` answers `{"name"}`. `fail_next` answers the next POST with
a status of your choice.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes._lifecycle import LocalServer, QuietServer, TrackedHandler

TOKEN = "example-token-0815-secret"


class FakeExample(LocalServer):
    name = "fake-example"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._init_server()
        self.posts: dict[str, dict[str, Any]] = {}  # idempotency key -> the post
        self.failures: list[int] = []

    def fail_next(self, status: int) -> None:
        with self._lock:
            self.failures.append(status)

    def _make_server(self) -> Any:
        return QuietServer(("127.0.0.1", 0), _Handler)

    def answer(self, method: str, url: str, headers: Any, body: bytes) -> tuple[int, Any]:
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"error": "bad token"}
        parts = urlsplit(url)
        with self._lock:
            if method == "GET" and parts.path == "/api/me":
                return 200, {"name": "newsroom"}
            if method == "GET" and parts.path == "/api/posts":
                key = parse_qs(parts.query).get("key", [""])[0]
                return (200, self.posts[key]) if key in self.posts else (404, {"error": "none"})
            if method == "POST" and parts.path == "/api/posts":
                if self.failures:
                    return self.failures.pop(0), {"error": "injected"}
                key = headers.get("Idempotency-Key") or ""
                if key not in self.posts:
                    number = len(self.posts) + 1
                    self.posts[key] = {
                        "id": str(number),
                        "url": f"https://example.social/posts/{number}",
                        **json.loads(body),
                    }
                return 201, self.posts[key]
        return 404, {"error": "no such route"}


class _Handler(TrackedHandler):
    def do_GET(self) -> None:
        self._respond()

    def do_POST(self) -> None:
        self._respond()

    def _respond(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, payload = self.server.fake.answer(self.command, self.path, self.headers, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
