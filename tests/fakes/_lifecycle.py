"""What every fake platform server shares: a ThreadingHTTPServer on 127.0.0.1 (ephemeral port)
in a background thread, and a stop that also closes keep-alive connections."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LocalServer:
    """Mixed into a fake; the fake sets `name`, owns `_lock` and builds its server."""

    name = "fake"
    _lock: threading.Lock | threading.RLock

    def _init_server(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()  # wakes handlers sleeping in a delay fault
        self._sockets: set[socket.socket] = set()

    def _make_server(self) -> Any:
        """A ThreadingHTTPServer bound to ("127.0.0.1", 0) with the fake's handler."""
        raise NotImplementedError

    def start(self) -> Self:
        server = self._make_server()
        server.fake = self
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=self.name,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:  # keep-alive connections would otherwise stay open
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _track(self, sock: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._sockets.add(sock)
            else:
                self._sockets.discard(sock)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._server.server_port}"


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # load tests open many connections at once
    fake: Any

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out and hang up are part of the tests, not errors worth a traceback.
        pass


class TrackedHandler(BaseHTTPRequestHandler):
    """Keep-alive, answers sent in one segment, connections tracked so stop() can close them."""

    protocol_version = "HTTP/1.1"
    # Headers and body in one segment, sent at once: otherwise Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every request (load tests would measure that).
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: QuietServer

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass  # the client went away (timeout) or we dropped the connection
        finally:
            self.server.fake._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the fake's request log is .requests
