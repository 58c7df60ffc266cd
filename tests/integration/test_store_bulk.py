"""store/bulk.py over SQLite and PostgreSQL: `insert_rows` stores exactly what SQLAlchemy's own
`conn.execute(insert(table), rows)` stores (every column, read back raw), defaults included;
`ids_by_key` finds the new rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from postbot.domain import Status
from postbot.store import open_store
from postbot.store.bulk import ids_by_key, insert_rows
from postbot.store.posts import DELIVERY, POST
from postbot.store.sql import SQLStore

NOW = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
# The same instant three ways, and a fall-back hour twice (fold 0 and 1: an hour apart).
SAME = (NOW, NOW.astimezone(BERLIN), NOW.astimezone(timezone(timedelta(hours=-3))))
FOLDS = (datetime(2031, 10, 26, 2, 30, tzinfo=BERLIN), datetime(2031, 10, 26, 2, 30, fold=1,
                                                                 tzinfo=BERLIN))  # fmt: skip


@pytest.fixture
def sql_store(sql_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if sql_backend == "sqlite":
        url = f"sqlite:///{tmp_path}/t.db"
    else:
        url = request.getfixturevalue("pg_url")
        request.getfixturevalue("_pg_truncator")()
    store = open_store(url)
    store.ensure_schema()
    try:
        yield store
    finally:
        store.dispose()


def posts(prefix: str) -> list[dict[str, Any]]:
    return [
        {"key": f"{prefix}{i}", "headline": None if i % 2 else "Kopf", "teaser": f"Text {i} ü",
         "hashtags": ["a", "ß"], "link": "https://example.org", "language": "de",
         "media": [{"path": "a.png", "alt": "Bild"}] if i == 1 else [], "source": "posts/p.md",
         "content_hash": "ab" * 32, "updated_at": NOW, "parts": [] if i else ["zwei"],
         "variants": None if i % 2 else [{"name": "x", "text": "y"}], "every": None,
         "until_at": (*SAME, *FOLDS, None)[i], "created_at": SAME[i % 3]}
        for i in range(6)
    ]  # fmt: skip


def deliveries(post_id: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {"post_id": post_id, "account": f"a{i}", "platform": "mastodon", "key": f"{prefix}{i}",
         "text": "Hallo ✓", "status": Status.DRAFT if i else Status.QUEUED,
         "due_at": (*SAME, *FOLDS)[i], "next_attempt_at": FOLDS[i % 2], "attempts": 0,
         "dry_run": False, "created_at": NOW, "updated_at": SAME[i % 3], "part_count": 1,
         "text_hash": "cd" * 32}
        for i in range(5)
    ]  # fmt: skip


def stored(conn: Any, table: Any, prefix: str, leave: tuple[str, ...]) -> list[Any]:
    """The rows whose key starts with `prefix`, raw as the driver reads them."""
    names = ", ".join(f'"{c.name}"' for c in table.c if c.name not in leave)
    return conn.exec_driver_sql(
        f"SELECT {names} FROM {table.name} WHERE substr(key, 1, 3) = '{prefix}' ORDER BY id"
    ).all()


def uneven(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first row without a column the others give: SQLAlchemy's own path is taken."""
    del rows[0]["text_hash"]
    return rows


@pytest.mark.parametrize("shape", [list, uneven], ids=["even", "uneven"])
def test_the_same_values_as_sqlalchemy_stores(sql_store: SQLStore, shape: Any) -> None:
    found = {}
    with sql_store.write() as conn:
        for way in ("old", "new"):
            write = (lambda t, r: conn.execute(insert(t), r)) if way == "old" else (
                lambda t, r: insert_rows(conn, t, r))  # fmt: skip
            rows = posts(way)
            write(POST, rows)
            ids = ids_by_key(conn, POST, [r["key"] for r in rows])
            assert sorted(ids) == sorted(r["key"] for r in rows)
            write(DELIVERY, shape(deliveries(ids[f"{way}0"], way)))
            found[way] = (
                stored(conn, POST, way, ("id", "key")),
                stored(conn, DELIVERY, way, ("id", "key", "post_id")),
            )
    assert found["new"] == found["old"]
    assert len(found["new"][0]) == 6 and len(found["new"][1]) == 5


def test_an_update_for_many_rows_changes_what_sqlalchemy_changes(sql_store: SQLStore) -> None:
    """The daemon's record of outcomes (`run_many` of the delivery UPDATE, with the literal it
    binds itself: status = 'publishing'): the same rows changed, the same values, and the same
    count, which leaves out a row another worker holds."""
    from postbot.store.bulk import run_many
    from postbot.store.queue import _RECORD_DELIVERY

    found = {}
    with sql_store.write() as conn:
        for way in ("old", "new"):
            insert_rows(conn, POST, posts(way))
            post_id = ids_by_key(conn, POST, [f"{way}0"])[f"{way}0"]
            rows = deliveries(post_id, way)
            for row in rows:
                row.update(status=Status.PUBLISHING, lease_owner="w1")
            rows[4]["lease_owner"] = "w2"  # another worker's: not changed, not counted
            insert_rows(conn, DELIVERY, rows)
            ids = ids_by_key(conn, DELIVERY, [r["key"] for r in rows])
            outcomes = [
                {"b_id": ids[r["key"]], "b_worker": "w1",
                 "b_status": Status.PUBLISHED if i % 2 else Status.QUEUED,
                 "b_next": None if i % 2 else FOLDS[i % 2], "b_remote_id": f"r{i}" if i else None,
                 "b_remote_url": None, "b_error": "kaputt ü" if i == 2 else None,
                 "b_now": SAME[i % 3], "b_dry_run": bool(i % 2)}
                for i, r in enumerate(rows)
            ]  # fmt: skip
            if way == "old":
                count = conn.execute(_RECORD_DELIVERY, outcomes).rowcount
            else:
                count = run_many(conn, _RECORD_DELIVERY, outcomes)
            found[way] = (count, stored(conn, DELIVERY, way, ("id", "key", "post_id")))
    assert found["new"] == found["old"]
    assert found["new"][0] == 4
    assert [row.status for row in found["new"][1]][:4] == ["queued", "published"] * 2


def test_a_big_write_on_sqlite_widens_its_cache_and_gives_it_back(tmp_path: Path) -> None:
    # A bulk write's page cache is the connection's until it is checked in, then its own again.
    store = open_store(f"sqlite:///{tmp_path}/t.db")
    store.ensure_schema()
    try:
        with store.read() as conn:
            own = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
            first = id(conn.connection.dbapi_connection)
        with store.write() as conn:
            store.make_room(conn, 10)  # a small write: left as it is
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == own
            store.make_room(conn, 10_000)
            store.make_room(conn, 20_000)  # again in the same transaction: still its own after
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() < own < 0
        with store.read() as conn:
            assert id(conn.connection.dbapi_connection) == first  # the same connection, back
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == own
    finally:
        store.dispose()
