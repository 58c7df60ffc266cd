"""Operations for the CLI: `doctor`, `backup`, `restore` (the work is in `postbot.ops`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from postbot.ops.backup import Copied
from postbot.ops.doctor import DoctorReport
from postbot.service import App, open_app
from postbot.store import open_store

# A heartbeat this recent means a daemon may be running: restore waits for it to stop.
RUNNING_BEATS = 3
RUNNING_AT_LEAST = timedelta(seconds=30)


def doctor(config_path: str | Path | None, *, online: bool, alert: bool) -> DoctorReport:
    from postbot.ops.doctor import run_doctor

    return run_doctor(config_path, online=online, alert=alert)


def backup(app: App, path: Path, *, overwrite: bool = False) -> Copied:
    from postbot.ops.backup import backup as take

    return take(app.store, path, overwrite=overwrite)


def restore(config_path: str | Path | None, path: Path) -> Copied:
    """Put a backup in place of the configured SQLite database, then bring its schema up to
    date. The current database is opened as it is (not migrated): it may be the broken one."""
    from postbot.ops.backup import restore as put_back

    app = open_app(config_path, migrate=False)
    beat = app.settings.daemon.heartbeat_seconds
    fresh = max(RUNNING_AT_LEAST, timedelta(seconds=RUNNING_BEATS * beat))
    if app.store.schema_version() is None:
        fresh = timedelta(0)  # an empty database: no daemon ran on it
    restored = put_back(app.store, path, app.now(), fresh)
    store = open_store(app.settings.database_url)
    try:
        store.ensure_schema()  # a backup from an older postbot: upgraded now, with its rows
    finally:
        store.dispose()
    return restored
