"""Registering a platform for one test only.

`PLATFORMS.register` is how tests and benchmarks add a platform; the registry has no way to
take one out again (nothing in the product needs one), so this reaches into it to undo the
registration: a test's platform must not show up in another test's "known: …" list.
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
        PLATFORMS._targets.pop(name, None)
        PLATFORMS._loaded.pop(name, None)
