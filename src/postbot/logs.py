"""Logging for the daemon: one line per attempt, as text or JSON, with secrets masked.

A JSON line of an attempt carries the fields of the attempt log (`postbot log --json`:
post_id, delivery_id, account, platform, started_at, finished_at, outcome, error_class,
error_message, http_status, remote_id, remote_url, dry_run, sent), plus the delivery's new
`status` and the `attempt` number; `attempt_fields` builds them, once, for the publisher.

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
from typing import TYPE_CHECKING, Any

from postbot.redact import Redactor

if TYPE_CHECKING:
    from postbot.domain import Claimed, Result

# The attempt log's fields (`postbot log --json`, less the attempt's own id), then the
# delivery's new status, the attempt number, and `error` (the same as error_message; older
# log readers know it by that name).
ATTEMPT_FIELDS = (
    "post_id",
    "delivery_id",
    "account",
    "platform",
    "started_at",
    "finished_at",
    "outcome",
    "error_class",
    "error_message",
    "http_status",
    "remote_id",
    "remote_url",
    "dry_run",
    "sent",
)
_FIELDS = (*ATTEMPT_FIELDS, "status", "attempt", "error")
_MASKED = ("error", "error_message", "remote_url")


def _iso(value: datetime) -> str:
    """UTC with a Z, to the millisecond (the line's own `time` is too)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def attempt_fields(item: Claimed, result: Result) -> dict[str, Any]:
    """The `extra` of an attempt's log line: what the attempt log records of it."""
    return {
        "post_id": item.post_id,
        "delivery_id": item.delivery_id,
        "account": item.account,
        "platform": item.platform,
        "started_at": result.started_at,  # as text in a JSON line (`JsonFormatter`)
        "finished_at": result.finished_at,
        "outcome": str(result.outcome),
        "error_class": result.error_class,
        "error_message": result.error_message,
        "http_status": result.http_status,
        "remote_id": result.remote_id,
        "remote_url": result.remote_url,
        "dry_run": result.dry_run,
        "sent": dict(result.detail) or None,
        "status": str(result.status),
        "attempt": item.attempts,
        "error": result.error_message,
    }


class RedactSecrets(logging.Filter):
    """Masks secrets in the message and in the `error`, `error_message` and `remote_url`
    fields of a record."""

    def __init__(self, secrets: Iterable[str] | Redactor = ()) -> None:
        super().__init__()
        self.redact = secrets if isinstance(secrets, Redactor) else Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        # The message formatted here once, masked, and kept: the formatter then has nothing
        # left to format again.
        record.msg, record.args = self.redact(record.getMessage()), None
        for name in _MASKED:
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, self.redact(value))
        return True


class LocalTimeFormatter(logging.Formatter):
    """Text lines for people: the time in the configured zone, to the second, with its name."""

    def __init__(self, zone: tzinfo) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.zone = zone
        self._last: tuple[int, str] = (-1, "")  # the last second written, and its text

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        from postbot.when import local_text

        # To the second: the lines of one second share their time (a busy daemon writes
        # thousands), worked out once. One tuple, so threads never see half of it.
        second = int(record.created)
        last = self._last
        if last[0] != second:
            last = (second, local_text(datetime.fromtimestamp(second, UTC), self.zone))
            self._last = last
        return last[1]


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
                value = getattr(record, name)
                # A time as the attempt log writes it; a text line never needs one at all.
                entry[name] = _iso(value) if isinstance(value, datetime) else value
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
    # Neither format shows where a line was logged from, nor the thread or process: so no
    # record looks them up (the logging HOWTO's "Optimization"; a frame walk per line).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # APScheduler logs every job run at INFO; only its warnings matter to an operator.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
