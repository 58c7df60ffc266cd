"""Fixtures of the unit tests of the dispatcher and the daemon."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from postbot.platforms import PLATFORMS
from tests.platforms import NAMES, SCRIPTS, Script


@pytest.fixture
def scripts() -> Iterator[dict[str, Script]]:
    """The scripted platforms registered (tests/platforms.py); `scripts[account]` is the script
    of that account's publishes. Gates a test left shut are opened at the end."""
    for name, target in NAMES.items():
        PLATFORMS.register(name, target)
    SCRIPTS.clear()
    try:
        yield SCRIPTS
    finally:
        for script in SCRIPTS.values():
            if script.gate is not None:
                script.gate.set()
        SCRIPTS.clear()
