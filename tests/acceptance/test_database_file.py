"""A database that is not postbot's: one line, exit 1 or 2, and the file exactly as it was.

The file named by `[database] url` may be something else: not SQLite at all, an SQLite file
that is damaged, or another application's database. Every command refuses it with one line
(no traceback); postbot never writes to it, and never adds its tables to it. The same holds for
a PostgreSQL database that holds another application's tables.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.support import clean_env, make_project, run_postbot

COMMANDS = {
    "status": ["status"],
    "list": ["list"],
    "enqueue": ["enqueue", "Hallo", "--at", "+1h"],
    "run --once": ["run", "--dry-run", "--once"],
}


def _not_sqlite(path: Path) -> None:
    path.write_text("Liebe Redaktion,\nhier ist die Liste der Beiträge.\n", encoding="utf-8")


def _damaged(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE post (id INTEGER PRIMARY KEY, teaser TEXT)")
    conn.executemany("INSERT INTO post (teaser) VALUES (?)", [("x" * 200,)] * 500)
    conn.commit()
    conn.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = os.urandom(3996)  # the first page past the header: sqlite_master
    path.write_bytes(bytes(data))


def _another_application(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO customers (name) VALUES ('Müller')")
    conn.commit()
    conn.close()


def _another_alembic_application(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
    conn.execute("INSERT INTO alembic_version VALUES ('4f2e9a1c7b3d')")
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()


FILES = {
    "not sqlite": (_not_sqlite, 2, "not an SQLite database"),
    "damaged": (_damaged, 1, "is damaged: database disk image is malformed"),
    "another application's": (_another_application, 2, "holds tables that are not postbot's"),
    "another alembic application's": (
        _another_alembic_application, 2, "schema version '4f2e9a1c7b3d', which is not one of",
    ),
}  # fmt: skip


def _digest(folder: Path) -> dict[str, str]:
    """Every file in the folder and its content hash: nothing may change, nothing appear."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
@pytest.mark.parametrize("kind", list(FILES), ids=list(FILES))
def test_a_file_that_is_not_postbots_database_is_refused_and_left_alone(
    tmp_path: Path, kind: str, command: str
) -> None:
    project = make_project(tmp_path)
    db = project / "var" / "postbot.db"
    db.parent.mkdir()
    make, code, message = FILES[kind]
    make(db)
    before = _digest(db.parent)

    done = run_postbot(project, *COMMANDS[command])

    assert done.returncode == code, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("postbot: error: "), lines
    assert message in lines[0], lines
    assert str(db) in lines[0] or "var/postbot.db" in lines[0], lines
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert _digest(db.parent) == before  # not a byte changed, no journal or WAL file added


@pytest.mark.postgres
def test_a_postgresql_database_with_another_applications_tables_is_refused(
    tmp_path: Path, pg_empty_url: str
) -> None:
    engine = create_engine(pg_empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE customers (id serial PRIMARY KEY, name text)"))
            conn.execute(text("INSERT INTO customers (name) VALUES ('Müller')"))
        project = make_project(tmp_path)
        done = run_postbot(
            project,
            "enqueue",
            "Hallo",
            "--at",
            "+1h",
            env=clean_env(POSTBOT_DATABASE_URL=pg_empty_url),
        )
        assert done.returncode == 2, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert "holds tables that are not postbot's (customers)" in line, line
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == ["customers"]
            assert conn.execute(text("SELECT name FROM customers")).scalars().all() == ["Müller"]
    finally:
        engine.dispose()


def test_an_empty_file_becomes_postbots_database(tmp_path: Path) -> None:
    """An empty file is what `touch` leaves: SQLite makes a database of it, so does postbot."""
    project = make_project(tmp_path)
    db = project / "var" / "postbot.db"
    db.parent.mkdir()
    db.write_bytes(b"")
    assert run_postbot(project, "enqueue", "Hallo", "--at", "+1h").returncode == 0
    assert run_postbot(project, "status").returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM post").fetchone() == (1,)
