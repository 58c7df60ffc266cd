"""How a sleeping daemon hears that the database changed: PostgreSQL's LISTEN/NOTIFY
(postgresql.py), SQLite's data_version (sqlite.py), or, as a fallback, polling."""

from __future__ import annotations

import time


class ChangeWatcher:
    """Tells a sleeping daemon that something in the database changed."""

    def changed(self) -> bool:
        return True

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds for a change; True if there was one."""
        time.sleep(timeout)
        return self.changed()

    def close(self) -> None:
        pass


class PollingWatcher(ChangeWatcher):
    """Fallback: assume a change every time (the daemon then re-reads the next due time)."""
