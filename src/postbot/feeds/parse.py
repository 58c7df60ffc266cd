"""A feed's bytes -> plain items: feedparser reads RSS 2.0, Atom and RDF (CDATA, entities,
any declared encoding); this module turns each entry into clean text (HTML stripped, entities
and umlauts as the characters they are), its categories, its time, and its image with the
image's description as alt text (from `media:content`, else an image enclosure).

A feed feedparser cannot read as well-formed XML is refused whole (`FeedError`): half a feed is
never taken for the whole one.
"""

from __future__ import annotations

import calendar
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from postbot.errors import PostbotError


class FeedError(PostbotError):
    """The feed cannot be read: not XML, or not a feed."""


@dataclass(frozen=True)
class Item:
    guid: str | None
    link: str | None
    title: str
    summary: str
    categories: tuple[str, ...] = ()
    published: datetime | None = None
    image: str | None = None  # the image's address
    alt: str | None = None  # its description; None: the feed gives none


_BLOCK = {"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote"}
_SPACE = re.compile(r"\s+")
_MEDIA_DESCRIPTION = re.compile(
    r"<media:(description|title)[^>]*>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))\s*</media:\1>",
    re.DOTALL,
)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK:
            self.out.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.out.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def clean_text(value: str | None) -> str:
    """HTML -> one line of text: tags dropped (a paragraph or line break is a space), script
    and style left out, entities as their characters (`&uuml;` ü, `&bdquo;` „), white space
    collapsed."""
    if not value:
        return ""
    if "<" not in value and "&" not in value:
        return _SPACE.sub(" ", value).strip()
    parser = _Text()
    parser.feed(value)
    parser.close()
    text = html.unescape("".join(parser.out))  # what was escaped twice (&amp;uuml;)
    return _SPACE.sub(" ", text).strip()


def parse_feed(body: bytes) -> list[Item]:
    """The feed's items in the order it lists them; FeedError if it is not well-formed."""
    import feedparser  # imported here: only polling needs it

    parsed = feedparser.parse(body)
    if parsed.get("bozo") and not isinstance(
        parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride
    ):
        raise FeedError(f"malformed feed: {parsed.get('bozo_exception')}")
    if not parsed.get("version") and not parsed.entries:
        raise FeedError("not an RSS, Atom or RDF feed")
    text = body.decode(parsed.get("encoding") or "utf-8", "replace") if body else ""
    return [item for e in parsed.entries if (item := _item(e, text)) is not None]


def _item(entry: Any, raw: str) -> Item | None:
    guid = entry.get("id") or None
    link = entry.get("link") or None
    if guid is None and link is None:
        return None  # nothing to know it by: never posted, rather than posted again and again
    summary = entry.get("summary")
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value")
    image, alt = _image(entry, raw)
    return Item(
        guid=guid,
        link=link,
        title=clean_text(entry.get("title")),
        summary=clean_text(summary),
        categories=tuple(t["term"].strip() for t in entry.get("tags") or () if t.get("term")),
        published=_when(entry.get("published_parsed") or entry.get("updated_parsed")),
        image=image,
        alt=alt,
    )


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), UTC)


def _image(entry: Any, raw: str) -> tuple[str | None, str | None]:
    for media in entry.get("media_content") or ():
        kind = media.get("medium") or ""
        if media.get("url") and (
            kind == "image" or str(media.get("type", "")).startswith("image/")
        ):
            return media["url"], _description(raw, media["url"])
    for enclosure in entry.get("enclosures") or ():
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return enclosure["href"], None
    return None, None


def _description(raw: str, url: str) -> str | None:
    """The `media:description` (else `media:title`) written with the image in the feed
    (feedparser folds it into the entry's own description)."""
    at = raw.find(html.escape(url, quote=True))
    if at < 0:
        at = raw.find(url)
    if at < 0:
        return None
    end = min((i for i in (raw.find("</media:content>", at), raw.find("</item>", at),
                           raw.find("</entry>", at)) if i >= 0), default=len(raw))  # fmt: skip
    found = {m.group(1): m.group(2) or m.group(3) for m in
             _MEDIA_DESCRIPTION.finditer(raw, at, end)}  # fmt: skip
    text = clean_text(html.unescape(found.get("description") or found.get("title") or ""))
    return text or None
