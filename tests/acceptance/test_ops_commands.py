"""`postbot doctor` against good and broken setups, and `postbot backup` taken while a daemon
publishes, then restored; through the CLI and the local fake platforms."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from postbot.store import SCHEMA_HEAD
from postbot.store.migrate import upgrade
from tests.acceptance.conftest import SECRETS, Daemon, Platforms, query, sqlite_url
from tests.fakes.mastodon_server import Fault as MastodonFault
from tests.support import assert_refused, clean_env, make_project, run_postbot, wait_until

pytestmark = pytest.mark.timeout(180)


def doctor(project: Path, env: dict[str, str], *args: str) -> tuple[int, dict[str, str]]:
    done = run_postbot(project, "doctor", *args, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    return done.returncode, lines


def enqueue(project: Path, env: dict[str, str], text: str, *args: str) -> str:
    done = run_postbot(project, "enqueue", text, *args, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_doctor_passes_a_good_setup_offline_and_online(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    project = platforms.project(tmp_path, posts_dir="posts")
    env = platforms.env()
    (project / "posts" / "a.md").write_text("---\nat: 2031-01-01 08:00\n---\nHallo\n")
    assert run_postbot(project, "status", env=env).returncode == 0  # the schema, made
    daemon = start_daemon(project, env)
    db = project / "var" / "postbot.db"
    assert wait_until(
        lambda: db.exists() and query(sqlite_url(project), "SELECT * FROM heartbeat"), 30
    ), daemon.log()

    code, lines = doctor(project, env)
    assert code == 0, lines
    assert list(lines) == [
        "config",
        "database",
        "writable",
        "account bluesky",
        "account mastodon",
        "account x",
        "clock",
        "disk",
        "posts",
        "heartbeat",
        "publishing",
        "alerts",
    ]
    assert all(v.startswith("OK") for v in lines.values()), lines
    assert "1 post file(s)" in lines["posts"]

    done = run_postbot(project, "doctor", "--online", "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["alerts_sent"] is None
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["account mastodon"]["detail"].startswith("logged in as @")
    assert checks["clock"]["ok"] and "of 3 server(s)" in checks["clock"]["detail"]
    assert daemon.terminate() == 0


def test_doctor_names_what_is_broken_and_exits_1(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    project = platforms.project(tmp_path)
    env = platforms.env()
    enqueue(project, env, "Hallo", "--now", "--to", "mastodon")

    # No daemon ever ran; a credential is not set.
    without = {k: v for k, v in env.items() if k != "X_ACCESS_TOKEN"}
    code, lines = doctor(project, without)
    assert code == 1
    assert lines["heartbeat"] == "no worker has sent a heartbeat (is `postbot run` running?)"
    assert lines["account x"].startswith("environment variable X_ACCESS_TOKEN (access_token)")
    assert lines["account mastodon"].startswith("OK")

    # A token the platform refuses, found online.
    wrong = {**env, "MASTODON_ACCESS_TOKEN": "WRONG-MASTO-TOKEN-0000"}
    code, lines = doctor(project, wrong, "--online")
    assert code == 1 and "HTTP 401" in lines["account mastodon"], lines

    # A delivery held past its lease by a worker that died.
    url = sqlite_url(project)
    with sqlite3.connect(project / "var" / "postbot.db") as conn:
        conn.execute(
            "UPDATE delivery SET status = 'publishing', lease_owner = 'dead',"
            " lease_expires_at = '2020-01-01 00:00:00.000000'"
        )
    code, lines = doctor(project, env)
    assert code == 1
    assert lines["publishing"].startswith("1 deliveries stuck in publishing past their lease")
    assert query(url, "SELECT status FROM delivery")[0]["status"] == "publishing"  # untouched

    # The database file made unwritable (root writes through chmod, not through +i).
    db = project / "var" / "postbot.db"
    made = subprocess.run(["chattr", "+i", str(db)], capture_output=True, text=True)
    if made.returncode == 0:
        try:
            code, lines = doctor(project, env)
            # Refused as soon as the store opens it: "database path …: not writable".
            assert code == 1 and "not writable" in lines["database"], lines
            assert lines["heartbeat"].startswith("not checked")
        finally:
            subprocess.run(["chattr", "-i", str(db)], check=True)
    elif os.environ.get("CI"):
        pytest.fail(f"cannot make {db} immutable: {made.stderr}")

    # A typo in the config: the one line doctor can give, and exit 1.
    config = project / "config" / "postbot.toml"
    config.write_text(config.read_text().replace("timezone =", "timezon ="))
    code, lines = doctor(project, env)
    assert code == 1 and list(lines) == ["config"]
    assert "timezon: unknown key; did you mean 'timezone'?" in lines["config"]
    for output in lines.values():
        assert not any(secret in output for secret in SECRETS)


def test_a_backup_taken_while_publishing_restores_consistently(
    platforms: Platforms, tmp_path: Path, start_daemon: Callable[..., Daemon]
) -> None:
    project = platforms.project(tmp_path)
    env = platforms.env()
    texts = [f"Meldung {n:03d}" for n in range(300)]
    folder = project / "incoming"
    folder.mkdir()
    for n, text in enumerate(texts):
        (folder / f"p{n:03d}.md").write_text(f"---\nto: [mastodon]\n---\n{text}\n")
    done = run_postbot(project, "enqueue", "--file", "incoming", env=env)
    assert done.returncode == 0, done.stderr
    platforms.mastodon.fail_faults = (MastodonFault.slow(0.05),)
    platforms.mastodon.fail_rate = 1.0
    daemon = start_daemon(project, env)
    url = sqlite_url(project)

    def published() -> int:
        return int(
            query(url, "SELECT count(*) AS n FROM delivery WHERE status = 'published'")[0]["n"]
        )

    assert wait_until(lambda: published() >= 30, timeout=60), daemon.log()[-2000:]
    backup = project / "var" / "backup.db"
    done = run_postbot(project, "backup", str(backup), "--json", env=env)
    assert done.returncode == 0, done.stderr
    taken = json.loads(done.stdout)
    during = published()
    assert taken["rows"]["attempt"] >= 30 and during < 300, (taken, during)  # mid-run
    assert wait_until(lambda: published() == 300, timeout=90), daemon.log()[-2000:]

    # The copy is one consistent moment: every published delivery has its attempt, and what
    # was in flight then is publishing there, never half-recorded.
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        states = dict(conn.execute("SELECT status, count(*) FROM delivery GROUP BY status"))
        orphans = conn.execute(
            "SELECT count(*) FROM delivery d WHERE d.status = 'published' AND NOT EXISTS"
            " (SELECT 1 FROM attempt a WHERE a.delivery_id = d.id AND a.outcome = 'published')"
        ).fetchone()[0]
    assert orphans == 0 and sum(states.values()) == 300
    assert states["published"] == taken["rows"]["attempt"]
    assert not (project / "var" / "backup.db-wal").exists()  # self-contained
    # Refused: a restore while the daemon runs (it writes on: no snapshot to compare); the
    # database is left as it was.
    running = run_postbot(project, "restore", str(backup), env=env)
    assert running.returncode == 2 and "a daemon is running" in running.stderr, running.stderr
    assert published() == 300
    assert daemon.terminate() == 0

    # Newer schema: refused, nothing touched.
    newer = project / "var" / "newer.db"
    shutil.copy(backup, newer)
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    time.sleep(0.1)
    refusal = assert_refused(project, "restore", str(newer), env={**env})
    assert "schema version '9999', newer than this postbot's" in refusal

    # Once no heartbeat is fresh (the daemon said goodbye), the restore goes through.
    done = run_postbot(project, "restore", str(backup), "--json", env=env)
    assert done.returncode == 0, done.stderr
    restored = json.loads(done.stdout)
    assert restored["rows"] == taken["rows"]
    assert Path(restored["saved"]).exists()
    status = json.loads(run_postbot(project, "status", "--json", env=env).stdout)
    assert status["counts"] == states
    with sqlite3.connect(restored["saved"]) as conn:  # the replaced database, kept whole
        assert conn.execute(
            "SELECT count(*) FROM delivery WHERE status = 'published'"
        ).fetchone() == (300,)


class _SlowClock(BaseHTTPRequestHandler):
    """A server whose clock is ten minutes behind: its Date header says so."""

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.end_headers()

    do_GET = do_HEAD

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(time.time() - 600, usegmt=True)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_doctor_names_a_clock_out_of_step_and_a_database_not_yet_migrated(
    tmp_path: Path,
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowClock)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = (
        'timezone = "Europe/Berlin"\n[database]\nurl = "sqlite:///../var/postbot.db"\n'
        '[accounts.mastodon]\nplatform = "mastodon"\n'
        f'base_url = "http://127.0.0.1:{server.server_port}"\n'
        'credentials = { access_token = "MASTODON_ACCESS_TOKEN" }\n'
    )
    project = make_project(tmp_path, config)
    (project / "var").mkdir()
    env = clean_env(MASTODON_ACCESS_TOKEN="fake-token-for-the-clock-test")
    try:
        code, lines = doctor(project, env, "--online")
    finally:
        server.shutdown()
    assert code == 1
    assert re.match(r"60[01] s ahead of http://127\.0\.0\.1:\d+: ", lines["clock"]), lines
    assert "keep the clock in sync" in lines["clock"]

    # A database that an older postbot left at its first schema: named, and left as it is.
    db = project / "var" / "postbot.db"
    db.unlink()
    engine = create_engine(f"sqlite:///{db}")
    upgrade(engine, "0001")
    engine.dispose()
    code, lines = doctor(project, env)
    assert code == 1
    assert lines["database"].startswith(f"at schema version 0001, not {SCHEMA_HEAD}"), lines
    assert query(f"sqlite:///{db}", "SELECT version_num FROM alembic_version") == [
        {"version_num": "0001"}
    ]
