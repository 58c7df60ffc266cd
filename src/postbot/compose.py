"""Text per platform: hashtags, rendering and counting. Pure functions, no I/O.

Counting follows each platform's own rules:
- X: twitter-text weighted length (configuration v3: URLs 23, CJK and emoji 2), via
  twitter-text-parser, imported on first use because it compiles large regexes;
- Mastodon: extended grapheme clusters, each URL counting a fixed weight (23);
- Bluesky: extended grapheme clusters (the `regex` module's `\\X`, Unicode 16 or newer).
"""

from __future__ import annotations

import importlib.util
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from types import ModuleType
from typing import Any

import regex

from postbot.errors import UserError

# A hashtag: Unicode letters, digits (of any script) and underscore, not only digits.
_TAG_BODY = regex.compile(r"[\p{L}\p{M}\p{Nd}_]+")
# A tag inside text: '#' not glued to a preceding word character.
_TAG_IN_TEXT = regex.compile(r"(?<![\p{L}\p{M}\p{Nd}_&/])#([\p{L}\p{M}\p{Nd}_]+)")
# What Mastodon treats as a URL for counting: http(s):// up to the next white space.
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_GRAPHEME = regex.compile(r"\X")


def normalize_hashtag(tag: str) -> str:
    """`#Foo` or `Foo` -> `Foo`; refuse anything that is not a valid hashtag, naming it."""
    body = tag.strip()
    body = body.removeprefix("#")
    if not body or not _TAG_BODY.fullmatch(body):
        raise UserError(
            f"invalid hashtag '{tag}': use letters, digits and underscore only (no spaces)"
        )
    if body.isdigit():
        raise UserError(f"invalid hashtag '{tag}': a hashtag cannot be only digits")
    return body


def normalize_hashtags(tags: Iterable[str]) -> tuple[str, ...]:
    """Validate, strip '#', drop case-insensitive repeats, keep the first spelling and order."""
    seen: set[str] = set()
    out: list[str] = []
    for tag in tags:
        body = normalize_hashtag(tag)
        if body.casefold() not in seen:
            seen.add(body.casefold())
            out.append(body)
    return tuple(out)


def hashtags_in(text: str) -> tuple[str, ...]:
    """The hashtags written inside a text, in order, without '#'."""
    return tuple(m.group(1) for m in _TAG_IN_TEXT.finditer(text) if not m.group(1).isdigit())


def render_text(teaser: str, link: str | None, hashtags: Sequence[str]) -> str:
    """The text sent: the teaser, then the link, then the hashtags not already in the teaser."""
    present = {t.casefold() for t in hashtags_in(teaser)}
    extra: list[str] = []
    for tag in hashtags:
        if tag.casefold() not in present:
            present.add(tag.casefold())
            extra.append(f"#{tag}")
    parts = [teaser.strip()]
    if link:
        parts.append(link.strip())
    if extra:
        parts.append(" ".join(extra))
    return " ".join(p for p in parts if p)


# Characters that always form a cluster of their own: Latin up to U+02FF (combining marks
# start at U+0300), general punctuation without the joiners (U+2010-U+205E) and currency
# signs. CR is left out: CR LF is one cluster.
_OWN_CLUSTER = re.compile("[\x00-\x0c\x0e-\u02ff\u2010-\u205e\u20a0-\u20bf]*")


def count_graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters, UAX #29)."""
    if _OWN_CLUSTER.fullmatch(text):
        return len(text)  # the common case for a European teaser, without the regex walk
    return len(_GRAPHEME.findall(text))


def count_with_url_weight(text: str, url_weight: int = 23) -> int:
    """Graphemes, with every URL counting `url_weight` however long it is (Mastodon)."""
    total = 0
    position = 0
    for match in _URL.finditer(text):
        total += count_graphemes(text[position : match.start()]) + url_weight
        position = match.end()
    return total + count_graphemes(text[position:])


@cache
def _x_config() -> dict[str, Any]:
    return dict(_twitter_text("config").config["version3"])


