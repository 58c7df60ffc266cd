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
from datetime import UTC, datetime

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


class JsonFormatter(logging.Formatter):
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
    fmt: str = "text", level: str = "INFO", secrets: Iterable[str] | Redactor = ()
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler logs every job run at INFO; only its warnings matter to an operator.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
