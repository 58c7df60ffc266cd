"""Registering a platform for one test only.

A test's platform must not show up in another test's "known: …" list, so it is taken out of
the registry again when the test ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from postbot.platforms import PLATFORMS


@contextmanager
def registered(name: str, target: str) -> Iterator[None]:
    PLATFORMS.register(name, target)
    try:
        yield
    finally:
        PLATFORMS.unregister(name)
