"""Fixtures of the web calendar's tests: a project, its App, and the app served for real.

`serve_project(...)` makes a project folder (tests/support.make_project), opens its App
and serves `postbot.web.app.create_app` with uvicorn on 127.0.0.1 in a thread of the test
process, on a free port: the tests speak real HTTP to it (requests, or Chromium). The database
is the project's SQLite file, read by the tests through `Served.statuses`. Beside them, what
the tests do as a person would: `csrf_of` a page's form, `text_of` a page as it reads.
"""

from __future__ import annotations

import html
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from postbot import service
from postbot.service import App, open_app
from postbot.web.app import create_app
from postbot.web.app import server as web_server
from tests.support import DRY_CONFIG, make_project

KEY = b"test-signing-key-" + b"k" * 32
PASSWORD = "Sommerzeit-2027!"
USER = "redaktion"
TEASER = "Grüße aus Köln: Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel über die Zukunft spricht"


@dataclass
class Served:
    url: str
    app: App
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "var" / "postbot.db"

    def statuses(self, post_id: int) -> dict[str, str]:
        """account -> status of a post's deliveries, read straight from the database file."""
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute(
                "SELECT account, status FROM delivery WHERE post_id = ? ORDER BY id", (post_id,)
            )
            return dict(rows.fetchall())

    def session(self) -> requests.Session:
        return requests.Session()


@contextmanager
def serving(app: App, key: bytes = KEY) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1:<free port> until the block ends; yields its URL."""
    server = web_server(create_app(app, key), "127.0.0.1", 0, log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def login_config(password_hash: str, extra: str = "") -> str:
    return DRY_CONFIG + f'\n[web]\nuser = "{USER}"\npassword_hash = "{password_hash}"\n{extra}'


@pytest.fixture(scope="session")
def password_hash() -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(PASSWORD)


ServeProject = Callable[..., Served]


@pytest.fixture
def serve_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProject]:
    """`serve_project(config=DRY_CONFIG)` -> Served; every server stops after the test."""
    with ExitStack() as stack:

        def start(config: str = DRY_CONFIG) -> Served:
            root = make_project(tmp_path_factory.mktemp("web"), config)
            app = open_app(root / "config" / "postbot.toml")
            stack.callback(app.store.dispose)
            return Served(stack.enter_context(serving(app)), app, root)

        yield start


# -- what the tests read and do -------------------------------------------------------------
def csrf_of(page: requests.Response) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def enqueue(served: Served, text: str = TEASER, at: str = "2027-03-24 08:00", **kw: object) -> int:
    # The calendar's tests queue one text several times on purpose: not the duplicate guard's.
    kw.setdefault("allow_duplicate", True)
    return service.enqueue_text(served.app, text, at=at, **kw).post_id  # type: ignore[arg-type]


def text_of(page: requests.Response) -> str:
    """The page's text, tags dropped and entities read, as a person reads it."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())
