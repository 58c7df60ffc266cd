"""Shared fixtures: a store on every supported database, the PostgreSQL test database, plans.

Stores: `backend` is "sqlite", "postgresql" or "memory" (the in-memory store, which keeps the
same contract); `sql_backend` only the first two (for what only SQL has: migrations).

PostgreSQL: the suite creates its own database (`postbot_test_<random>`) on the server at
127.0.0.1:5432 (override with POSTBOT_TEST_PG_URL, an SQLAlchemy URL of a database the
suite may connect to in order to create and drop others) and drops it at the end. Every
`store` test starts from empty tables (TRUNCATE ... RESTART IDENTITY), not a new database.

If the server cannot be reached, the PostgreSQL params are skipped with the reason, unless
the environment variable CI is set (to anything): then they fail, so CI never silently skips.

Keep this file generic; fixtures for one area (fake platform servers...) belong in a
conftest.py next to the tests that use them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL, make_url

from postbot.domain import MediaItem
from postbot.drafts import Draft, Plan, Target
from postbot.store import Store, open_store

ADMIN_URL_ENV = "POSTBOT_TEST_PG_URL"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TABLES = (
    "post",
    "delivery",
    "delivery_part",
    "attempt",
    "heartbeat",
    "incident",
    "alert_message",
    "review",
    "feed",
    "feed_item",
)
BACKENDS = ("sqlite", "postgresql", "memory")


# -- PostgreSQL server and databases -----------------------------------------------------------
def _under_ci() -> bool:
    return bool(os.environ.get("CI"))


def _libpq(url: URL) -> str:
    """An SQLAlchemy URL as a libpq URI psycopg accepts."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class PgServer:
    """The reachable server: create and drop throw-away databases on it."""

    admin_url: URL

    def connect(self, database: str | None = None, **kwargs: Any) -> Any:
        import psycopg

        url = self.admin_url if database is None else self.admin_url.set(database=database)
        return psycopg.connect(_libpq(url), autocommit=True, connect_timeout=5, **kwargs)

    def url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def create_database(self, prefix: str = "postbot_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> PgServer:
    """The PostgreSQL server, or a skip (a failure under CI) saying why it is not there."""
    admin_url = make_url(os.environ.get(ADMIN_URL_ENV) or DEFAULT_ADMIN_URL)
    server = PgServer(admin_url)
    try:
        with server.connect() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        where = admin_url.render_as_string(hide_password=True)
        reason = f"PostgreSQL not reachable at {where}: {str(exc).strip().splitlines()[0]}"
        if _under_ci():
            pytest.fail(f"{reason} (CI is set: PostgreSQL tests must run, not skip)")
        pytest.skip(reason)
    return server


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """SQLAlchemy URL of this session's PostgreSQL database, schema at head; dropped at the end.

    Shared by every test of the session: a test that writes to it directly should clean up,
    or use `store` (which empties the tables first).
    """
    name = pg_server.create_database()
    url = pg_server.url(name)
    try:
        store = open_store(url)
        try:
            store.ensure_schema()
        finally:
            store.dispose()
        yield url
    finally:
        pg_server.drop_database(name)


@pytest.fixture(scope="session")
def _pg_truncator(pg_server: PgServer, pg_url: str) -> Iterator[Callable[[], None]]:
    database = make_url(pg_url).database
    # lock_timeout: a test that left a transaction open fails the next one loudly, not hangs.
    conn = pg_server.connect(database, options="-c lock_timeout=10000")

    def truncate() -> None:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")

    try:
        yield truncate
    finally:
        conn.close()


@pytest.fixture
def pg_empty_url(pg_server: PgServer) -> Iterator[str]:
    """A brand-new, empty PostgreSQL database (no schema) for this test only."""
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)


# -- stores --------------------------------------------------------------------------------------
_SQL_PARAMS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=[*_SQL_PARAMS, pytest.param("memory", id="memory")])
def backend(request: pytest.FixtureRequest) -> str:
    """'sqlite', 'postgresql' or 'memory': tests using it (or `store`, `db_url`) run once per
    database."""
    return str(request.param)


@pytest.fixture(params=_SQL_PARAMS)
def sql_backend(request: pytest.FixtureRequest) -> str:
    """'sqlite' or 'postgresql': for tests of what only the SQL stores have."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a database at schema head with empty tables, for the current `backend`.

    SQLite: a fresh file in tmp_path. PostgreSQL: the session database, truncated. Memory: a
    database of this test's own, shared by the stores opened on its URL.
    """
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/t.db"
    if backend == "memory":
        return f"memory://test-{uuid.uuid4().hex[:12]}"
    url: str = request.getfixturevalue("pg_url")
    request.getfixturevalue("_pg_truncator")()
    return url


@pytest.fixture
def empty_db_url(sql_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty SQL database (no tables at all), this test only."""
    if sql_backend == "sqlite":
        return f"sqlite:///{tmp_path}/empty.db"
    url: str = request.getfixturevalue("pg_empty_url")
    return url


@pytest.fixture
def store_factory(db_url: str) -> Iterator[Callable[[], Store]]:
    """Open more stores on the same database as `store` (other processes' view); disposed after."""
    opened: list[Store] = []

    def factory() -> Store:
        s = open_store(db_url)
        s.ensure_schema()
        opened.append(s)
        return s

    try:
        yield factory
    finally:
        for s in opened:
            s.dispose()


@pytest.fixture
def store(store_factory: Callable[[], Store]) -> Store:
    """A Store (open_store + ensure_schema) on an empty database, once per backend."""
    return store_factory()


# -- plans ---------------------------------------------------------------------------------------
LIMITS = {"x": 280, "mastodon": 500, "bluesky": 300, "dryrun": 500}
DEFAULT_TARGETS: tuple[tuple[str, str], ...] = (("x-main", "x"), ("masto", "mastodon"))


def build_plan(
    key: str | None = "post-1",
    teaser: str = "Hallo Welt",
    *,
    targets: Sequence[str | tuple[str, str]] = DEFAULT_TARGETS,
    hashtags: Sequence[str] = (),
    link: str | None = None,
    language: str | None = None,
    media: Sequence[tuple[str, str] | MediaItem] = (),
    headline: str | None = None,
    source: str = "cli",
    texts: dict[str, str] | None = None,
) -> Plan:
    """A Plan built directly (no settings, no platform rendering).

    `targets`: (account, platform) pairs, or bare account names (platform "dryrun").
    Each target's text is the teaser, link and hashtags joined by spaces, unless
    `texts[account]` says otherwise.
    """
    draft = Draft(
        teaser=teaser,
        hashtags=tuple(hashtags),
        link=link,
        language=language,
        media=tuple(m if isinstance(m, MediaItem) else MediaItem(*m) for m in media),
        headline=headline,
        key=key,
        source=source,
    )
    rendered = " ".join([teaser, *([link] if link else []), *(f"#{h}" for h in hashtags)])
    built = []
    for t in targets:
        account, platform = (t, "dryrun") if isinstance(t, str) else t
        text = (texts or {}).get(account, rendered)
        built.append(Target(account, platform, text, len(text), LIMITS.get(platform, 500)))
    return Plan(draft, tuple(built))


@pytest.fixture
def make_plan() -> Callable[..., Plan]:
    """`make_plan(key="post-1", teaser=..., targets=[(account, platform)...], ...)` -> Plan."""
    return build_plan
