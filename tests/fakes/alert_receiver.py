"""A local webhook that receives alerts, as a chat or mail gateway would: Apprise's `json://`
URL POSTs `{"version", "title", "message", "type"}` to it (real Apprise, real HTTP, 127.0.0.1).

    with AlertReceiver() as receiver:
        env["POSTBOT_ALERT_URL"] = receiver.apprise_url   # json://127.0.0.1:PORT/hook/<token>
        ...
        receiver.messages      # [{"title", "message", "type", "path"}], in arrival order
        receiver.refuse = 2    # answer the next 2 POSTs with 500 (a gateway that is down)

The path carries a recognisable token (`TOKEN`): a secret that must never be shown.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from tests.fakes._lifecycle import LocalServer, QuietServer, TrackedHandler

TOKEN = "SECRET-ALERT-TOKEN-4711"


class AlertReceiver(LocalServer):
    name = "alert-receiver"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._init_server()
        self._messages: list[dict[str, Any]] = []
        self.refuse = 0

    def _make_server(self) -> Any:
        return QuietServer(("127.0.0.1", 0), _Handler)

    @property
    def apprise_url(self) -> str:
        return self.base_url.replace("http://", "json://") + f"/hook/{TOKEN}"

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._messages)

    def receive(self, path: str, body: bytes) -> int:
        with self._lock:
            if self.refuse > 0:
                self.refuse -= 1
                return 500
            entry = json.loads(body)
            self._messages.append({**entry, "path": path})
            return 200

    def wait_for(self, condition: Callable[[list[dict[str, Any]]], object], timeout: float) -> bool:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self.messages):
                return True
            time.sleep(0.05)
        return bool(condition(self.messages))


class _Handler(TrackedHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        status = self.server.fake.receive(self.path, self.rfile.read(length))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
