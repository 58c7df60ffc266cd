"""Log lines for people carry the time in the configured zone, to the second; JSON in UTC."""

from __future__ import annotations

import json
import logging
import re
from zoneinfo import ZoneInfo

import pytest

from postbot.logs import setup_logging


def test_text_lines_show_the_time_in_the_configured_zone_to_the_second(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("text", "INFO", (), ZoneInfo("Europe/Berlin"))
    logging.getLogger("postbot.test").info("post 1 -> x: published")
    line = capsys.readouterr().err.strip()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T INFO postbot.test: post 1 -> x: published", line
    ), line


def test_json_lines_keep_utc_for_machines(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("json", "INFO", (), ZoneInfo("Europe/Berlin"))
    logging.getLogger("postbot.test").info("hallo", extra={"account": "x"})
    entry = json.loads(capsys.readouterr().err)
    assert entry["time"].endswith("+00:00") and entry["account"] == "x"


def test_an_attempts_json_line_carries_the_attempt_logs_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from datetime import UTC, datetime

    from postbot.domain import Attempt, Claimed, Outcome, Result, Status
    from postbot.logs import attempt_fields
    from postbot.output.json import attempt

    t = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    item = Claimed(7, 3, "x", "x", "k", "Text", t, 2, t, None, None, (), ())
    result = Result(
        7,
        Outcome.PERMANENT,
        t,
        t,
        Status.FAILED,
        error_class="PermanentError",
        error_message="X: 403 Forbidden",
        http_status=403,
    )
    setup_logging("json", "INFO", (), ZoneInfo("Europe/Berlin"))
    logging.getLogger("postbot.dispatch").warning("failed", extra=attempt_fields(item, result))
    entry = json.loads(capsys.readouterr().err)
    logged = Attempt(
        1,
        7,
        3,
        "x",
        "x",
        "w",
        t,
        t,
        Outcome.PERMANENT,
        "PermanentError",
        "X: 403 Forbidden",
        403,
        None,
        None,
        False,
        {},
    )
    shape = set(attempt(logged)) - {"id"}  # `postbot log --json`, less the attempt's own id
    assert shape <= set(entry)
    assert {
        k: entry[k]
        for k in (
            "post_id",
            "delivery_id",
            "outcome",
            "http_status",
            "error_class",
            "error_message",
            "status",
            "attempt",
        )
    } == {
        "post_id": 3,
        "delivery_id": 7,
        "outcome": "permanent",
        "http_status": 403,
        "error_class": "PermanentError",
        "error_message": "X: 403 Forbidden",
        "status": "failed",
        "attempt": 2,
    }
    assert entry["started_at"] == "2031-05-06T07:08:09.000Z"


def test_a_text_lines_time_is_its_own_second_in_the_zone() -> None:
    """Lines of one second share the time worked out once; the next second gets its own, also
    across the night the clocks go back (Berlin, 03:00 CEST -> 02:00 CET)."""
    from datetime import UTC, datetime

    from postbot.logs import LocalTimeFormatter

    berlin = ZoneInfo("Europe/Berlin")
    formatter = LocalTimeFormatter(berlin)
    start = datetime(2031, 10, 26, 0, 59, 59, tzinfo=UTC).timestamp()  # 02:59:59 CEST
    written = []
    for created in (start + 0.1, start + 0.9, start + 1.0, start + 1.5, start + 3600.2):
        record = logging.LogRecord("postbot", logging.INFO, "", 0, "m", None, None)
        record.created = created
        written.append(formatter.formatTime(record))
    assert written == [
        "2031-10-26 02:59:59 CEST", "2031-10-26 02:59:59 CEST", "2031-10-26 02:00:00 CET",
        "2031-10-26 02:00:00 CET", "2031-10-26 02:59:59 CET",
    ]  # fmt: skip
