"""Alembic migrations on both databases: build from empty, tear down, upgrade with data.

Each test starts from an empty database (`empty_db_url`: a new SQLite file, or a new
PostgreSQL database dropped afterwards). The upgrade test is generic over the revision
chain: rows written at the first revision must survive every later step unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, MetaData, Table, inspect, select

from postbot.domain import MediaItem
from postbot.store import SCHEMA_HEAD, migrate, open_store
from postbot.store.base import REVISIONS
from postbot.store.feed_tables import FeedItemRow, FeedRow, ReviewRow
from postbot.store.sql import SQLStore
from postbot.store.tables import (
    AlertMessageRow,
    AttemptRow,
    DeliveryRow,
    HeartbeatRow,
    IncidentRow,
    PartRow,
    PostRow,
)

pytestmark = pytest.mark.timeout(120)

TABLES = ("post", "delivery", "attempt", "heartbeat")  # the tables of the first revision
OPS_TABLES = ("incident", "alert_message")  # 0006: no rows before it
FEED_TABLES = ("review", "feed", "feed_item")  # 0009
HEAD_TABLES = (*TABLES, "delivery_part", *OPS_TABLES, *FEED_TABLES)
MODELS = {
    "post": PostRow,
    "delivery": DeliveryRow,
    "attempt": AttemptRow,
    "heartbeat": HeartbeatRow,
    "incident": IncidentRow,
    "alert_message": AlertMessageRow,
    "delivery_part": PartRow,
    "review": ReviewRow,
    "feed": FeedRow,
    "feed_item": FeedItemRow,
}
EXPECTED_COLUMNS = {
    "post": {
        "id", "key", "headline", "teaser", "hashtags", "link", "language", "media", "source",
        "content_hash", "created_at", "updated_at", "parts", "variants",
        "every", "until_at", "series_id", "occurrence_at", "series_stopped_at",  # 0007
    },
    "delivery": {
        "id", "post_id", "account", "platform", "key", "text", "status", "due_at",
        "next_attempt_at", "attempts", "lease_owner", "lease_expires_at", "remote_id",
        "remote_url", "last_error", "dry_run", "created_at", "updated_at", "part_count",
        "scheduled_id", "handover_refused", "slot_at", "text_hash",
    },
    "delivery_part": {
        "id", "delivery_id", "idx", "text", "remote_id", "remote_url", "ref", "published_at",
        "dry_run",
    },
    "attempt": {
        "id", "delivery_id", "worker", "started_at", "finished_at", "outcome", "error_class",
        "error_message", "http_status", "remote_id", "remote_url", "dry_run", "detail",
    },
    "heartbeat": {"worker", "host", "pid", "dry_run", "started_at", "seen_at"},
    "incident": {
        "id", "key", "open_key", "kind", "subject", "account", "delivery_id", "condition",
        "opened_at", "last_seen_at", "seen", "message_id", "resolved_at",
    },
    "alert_message": {"id", "sent_at"},
    "review": {"id", "post_id", "decision", "by", "at", "detail"},
    "feed": {
        "name", "url", "etag", "last_modified", "polled_at", "result", "error", "failures",
        "next_poll_at", "watched_since", "items_seen", "posts_created", "body_hash",
    },
    "feed_item": {
        "id", "feed", "key", "article", "post_id", "content_hash", "title", "link", "seen_at",
        "updated_at", "note",
    },
}  # fmt: skip
T0 = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


@pytest.fixture
def bare_store(empty_db_url: str) -> Iterator[SQLStore]:
    """A store on an empty database; the test decides which revision to migrate to."""
    store = open_store(empty_db_url)
    assert isinstance(store, SQLStore)
    try:
        yield store
    finally:
        store.dispose()


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory(str(migrate.MIGRATIONS))
    chain = [r.revision for r in script.walk_revisions("base", "heads")]
    return chain[::-1]


def downgrade(store: SQLStore, revision: str) -> None:
    command.downgrade(migrate.alembic_config(store.engine), revision)  # type: ignore[arg-type]


def tables(store: SQLStore) -> set[str]:
    return set(inspect(store.engine).get_table_names())


def columns(store: SQLStore, table: str) -> dict[str, Any]:
    return {c["name"]: c for c in inspect(store.engine).get_columns(table)}


# -- from empty to head ------------------------------------------------------------------------
def test_revision_chain_is_linear_and_ends_at_schema_head() -> None:
    chain = revisions()
    assert chain, "no migrations found"
    assert chain[-1] == migrate.head_revision() == SCHEMA_HEAD
    assert tuple(chain) == REVISIONS  # the versions postbot knows without loading Alembic
    assert len(set(chain)) == len(chain)
    script = ScriptDirectory(str(migrate.MIGRATIONS))
    assert len(script.get_heads()) == 1, "more than one head: merge the branches"


def test_upgrade_from_empty_builds_the_tables(bare_store: SQLStore) -> None:
    assert bare_store.schema_version() is None
    assert tables(bare_store) == set()

    bare_store.ensure_schema()

    assert bare_store.schema_version() == SCHEMA_HEAD
    assert tables(bare_store) == {*HEAD_TABLES, "alembic_version"}
    for table in HEAD_TABLES:
        got = columns(bare_store, table)
        assert set(got) == EXPECTED_COLUMNS[table], table
        # The migrations and the models describe the same columns, nullability included.
        model = MODELS[table].__table__  # type: ignore[attr-defined]
        assert set(got) == {c.name for c in model.columns}, table
        for column in model.columns:
            if column.primary_key:
                continue
            assert got[column.name]["nullable"] == column.nullable, f"{table}.{column.name}"

    insp = inspect(bare_store.engine)
    assert insp.get_pk_constraint("heartbeat")["constrained_columns"] == ["worker"]
    assert insp.get_pk_constraint("delivery")["constrained_columns"] == ["id"]
    uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("delivery")} | {
        tuple(i["column_names"]) for i in insp.get_indexes("delivery") if i.get("unique")
    }
    assert ("post_id", "account") in uniques
    indexes = {i["name"]: i["column_names"] for i in insp.get_indexes("delivery")}
    assert indexes["ix_delivery_status_next"] == ["status", "next_attempt_at"]
    assert indexes["ix_delivery_post_id"] == ["post_id"]
    # 0008: the duplicate guard's lookup, and an account's month (X spend, budget).
    assert indexes["ix_delivery_account_hash"] == ["account", "text_hash"]
    assert indexes["ix_delivery_account_status_updated"] == ["account", "status", "updated_at"]
    part_indexes = {i["name"]: i["column_names"] for i in insp.get_indexes("delivery_part")}
    assert part_indexes["ix_delivery_part_published_at"] == ["published_at"]
    attempt_indexes = {i["name"]: i["column_names"] for i in insp.get_indexes("attempt")}
    assert attempt_indexes["ix_attempt_started_at"] == ["started_at"]
    fks = {
        (t, fk["constrained_columns"][0], fk["referred_table"])
        for t in ("delivery", "attempt", "delivery_part")
        for fk in insp.get_foreign_keys(t)
    }
    assert fks == {
        ("delivery", "post_id", "post"),
        ("attempt", "delivery_id", "delivery"),
        ("delivery_part", "delivery_id", "delivery"),
    }
    part_uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("delivery_part")}
    assert ("delivery_id", "idx") in part_uniques
    # 0006: one open incident per key; pending alerts and kinds found by index.
    incident_indexes = {i["name"]: i["column_names"] for i in insp.get_indexes("incident")}
    assert incident_indexes["ix_incident_kind"] == ["kind"]
    assert incident_indexes["ix_incident_message_id"] == ["message_id"]
    incident_uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("incident")}
    assert ("open_key",) in incident_uniques | {
        tuple(i["column_names"]) for i in insp.get_indexes("incident") if i.get("unique")
    }
    message_indexes = {i["name"]: i["column_names"] for i in insp.get_indexes("alert_message")}
    assert message_indexes["ix_alert_message_sent_at"] == ["sent_at"]
    # 0007: the free-slot search by key; one holder per slot; one post per occurrence.
    assert indexes["ix_delivery_account_due"] == ["account", "due_at"]
    slot_index = next(i for i in insp.get_indexes("delivery") if i["name"] == "uq_delivery_slot")
    assert (slot_index["column_names"], bool(slot_index["unique"])) == (
        ["account", "slot_at"],
        True,
    )
    post_indexes = {i["name"]: i for i in insp.get_indexes("post")}
    assert post_indexes["uq_post_occurrence"]["column_names"] == ["series_id", "occurrence_at"]
    assert post_indexes["uq_post_occurrence"]["unique"]
    # 0009: an article key once per feed, for good.
    item_uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("feed_item")}
    assert ("feed", "key") in item_uniques
    assert insp.get_pk_constraint("feed")["constrained_columns"] == ["name"]

    # A second ensure_schema is a no-op; the store works at head.
    bare_store.ensure_schema()
    assert bare_store.schema_version() == SCHEMA_HEAD
    assert bare_store.status_summary().counts == {}


def test_downgrade_to_base_and_upgrade_again(bare_store: SQLStore, make_plan: Any) -> None:
    bare_store.ensure_schema()
    bare_store.enqueue(make_plan("before"), T0, T0)

    downgrade(bare_store, "base")
    assert tables(bare_store) & set(HEAD_TABLES) == set()
    assert bare_store.schema_version() is None

    bare_store.ensure_schema()
    assert bare_store.schema_version() == SCHEMA_HEAD
    assert tables(bare_store) >= set(TABLES)
    assert bare_store.list_posts() == []
    post_id = bare_store.enqueue(make_plan("after"), T0 - timedelta(seconds=1), T0)
    claimed = bare_store.claim_due("w1", T0, 10, timedelta(minutes=1))
    assert {c.post_id for c in claimed} == {post_id}


def test_downgrade_step_by_step_and_back(bare_store: SQLStore) -> None:
    chain = revisions()
    bare_store.ensure_schema()
    for previous in [*chain[-2::-1], "base"]:
        downgrade(bare_store, previous)
        assert bare_store.schema_version() == (None if previous == "base" else previous)
    for revision in chain:
        migrate.upgrade(bare_store.engine, revision)
        assert bare_store.schema_version() == revision
    assert tables(bare_store) >= set(TABLES)


# -- upgrading a database that holds rows ----------------------------------------------------
def _rows_at_first_revision() -> dict[str, list[dict[str, Any]]]:
    """Rows valid for the first revision's schema, with umlauts, NULLs and microseconds."""
    posts = [
        {
            "id": i, "key": f"file:posts/{i}.md",
            "headline": None if i == 2 else f"Überschrift {i}",
            "teaser": f"Grüße Nr. {i} – „schön“", "hashtags": ["Köln", f"tag{i}"],
            "link": "https://example.org/ä" if i != 3 else None, "language": "de",
            "media": [{"path": f"/srv/Bär{i}.png", "alt": "Ein Bär"}] if i == 1 else [],
            "source": f"posts/{i}.md", "content_hash": hashlib.sha256(bytes([i])).hexdigest(),
            "created_at": T0 + timedelta(seconds=i, microseconds=i),
            "updated_at": T0 + timedelta(seconds=2 * i, microseconds=7),
        }
        for i in (1, 2, 3)
    ]  # fmt: skip
    statuses = ["queued", "publishing", "published", "failed", "cancelled", "unknown", "missed"]
    deliveries = [
        {
            "id": n, "post_id": 1 + n % 3, "account": f"konto-{n}", "platform": "x",
            "key": f"{n:032x}", "text": f"Text {n} mit ß", "status": status,
            "due_at": T0 - timedelta(minutes=n, microseconds=n),
            "next_attempt_at": T0 + timedelta(minutes=n),
            "attempts": n % 4,
            "lease_owner": "w1" if status == "publishing" else None,
            "lease_expires_at": T0 + timedelta(minutes=5) if status == "publishing" else None,
            "remote_id": f"r{n}" if status == "published" else None,
            "remote_url": f"https://x.com/i/status/{n}" if status == "published" else None,
            "last_error": "Fehler: ü" if status == "failed" else None,
            "created_at": T0, "updated_at": T0 + timedelta(microseconds=n),
        }
        for n, status in enumerate(statuses, start=1)
    ]  # fmt: skip
    attempts = [
        {
            "id": n, "delivery_id": 1 + n % len(statuses), "worker": f"w{n % 2}",
            "started_at": T0 + timedelta(seconds=n), "finished_at": T0 + timedelta(seconds=n + 1),
            "outcome": ["published", "transient", "permanent", "unknown"][n % 4],
            "error_class": None if n % 2 else "TransientError",
            "error_message": None if n % 2 else "503 – später",
            "http_status": None if n % 3 else 503, "remote_id": None, "remote_url": None,
            "dry_run": n % 2 == 0, "detail": {"text": f"Grüße {n}", "n": n, "ok": True},
        }
        for n in range(1, 6)
    ]  # fmt: skip
    heartbeats = [
        {"worker": "host-a:1", "host": "host-a", "pid": 1, "dry_run": False,
         "started_at": T0, "seen_at": T0 + timedelta(seconds=30)},
        {"worker": "host-b:2", "host": "host-b", "pid": 2, "dry_run": True,
         "started_at": T0, "seen_at": T0 + timedelta(seconds=31, microseconds=5)},
    ]  # fmt: skip
    return {"post": posts, "delivery": deliveries, "attempt": attempts, "heartbeat": heartbeats}


