"""How results look: to people (`text`: Rich tables and lines, times in the configured zone)
and to scripts (`json`: the `--json` shapes the README documents). Nothing here reads or
writes the database; the CLI hands over what `service` returned.
"""

from __future__ import annotations

import json as _json
import sys
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from postbot.when import local_text

if TYPE_CHECKING:
    from rich.console import Console


def local(value: datetime | None, zone: tzinfo) -> str:
    """A time as people read it: in the configured zone, to the second, with the zone's name."""
    if value is None:
        return "-"
    return local_text(value, zone)


def print_json(data: Any) -> None:
    sys.stdout.write(_json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def console(*, stderr: bool = False) -> Console:
    """A Rich console: colour only on a terminal and without NO_COLOR (Rich checks both),
    no guessing at what looks like a number or a URL, no markup read from our texts."""
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=False, highlight=False, markup=False, emoji=False)


def iso(value: datetime | None) -> str | None:
    """A time for scripts (`--json`): UTC, ISO 8601, to the second, with a Z."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
