"""Shared by the benchmark items: projects, seeding, daemons, process statistics."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
LAUNCHER = [PYTHON, str(ROOT / "benchmarks" / "launcher.py")]
PG_ADMIN_URL = os.environ.get(
    "POSTBOT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEASER = (
    "Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel teilnimmt und über die Zukunft der "
    "Shanghaier Organisation für Zusammenarbeit spricht."
)
LINK = "https://example.org/politik/soz-gipfel-astana"
TAGS = ("XiJinping", "SOZGipfel")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- projects ----------------------------------------------------------------------------------
def config_text(
    db_url: str,
    accounts: dict[str, str],
    *,
    concurrency: int = 8,
    batch_size: int = 200,
    poll_interval: float = 0.5,
    heartbeat_seconds: float = 10,
    lease_seconds: float = 300,
    shutdown_grace: float = 30,
    account_options: dict[str, str] | None = None,
) -> str:
    lines = [
        'timezone = "Europe/Berlin"',
        'language = "de"',
        "[database]",
        f'url = "{db_url}"',
        "[daemon]",
        f"concurrency = {concurrency}",
        f"batch_size = {batch_size}",
        f"poll_interval = {poll_interval}",
        f"lease_seconds = {lease_seconds}",
        f"heartbeat_seconds = {heartbeat_seconds}",
        f"shutdown_grace = {shutdown_grace}",
    ]
    for name, platform in accounts.items():
        lines += [f"[accounts.{name}]", f'platform = "{platform}"']
        if platform in ("mastodon", "bluesky"):
            lines.append(f'base_url = "https://{platform}.invalid"')
        lines += [f'{key} = "{value}"' for key, value in (account_options or {}).items()]
    return "\n".join(lines) + "\n"


def make_project(root: Path, config: str) -> Path:
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "var").mkdir(exist_ok=True)
    (root / "config" / "postbot.toml").write_text(config, encoding="utf-8")
    return root / "config" / "postbot.toml"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTBOT_", "BENCH_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def open_app(config_path: Path) -> Any:
    """The application as the CLI builds it, with the benchmark platforms known."""
    from benchmarks.adapters import register

    register()
    from postbot.service import open_app as _open_app

    return _open_app(config_path)


@contextlib.contextmanager
def daemon_logging(log_path: Path) -> Iterator[None]:
    """The daemon's own logging set-up (`postbot run`), writing to a file instead of stderr."""
    from postbot.logs import setup_logging

    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_stderr = sys.stderr
    with open(log_path, "a", encoding="utf-8") as stream:
        sys.stderr = stream
        try:
            setup_logging("text", "INFO", ())
        finally:
            sys.stderr = saved_stderr
        try:
            yield
        finally:
            for handler in root.handlers:
                handler.flush()
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)


# -- rows as the library writes them (for seeding large queues fast) ----------------------------
def sql_time(value: datetime) -> str:
    """A UTC datetime the way the store writes it to SQLite."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def seed_sqlite(
    path: Path,
    posts: int,
    accounts: dict[str, str],
    due: Sequence[datetime] | datetime,
    *,
    chunk: int = 50_000,
) -> int:
    """Insert `posts` posts with one queued delivery per account, in the store's row format.

    Used only to prepare large queues quickly (100,000 and 1,000,000 rows); the rows are the
    ones `store.enqueue_many` writes (same columns, JSON, time format), and every benchmark that
    reads them does so through the store. Returns the number of deliveries.
    """
    now = sql_time(datetime.now(UTC))
    text = f"{TEASER} {LINK} #{TAGS[0]} #{TAGS[1]}"
    hashtags = json.dumps(list(TAGS))
    from postbot.duplicates import text_hash

    digest = text_hash(text)  # hex: safe in the statement
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    try:
        first = conn.execute("SELECT coalesce(max(id), 0) FROM post").fetchone()[0] + 1
        conn.execute("BEGIN")
        for start in range(0, posts, chunk):
            ids = range(first + start, first + min(posts, start + chunk))
            conn.executemany(
                "INSERT INTO post (id, key, headline, teaser, hashtags, link, language, media,"
                " source, content_hash, created_at, updated_at)"
                " VALUES (?, ?, NULL, ?, ?, ?, 'de', '[]', 'cli', ?, ?, ?)",
                ((i, f"bench:{i}", TEASER, hashtags, LINK, f"{i:064x}", now, now) for i in ids),
            )
            rows = []
            for i in ids:
                when = sql_time(due if isinstance(due, datetime) else due[i - first])
                for account, platform in accounts.items():
                    rows.append(
                        (i, account, platform, uuid.uuid4().hex, text, when, when, now, now)
                    )
            # part_count 1 and the text's hash, as enqueue writes them: a row without a
            # part_count is read as a possible thread (its parts looked up at every claim).
            conn.executemany(
                "INSERT INTO delivery (post_id, account, platform, key, text, status, due_at,"
                " next_attempt_at, attempts, created_at, updated_at, part_count, text_hash)"
                f" VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, 0, ?, ?, 1, '{digest}')",
                rows,
            )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return posts * len(accounts)


def create_schema(db_url: str) -> None:
    from postbot.store import open_store

    store = open_store(db_url)
    try:
        store.ensure_schema()
    finally:
        store.dispose()


def copy_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy (the source is checkpointed and closed)."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(dst) + suffix).unlink()
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    b.close()
    a.close()


# -- PostgreSQL ---------------------------------------------------------------------------------
def pg_available() -> str | None:
    """None if the server answers, else why not."""
    try:
        with _pg_connect() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # the reason is reported in the table
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def _pg_connect(database: str | None = None) -> Any:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN_URL)
    if database:
        url = url.set(database=database)
    return psycopg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
        connect_timeout=5,
    )


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """A throw-away database on the server; yields its SQLAlchemy URL, drops it after."""
    from sqlalchemy.engine import make_url

    name = f"postbot_bench_{uuid.uuid4().hex[:10]}"
    with _pg_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with _pg_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- processes ----------------------------------------------------------------------------------
class Daemon:
    """A real `postbot run` process (through the launcher), stopped with SIGTERM."""

    def __init__(
        self, project: Path, log_name: str = "daemon.log", env: dict[str, str] | None = None
    ) -> None:
        self.log_path = project / log_name
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*LAUNCHER, "run"],
            cwd=project,
            env=env or clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_started(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited: {self.log_path.read_text()[-2000:]}")
            if " started (worker " in self.log_path.read_text(encoding="utf-8", errors="replace"):
                return
            time.sleep(0.05)
        raise RuntimeError(f"daemon did not start within {timeout} s")

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int, key: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} for {pid}")


# -- numbers ------------------------------------------------------------------------------------
def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def utcnow() -> datetime:
    return datetime.now(UTC)


def in_seconds(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def machine() -> dict[str, Any]:
    import platform

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1),
        "cpu": model,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
