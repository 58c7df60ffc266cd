"""A platform for the config tests: it declares a path option, as Bluesky's session_file is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from postbot.options import Option
from postbot.platforms.base import Outgoing, Platform, Published


class PathPlatform(Platform):
    name = "pathtest"
    default_limit = 500
    options: ClassVar[Mapping[str, Option]] = {
        "state_file": Option(str, path=True, help="a file path"),
        "mode": Option(str, "fast", choices=("fast", "slow")),
    }
    credential_roles: ClassVar[frozenset[str]] = frozenset({"token", "user"})

    def count(self, text: str) -> int:
        return len(text)

    def publish(self, outgoing: Outgoing) -> Published:
        raise NotImplementedError  # never called: only the config is under test
