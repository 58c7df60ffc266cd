"""Shared by the CLI and acceptance tests: a project folder, running `postbot`, snapshots."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
POSTBOT = [sys.executable, "-m", "postbot"]

DRY_CONFIG = """
project_dir = ".."  # the config sits in config/; var/ and posts/ are beside that folder
timezone = "Europe/Berlin"
language = "de"

[database]
url = "sqlite:///var/postbot.db"

[daemon]
poll_interval = 0.2
heartbeat_seconds = 1
shutdown_grace = 10

[accounts.mastodon]
platform = "mastodon"
base_url = "https://mastodon.example"
credentials = { access_token = "MASTODON_ACCESS_TOKEN" }

[accounts.x]
platform = "x"
[accounts.x.credentials]
consumer_key = "X_CONSUMER_KEY"
consumer_secret = "X_CONSUMER_SECRET"
access_token = "X_ACCESS_TOKEN"
access_token_secret = "X_ACCESS_TOKEN_SECRET"

[accounts.bluesky]
platform = "bluesky"
base_url = "https://bsky.example"
credentials = { handle = "BLUESKY_HANDLE", app_password = "BLUESKY_APP_PASSWORD" }
"""


def make_project(root: Path, config: str = DRY_CONFIG, with_posts: bool = False) -> Path:
    """A folder laid out like a user's: config/postbot.toml, posts/, var/ for the database."""
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "postbot.toml").write_text(config, encoding="utf-8")
    (root / "posts").mkdir(exist_ok=True)
    if with_posts:
        for path in (REPO / "posts").iterdir():
            shutil.copy(path, root / "posts" / path.name)
    return root


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTBOT_")}
    env.update(extra)
    return env


def run_postbot(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*POSTBOT, *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def postbot_json(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    done = run_postbot(cwd, *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refused command changed nothing."""
    if not db.exists():
        return {}
    with sqlite3.connect(db) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables
        }


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Poll `predicate` until it is truthy or `timeout` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def assert_refused(project: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run `postbot ARGS`: it must exit 2 with one `postbot: error:` line on stderr and leave
    the project's database as it was. Returns that line, without the prefix."""
    db = project / "var" / "postbot.db"
    before = snapshot(db)
    done = run_postbot(project, *args, env=env)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1 and lines[0].startswith("postbot: error: "), done.stderr
    assert snapshot(db) == before
    return lines[0].removeprefix("postbot: error: ")
