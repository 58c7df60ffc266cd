"""Where a Bluesky session lives between runs: a small JSON file, mode 0600, never the database.

Logins are scarce (createSession: 30 per 5 minutes, 300 a day per account), so the session is
kept and reused by later calls, other platform objects, `postbot accounts check` and daemon
restarts. A file belongs to one login on one PDS: a changed config never reuses it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("postbot.platforms.bluesky")


def default_path(account_name: str, home: Path | None = None) -> Path:
    """var/bluesky-NAME.session in the project folder (`home`; else the working folder)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", account_name)
    return (home or Path()) / "var" / f"bluesky-{safe}.session"


@dataclass(frozen=True)
class SessionFile:
    path: Path
    pds: str  # the PDS the session was created on
    account: str  # for log lines

    def load(self, identifier: str) -> str | None:
        """The stored session of `identifier` on this PDS, or None (absent, unreadable, other)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning(
                "bluesky %s: cannot read %s (%s)", self.account, self.path, type(exc).__name__
            )
            return None
        if (
            not isinstance(data, dict)
            or data.get("pds") != self.pds
            or data.get("identifier") != identifier
            or not isinstance(data.get("session"), str)
        ):
            return None
        session: str = data["session"]
        return session

    def save(self, identifier: str, session: str) -> None:
        """Store `session`; a failure is logged, not raised (the session still works in memory,
        the next start logs in again)."""
        path = self.path
        payload = json.dumps({"pds": self.pds, "identifier": identifier, "session": session})
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Created 0600 from the start (not chmod-ed later): the tokens are never readable
            # by others, not even for a moment. Replaced atomically for concurrent readers.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning(
                "bluesky %s: cannot store the session in %s (%s)",
                self.account,
                path,
                type(exc).__name__,
            )
            tmp.unlink(missing_ok=True)
