"""The limits a platform puts on a post's text, declared once by the platform
(`Platform.text_limits`) and checked both at enqueue (`drafts.plan`, shown by `preview`) and at
publish (the adapters). Pure: no I/O, nothing heavy to import. TextLimit is a NamedTuple rather
than a dataclass: `postbot enqueue` imports this, and a dataclass costs ~1 ms to create.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple


class TextLimit(NamedTuple):
    """One limit: what is measured (`name`, shown to people), and the most the platform takes."""

    name: str  # "characters", "UTF-8 bytes", "graphemes in the longest hashtag"
    limit: int
    measure: Callable[[str], int]

    def check(self, text: str) -> LimitCheck:
        return LimitCheck(self.name, self.measure(text), self.limit)


@dataclass(frozen=True)  # not a NamedTuple: its `count` would shadow tuple.count
class LimitCheck:
    """One limit, measured on one text."""

    name: str
    count: int
    limit: int

    @property
    def fits(self) -> bool:
        return self.count <= self.limit

    def __str__(self) -> str:  # "graphemes 120/300"
        return f"{self.name} {self.count}/{self.limit}"


def check_all(limits: tuple[TextLimit, ...], text: str) -> tuple[LimitCheck, ...]:
    return tuple(limit.check(text) for limit in limits)


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def longest_hashtag(measure: Callable[[str], int]) -> Callable[[str], int]:
    """A measure of the longest hashtag in a text (0 without any), by `measure`."""

    def longest(text: str) -> int:
        return max((measure(tag) for tag in _hashtags(text)), default=0)

    return longest


@lru_cache(maxsize=64)
def _hashtags(text: str) -> tuple[str, ...]:
    """`compose.hashtags_in`, remembered (a pure function): a platform measuring its longest
    hashtag two ways (Bluesky: graphemes, bytes) scans the text once."""
    from postbot.compose import hashtags_in

    return hashtags_in(text)
