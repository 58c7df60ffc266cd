"""Logging for the daemon: one line per attempt, as text or JSON, with secrets masked.

Masking is a last line of defence: the code never logs a credential on purpose, but a
library's error message might quote one, so every configured secret value (and anything shaped
like a token) is replaced, by the same `Redactor` the adapters use.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo

from postbot.redact import Redactor

_FIELDS = ("post_id", "delivery_id", "account", "platform", "outcome", "status", "attempt",
           "remote_url", "remote_id", "error", "dry_run")  # fmt: skip


class RedactSecrets(logging.Filter):
    """Masks secrets in the message and in the `error` and `remote_url` fields of a record."""

    def __init__(self, secrets: Iterable[str] | Redactor = ()) -> None:
        super().__init__()
        self.redact = secrets if isinstance(secrets, Redactor) else Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        for name in ("error", "remote_url"):
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, self.redact(value))
        return True


class LocalTimeFormatter(logging.Formatter):
    """Text lines for people: the time in the configured zone, to the second, with its name."""

    def __init__(self, zone: tzinfo) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.zone = zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        from postbot.when import local_text

        return local_text(datetime.fromtimestamp(record.created, UTC), self.zone)


class JsonFormatter(logging.Formatter):
    """One JSON object per line for machines: the time in UTC, to the millisecond."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(
    fmt: str = "text",
    level: str = "INFO",
    secrets: Iterable[str] | Redactor = (),
    zone: tzinfo = UTC,
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LocalTimeFormatter(zone))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler logs every job run at INFO; only its warnings matter to an operator.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
