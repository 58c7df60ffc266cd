"""An article's keys: its GUID (RSS) or id (Atom), and its canonical link. Pure functions.

Both are kept (`feed_item`), so an article whose GUID changes while its link stays the same is
still the same article, and an article without a GUID is known by its link. A key longer than
the column holds is stored as its hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from postbot.links import canonical_url

MAX_KEY = 1000


def _fit(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    return key[:2] + "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def article_keys(guid: str | None, link: str | None) -> tuple[str, ...]:
    """`i:<guid>` first (when there is one), then `l:<canonical link>`; never empty for an item
    that has either (`parse` drops items with neither)."""
    keys = []
    if guid and guid.strip():
        keys.append(_fit("i:" + guid.strip()))
    if link and link.strip():
        keys.append(_fit("l:" + canonical_url(link)))
    return tuple(keys)


def content_hash(title: str, summary: str, categories: Sequence[str], image: str | None,
                 alt: str | None) -> str:  # fmt: skip
    """What the teaser is made of: a change here is an edited article."""
    payload = json.dumps([title, summary, list(categories), image, alt], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()