def _twitter_text(submodule: str, *, whole: bool = False) -> ModuleType:
    """A twitter_text submodule, without running the package's __init__ unless `whole`.

    The __init__ imports the emoji extractor, which reads a 400 KB table through
    pkg_resources and compiles it into one regex: 0.14 s on every `postbot enqueue`, for
    nothing when the text is in a Latin script (the URL finder is all that is needed then).
    """
    package = sys.modules.get("twitter_text")
    if package is None:
        spec = importlib.util.find_spec("twitter_text")
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)  # a package, its __init__ not run yet
        loader = spec.loader
        partial = package

        def finish(name: str) -> Any:
            # Anyone asking the package for a name it exports (`from twitter_text import
            # parse_tweet`) gets the real thing: its __init__ runs now, once.
            del partial.__getattr__
            loader.exec_module(partial)
            return partial.__dict__[name]

        package.__getattr__ = finish  # type: ignore[method-assign]
        sys.modules["twitter_text"] = package
        supplant = importlib.import_module("twitter_text.regex_supplant")
        supplant.__dict__["regex_supplant"] = _supplant_lazily  # before a pattern module uses it
    if whole and "__getattr__" in package.__dict__:
        package.__getattr__("parse_tweet")
    return importlib.import_module(f"twitter_text.{submodule}")


class _LazyPattern:
    """A pattern compiled on first use. twitter-text assembles its URL pattern from a dozen
    smaller ones (`regex_supplant`), compiling each though it only reads most of them back as
    text, and compiles the pattern for URLs without `https://` that a teaser's link never
    needs: 25 ms of `postbot enqueue`'s start-up. The same text and flags, compiled when a
    method is first called; the conformance tests (tests/conformance) run through it."""

    def __init__(self, pattern: str, flags: int) -> None:
        self.pattern = pattern
        self.flags = flags

    def __getattr__(self, name: str) -> Any:  # finditer, match, search ...
        compiled = self.__dict__.get("compiled")
        if compiled is None:
            compiled = self.__dict__["compiled"] = re.compile(self.pattern, self.flags)
        return getattr(compiled, name)


def _supplant_lazily(template: str | Any, parts: dict[str, Any], flags: int = 0) -> _LazyPattern:
    """twitter-text's `regex_supplant`, returning a `_LazyPattern`: `#{name}` in `template`
    (a text, or a pattern with its flags) replaced by the text of `parts[name]`."""

    def text_of(match: re.Match[str]) -> str:
        part = parts.get(match.group(1), "")
        return part if isinstance(part, str) else str(part.pattern)

    if isinstance(template, str):
        return _LazyPattern(re.sub(r"#\{(\w+)\}", text_of, template), flags)
    return _LazyPattern(re.sub(r"#\{(\w+)\}", text_of, template.pattern), template.flags | flags)


@cache
def _extract_urls() -> Callable[[str], list[dict[str, Any]]]:
    """twitter-text's URL finder, looked up once (an import per text costs more than a
    short text's count)."""
    found: Callable[[str], list[dict[str, Any]]]
    found = _twitter_text("extract_urls").extract_urls_with_indices
    return found


# Characters that X weighs 1 each and that can never start an emoji sequence: ASCII, Latin,
# Greek, Cyrillic ... up to U+10FF, and general punctuation (dashes, quotes). Not (c) and (R)
# (U+00A9, U+00AE), which are emoji.
_WEIGHT_ONE = re.compile(
    "[\\x00-\\xa8\\xaa-\\xad\\xaf-\\u10ff\\u2000-\\u200d\\u2010-\\u201f\\u2032-\\u2037]*"
)
_LINE_ENDINGS = re.compile(r"\r\n|\r|\n")


def count_x(text: str, config: dict[str, Any] | None = None) -> int:
    """twitter-text weighted length (configuration v3 unless another is given)."""
    if config is None:
        # A teaser in a Latin script has no emoji or CJK: every character weighs 1 and each
        # URL 23, so only twitter-text's URL finder is needed (30 us instead of 1 ms a text).
        normal = _LINE_ENDINGS.sub("\n", unicodedata.normalize("NFC", text))
        if _WEIGHT_ONE.fullmatch(normal):
            urls = _extract_urls()(normal)
            url_weight = int(_x_config()["transformed_url_length"])
            return len(normal) - sum(len(u["url"]) for u in urls) + url_weight * len(urls)
    parse_tweet = _twitter_text("parse_tweet", whole=True).parse_tweet
    return int(parse_tweet(text, config or _x_config()).weightedLength)