def _normalize(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite through reflected (plain) DateTime columns
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, str):
        try:  # JSON stored as text reads back as a string on some setups
            return json.dumps(json.loads(value), sort_keys=True, ensure_ascii=False)
        except ValueError:
            return value
    return value


def _snapshot(store: SQLStore, wanted: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    """Per table: row count and a checksum of the given columns, rows in primary-key order."""
    meta = MetaData()
    out = {}
    with store.read() as conn:
        for name, cols in wanted.items():
            table = Table(name, meta, autoload_with=conn)
            order = [c for c in table.primary_key.columns]
            rows = conn.execute(select(*(table.c[c] for c in cols)).order_by(*order)).all()
            text = json.dumps(
                [[_normalize(v) for v in row] for row in rows], ensure_ascii=False, default=str
            )
            out[name] = (len(rows), hashlib.sha256(text.encode()).hexdigest())
    return out


def test_rows_survive_every_upgrade_step(bare_store: SQLStore) -> None:
    chain = revisions()
    first = chain[0]
    migrate.upgrade(bare_store.engine, first)
    assert bare_store.schema_version() == first

    # Write through the tables as the first revision built them (reflected, not the models).
    # Ids come from the database (so its sequences stay right); foreign keys are mapped.
    data = _rows_at_first_revision()
    meta = MetaData()
    ids: dict[str, dict[int, int]] = {"post": {}, "delivery": {}}
    with bare_store.write() as conn:
        for name in TABLES:
            table = Table(name, meta, autoload_with=conn)
            for column in ("hashtags", "media", "detail"):
                if column in table.c and not isinstance(table.c[column].type, JSON):
                    table.c[column].type = JSON()  # reflected as plain text on some backends
            for row in data[name]:
                values = dict(row)
                logical = values.pop("id", None)
                if "post_id" in values:
                    values["post_id"] = ids["post"][values["post_id"]]
                if "delivery_id" in values:
                    values["delivery_id"] = ids["delivery"][values["delivery_id"]]
                key = conn.execute(table.insert(), values).inserted_primary_key
                assert key is not None
                if name in ids and logical is not None:
                    ids[name][logical] = key[0]
    wanted = {name: [c.name for c in Table(name, MetaData(), autoload_with=bare_store.engine).c]
              for name in TABLES}  # fmt: skip
    before = _snapshot(bare_store, wanted)
    assert {name: n for name, (n, _) in before.items()} == {
        name: len(rows) for name, rows in data.items()
    }

    for revision in chain[1:]:
        migrate.upgrade(bare_store.engine, revision)
        assert bare_store.schema_version() == revision
        assert _snapshot(bare_store, wanted) == before, f"rows changed by {revision}"

    # At head the store reads what the first revision stored.
    bare_store.ensure_schema()
    assert bare_store.schema_version() == SCHEMA_HEAD
    assert _snapshot(bare_store, wanted) == before
    post = bare_store.get_post(ids["post"][1])
    assert post.teaser == "Grüße Nr. 1 – „schön“"
    assert list(post.hashtags) == ["Köln", "tag1"]
    assert list(post.media) == [MediaItem("/srv/Bär1.png", "Ein Bär")]
    assert post.created_at == T0 + timedelta(seconds=1, microseconds=1)
    summary = bare_store.status_summary()
    assert sum(summary.counts.values()) == len(data["delivery"])
    assert {w.worker: w.dry_run for w in summary.workers} == {
        "host-a:1": False,
        "host-b:2": True,
    }
    assert [a.detail["n"] for a in bare_store.attempts()] == [1, 2, 3, 4, 5]
    # 0002: a delivery stored before dry runs left a mark is live; nothing waits for golive.
    assert {d.dry_run for p in bare_store.list_posts() for d in p.deliveries} == {False}
    assert summary.dry_run == {}
    # 0004: a post stored before threads is a single post without variants; its deliveries
    # were queued before threads existed (part_count NULL), none is handed to a server.
    assert {(p.parts, p.variants) for p in bare_store.list_posts()} == {((), ())}
    stored = [d for p in bare_store.list_posts() for d in p.deliveries]
    assert {(d.part_count, d.parts, d.scheduled_id, d.handover_refused) for d in stored} == {
        (None, (), None, False)
    }
    claimed = bare_store.claim_due("w2", T0 + timedelta(hours=1), 100, timedelta(minutes=5))
    assert claimed and {(c.part_count, c.parts) for c in claimed} == {(None, ())}
    # New rows still get fresh ids.
    new_id = bare_store.enqueue(_plan(), T0, T0)
    assert new_id not in ids["post"].values()


def _plan() -> Any:
    from postbot.drafts import Draft, Plan, Target

    return Plan(Draft(teaser="neu", key="neu"), (Target("konto-neu", "x", "neu", 3, 280),))
