"""Fixtures for acceptance tests against the local fake platforms (real processes, real HTTP).

`platforms` starts FakeMastodon, FakeX and FakeBluesky on 127.0.0.1 (each in a thread of the
test process) with recognisable fake credentials; `Platforms.config()` writes a project config
that points the accounts `mastodon`, `x` and `bluesky` at them (pace off, short timeouts,
short leases, fast retries), and `Platforms.env()` is the environment a `postbot` process gets
(the credentials, as a user would export them).
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.fakes.bluesky_server import FakeBluesky
from tests.fakes.mastodon_server import FakeMastodon
from tests.fakes.x_server import FakeX
from tests.support import POSTBOT, clean_env, make_project

# Recognisable fake credentials: none may ever show up in output, logs or the database.
MASTODON_TOKEN = "SECRET-MASTO-TOKEN-1234"
X_CREDENTIALS = {
    "X_CONSUMER_KEY": "SECRET-X-CONSUMER-KEY-5678",
    "X_CONSUMER_SECRET": "SECRET-X-CONSUMER-SECRET-9012",
    "X_ACCESS_TOKEN": "SECRET-X-ACCESS-TOKEN-3456",
    "X_ACCESS_TOKEN_SECRET": "SECRET-X-ACCESS-SECRET-7890",
}
BLUESKY_HANDLE = "postbot.test"
BLUESKY_PASSWORD = "SECRET-BSKY-APP-PASSWORD"
SECRETS = (MASTODON_TOKEN, *X_CREDENTIALS.values(), BLUESKY_PASSWORD)

ACCOUNTS = ("mastodon", "x", "bluesky")

DAEMON = {
    "concurrency": 8,
    "batch_size": 200,
    "poll_interval": 0.2,
    "lease_seconds": 3,
    "heartbeat_seconds": 1,
    "shutdown_grace": 10,
}
RETRY = {"max_attempts": 8, "base_delay": 0.2, "max_delay": 1}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is JSON-compatible for what we write
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def _table(name: str, values: Mapping[str, Any]) -> list[str]:
    return [f"[{name}]", *(f"{k} = {_toml(v)}" for k, v in values.items()), ""]


@dataclass
class Platforms:
    """The three started fakes, and how a project talks to them."""

    mastodon: FakeMastodon
    x: FakeX
    bluesky: FakeBluesky

    def env(self, **extra: str) -> dict[str, str]:
        credentials = {
            "MASTODON_ACCESS_TOKEN": MASTODON_TOKEN,
            "BLUESKY_HANDLE": BLUESKY_HANDLE,
            "BLUESKY_APP_PASSWORD": BLUESKY_PASSWORD,
            **X_CREDENTIALS,
        }
        return clean_env(**{**credentials, **extra})

    def config(
        self,
        root: Path,
        *,
        database_url: str = "sqlite:///var/postbot.db",
        daemon: Mapping[str, Any] | None = None,
        retry: Mapping[str, Any] | None = None,
        account_options: Mapping[str, Mapping[str, Any]] | None = None,
        extra_accounts: Mapping[str, Mapping[str, Any]] | None = None,
        posts_dir: str | None = None,
    ) -> str:
        accounts: dict[str, dict[str, Any]] = {
            "mastodon": {
                "platform": "mastodon",
                "base_url": self.mastodon.base_url,
                "credentials": {"access_token": "MASTODON_ACCESS_TOKEN"},
            },
            "x": {
                "platform": "x",
                "base_url": self.x.base_url,
                "credentials": {
                    "consumer_key": "X_CONSUMER_KEY",
                    "consumer_secret": "X_CONSUMER_SECRET",
                    "access_token": "X_ACCESS_TOKEN",
                    "access_token_secret": "X_ACCESS_TOKEN_SECRET",
                },
            },
            "bluesky": {
                "platform": "bluesky",
                "base_url": self.bluesky.base_url,
                "credentials": {"handle": "BLUESKY_HANDLE", "app_password": "BLUESKY_APP_PASSWORD"},
                "session_file": str(root / "var" / "bluesky.session"),
            },
        }
        for account in accounts.values():
            account.update(pace="off", timeout=2)
        for name, options in (account_options or {}).items():
            accounts[name].update(options)
        accounts.update({k: dict(v) for k, v in (extra_accounts or {}).items()})
        # The config sits in config/: its relative paths are read from the project folder.
        lines = ['project_dir = ".."', 'timezone = "Europe/Berlin"', 'language = "de"', ""]
        lines += _table("database", {"url": database_url})
        if posts_dir:
            lines += _table("posts", {"dir": posts_dir})
        lines += _table("daemon", {**DAEMON, **(daemon or {})})
        lines += _table("retry", {**RETRY, **(retry or {})})
        for name, options in accounts.items():
            lines += _table(f"accounts.{name}", options)
        return "\n".join(lines)

    def project(self, root: Path, **config: Any) -> Path:
        return make_project(root, self.config(root, **config))


@pytest.fixture
def platforms() -> Iterator[Platforms]:
    mastodon = FakeMastodon(token=MASTODON_TOKEN)
    x = FakeX()
    bluesky = FakeBluesky(handle=BLUESKY_HANDLE, password=BLUESKY_PASSWORD)
    with mastodon, x, bluesky:
        yield Platforms(mastodon, x, bluesky)


# -- daemons ----------------------------------------------------------------------------------
@dataclass
class Daemon:
    """A `postbot run` process; its stderr (the log) goes to a file, never a full pipe."""

    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    """`start_daemon(project, env, *args)`: a `postbot run` subprocess, killed after the test."""
    started: list[Daemon] = []

    def start(project: Path, env: dict[str, str], *args: str) -> Daemon:
        log_path = tmp_path / f"daemon-{len(started)}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [*POSTBOT, "run", *args],
                cwd=project,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        daemon = Daemon(proc, log_path)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        with contextlib.suppress(Exception):
            daemon.kill()


# -- the database, as the test reads it ---------------------------------------------------------
def sqlite_url(project: Path) -> str:
    return f"sqlite:///{project / 'var' / 'postbot.db'}"


def dump_tables(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (SQLite or PostgreSQL)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            return {
                name: [dict(r) for r in conn.execute(text(f'SELECT * FROM "{name}"')).mappings()]
                for name in names
            }
    finally:
        engine.dispose()


def query(url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]
    finally:
        engine.dispose()
