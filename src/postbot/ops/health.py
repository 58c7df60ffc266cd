"""The daemon's HTTP endpoints, on the opt-in `[daemon] metrics` address (a stdlib server in a
daemon thread: it answers while the scheduler works, and dies with the process):

- `/metrics`: Prometheus text format;
- `/healthz`: 200 while the process lives and its scheduler runs (503 once it is stopping);
- `/readyz`: 200 when the database is reachable, migrated and writable, this worker's heartbeat
  is fresh and no account's credentials are failing; else 503. The body has one line per
  check, OK or the reason, as `postbot doctor` prints them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from postbot.errors import ConfigError
from postbot.ops.checks import Check
from postbot.ops.settings import listen_address

log = logging.getLogger("postbot.ops")

TEXT = "text/plain; charset=utf-8"


class OpsServer:
    def __init__(
        self,
        address: str,
        *,
        metrics: Callable[[], bytes],
        ready: Callable[[], Sequence[Check]],
        live: Callable[[], bool],
    ) -> None:
        self.address = address
        self.metrics, self.ready, self.live = metrics, ready, live
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        host, port = listen_address(self.address)
        handler = _handler(self)
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise ConfigError(
                f"[daemon] metrics: cannot listen on {self.address}: {exc.strerror}"
            ) from None
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="ops-http", daemon=True).start()
        log.info(
            "metrics, health and readiness on http://%s/ (/metrics, /healthz, /readyz)",
            self.address,
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a GET of `path`."""
        route = path.split("?", 1)[0].rstrip("/") or "/"
        if route == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST

            return 200, CONTENT_TYPE_LATEST, self.metrics()
        if route == "/healthz":
            live = self.live()
            return (200 if live else 503), TEXT, b"ok\n" if live else b"stopping\n"
        if route == "/readyz":
            checks = self.ready()
            ready = all(c.ok for c in checks)
            lines = ["ready" if ready else "not ready", *(c.line() for c in checks)]
            return (200 if ready else 503), TEXT, ("\n".join(lines) + "\n").encode()
        return 404, TEXT, b"not found: try /metrics, /healthz or /readyz\n"


def _handler(server: OpsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                status, kind, body = server.answer(self.path)
            except Exception:  # a bug must not take the endpoint down
                log.exception("%s failed", self.path)
                status, kind, body = 500, TEXT, b"internal error (see the log)\n"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a scrape every 15 s is not worth a log line

    return Handler
