"""The app.bsky.feed.post record, as the lexicon wants it: its limits, its record key, its facets.

- Limits (lexicons app.bsky.feed.post, app.bsky.richtext.facet and app.bsky.embed.images of
  bluesky-social/atproto, as of 2026-08; docs/platforms/bluesky.md): text at most 300
  graphemes and 3,000 UTF-8 bytes; a tag at most 64 graphemes and 640 bytes; at most 4 images,
  each an image/* blob of at most 2,000,000 bytes (1,000,000 before April 2026). The PDS
  refuses anything beyond them.
- The record key is derived from the delivery (a TID from `created_at` and `delivery_id`, and
  a thread's part number), so every retry writes the same key and the PDS can never hold two
  posts for one delivery (or one part).
- A thread's part replies to the part before it: `reply` with strong refs (uri and cid) to its
  root (part 1) and its parent.
- Links and hashtags are only clickable through facets with UTF-8 *byte* offsets, computed
  from the rendered text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from postbot.platforms.base import Outgoing, PermanentError
from postbot.platforms.limits import TextLimit, longest_hashtag, utf8_length
from postbot.platforms.media import COMMON_TYPES, ImageRule, MediaPolicy

POST_COLLECTION = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
MAX_TAG_GRAPHEMES = 64
MAX_TAG_BYTES = 640

# The lexicon takes any image/* blob; these are the types Bluesky's own app posts and shows.
# Alt text: the lexicon sets no limit.
MEDIA = MediaPolicy(
    "Bluesky", max_items=4, types={t: ImageRule(max_bytes=2_000_000) for t in COMMON_TYPES}
)

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Links as the Bluesky app detects them: http(s):// up to white space.
_LINK_RE = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_LINK_TRAILING = ".,;:!?'\""


@cache  # a pure function of one number: built once, not for every text checked
def text_limits(char_limit: int) -> tuple[TextLimit, ...]:
    from postbot.compose import count_graphemes

    return (
        TextLimit("graphemes", min(char_limit, MAX_GRAPHEMES), count_graphemes),
        TextLimit("UTF-8 bytes", MAX_TEXT_BYTES, utf8_length),
        TextLimit(
            "graphemes in the longest hashtag", MAX_TAG_GRAPHEMES, longest_hashtag(count_graphemes)
        ),
        TextLimit(
            "UTF-8 bytes in the longest hashtag", MAX_TAG_BYTES, longest_hashtag(utf8_length)
        ),
    )


# -- record key ------------------------------------------------------------------------------
def tid(micros: int, clock_id: int = 0) -> str:
    """A TID: (microseconds << 10 | clock id) as 13 base32-sortable characters."""
    value = ((micros << 10) | (clock_id & 0x3FF)) & 0x7FFF_FFFF_FFFF_FFFF
    return "".join(TID_ALPHABET[(value >> (5 * (12 - i))) & 31] for i in range(13))


# Parts a thread may have for its record keys to stay apart (far more than any thread has).
MAX_KEYED_PARTS = 1000


def record_key(outgoing: Outgoing) -> str:
    """The record key of a delivery's part: the same on every retry, so a retry cannot
    duplicate, and never the key of another delivery or part.

    The TID's microseconds are the second the delivery was created plus a serial number of
    (delivery id, part) below a million; the rest of the serial goes into the clock id. Two
    keys can only meet for deliveries created in the same second whose ids differ by a
    multiple of 1,024,000: a million deliveries a second. (The first scheme, time plus the
    part and the id's last 10 bits as the clock id, gave deliveries created together whose ids
    differ by 1,024 the same key: a bulk import of 1,024 posts to one account. Deliveries
    queued before it was replaced keep it, so a retry finds what an earlier attempt wrote.)
    """
    created = outgoing.created_at
    if created is None:
        raise PermanentError(
            f"delivery {outgoing.delivery_id} has no created_at: cannot derive a record key"
        )
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)  # stored as UTC without a zone
    micros = (created - _EPOCH) // timedelta(microseconds=1)  # exact, no float rounding
    if outgoing.legacy:
        return tid(micros + outgoing.part - 1, outgoing.delivery_id)
    if not 1 <= outgoing.part <= MAX_KEYED_PARTS:
        raise PermanentError(f"part {outgoing.part}: a thread has at most {MAX_KEYED_PARTS}")
    serial = outgoing.delivery_id * MAX_KEYED_PARTS + outgoing.part - 1
    second = micros - micros % 1_000_000
    return tid(second + serial % 1_000_000, serial // 1_000_000)


def reply_refs(outgoing: Outgoing) -> dict[str, Any] | None:
    """The record's `reply` (app.bsky.feed.post#replyRef): strong refs (uri and cid) to the
    thread's first part (root) and to the part before this one (parent)."""
    reply = outgoing.reply_to
    if reply is None:
        return None
    if not reply.parent_ref or not reply.root_ref:
        raise PermanentError(
            f"Bluesky: part {outgoing.part} cannot reply: the CID of the part before it is"
            " not known"
        )
    return {
        "root": {"uri": reply.root_id, "cid": reply.root_ref},
        "parent": {"uri": reply.parent_id, "cid": reply.parent_ref},
    }


# -- facets ----------------------------------------------------------------------------------
def build_facets(text: str) -> list[dict[str, Any]]:
    """Link and hashtag facets for `text`, with UTF-8 byte offsets (what the lexicon uses)."""
    import regex

    from postbot.compose import count_graphemes

    spans: list[tuple[int, int, dict[str, Any]]] = []
    links: list[tuple[int, int]] = []
    for match in _LINK_RE.finditer(text):
        url = _trim_link(match.group())
        start, end = match.start(), match.start() + len(url)
        links.append((start, end))
        spans.append((start, end, {"$type": "app.bsky.richtext.facet#link", "uri": url}))
    # The same tag rule as compose.hashtags_in: '#' not glued to a word, letters/digits/_.
    for match in regex.finditer(r"(?<![\p{L}\p{M}\p{Nd}_&/])#([\p{L}\p{M}\p{Nd}_]+)", text):
        tag = match.group(1)
        start, end = match.span()
        if tag.isdigit() or any(s < end and start < e for s, e in links):
            continue
        if count_graphemes(tag) > MAX_TAG_GRAPHEMES or len(tag.encode()) > MAX_TAG_BYTES:
            continue  # the lexicon would refuse the whole post (text_limits refuses it first)
        spans.append((start, end, {"$type": "app.bsky.richtext.facet#tag", "tag": tag}))
    facets = []
    for start, end, feature in sorted(spans, key=lambda span: span[0]):
        facets.append(
            {
                "$type": "app.bsky.richtext.facet",
                "index": {
                    "byteStart": _byte_offset(text, start),
                    "byteEnd": _byte_offset(text, end),
                },
                "features": [feature],
            }
        )
    return facets


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _trim_link(url: str) -> str:
    # Sentence punctuation after a link is not part of it; a ")" only if unbalanced.
    while url and (
        url[-1] in _LINK_TRAILING or (url[-1] == ")" and url.count(")") > url.count("("))
    ):
        url = url[:-1]
    return url


# -- the rest of the record ------------------------------------------------------------------
def language_tag(language: str) -> str:
    return language.strip().replace("_", "-")  # BCP 47 uses '-', locales often '_'


def now_iso() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
