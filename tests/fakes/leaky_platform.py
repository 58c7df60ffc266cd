"""A test platform whose `check` fails the way an unsorted library error can: with a message
that quotes the account's credential. `accounts check` must mask it all the same."""

from __future__ import annotations

from postbot.platforms.base import Outgoing, Platform, Published


class LeakyPlatform(Platform):
    name = "leaky"
    default_limit = 500

    def count(self, text: str) -> int:
        return len(text)

    def publish(self, outgoing: Outgoing) -> Published:
        raise NotImplementedError("never published in tests")

    def check(self) -> str:
        token = self.account.credentials(self.environ)["token"]
        raise RuntimeError(f"handshake failed for Authorization: Bearer {token}")
