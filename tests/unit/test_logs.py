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
