"""Links: where they are in a post's text, and what a link is without what only tracks the
reader. Pure functions, no network.

One place for the tracking-parameter list and the canonical form of a URL: the duplicate guard
compares texts with their links made canonical (`canonical_links`), a feed keys an article by
its canonical link (`feeds/keys.py`), and the X cost guard asks whether a text has a link at
all (`has_url`: X bills a post with a URL at its own price).

`canonical_url` lower-cases scheme and host, drops the default port, the fragment, `utm_*` and
other tracking parameters (fbclid, gclid, mc_cid ...), and sorts what query is left; the path is
kept as it is (its case and a trailing slash too: servers may tell them apart), an empty one
becomes `/`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only say where a reader came from; a link without them is the same
# link. Exact names, and prefixes (every `utm_...`).
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid",
    "igshid", "yclid", "twclid", "ttclid", "li_fat_id", "_hsenc", "_hsmi", "mkt_tok", "ref_src",
    "s_cid", "oly_enc_id", "oly_anon_id", "vero_id", "wickedid", "rb_clickid", "wt_mc",
    "wt_zmc", "cmpid", "at_medium", "at_campaign", "ito", "xtor", "ocid",
})  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}

# A link as platforms see one: http(s)://... up to the next space. Trailing punctuation that
# closes a sentence is not part of it.
URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}»”’"


def is_tracking(name: str) -> bool:
    lower = name.lower()
    return lower in TRACKING_PARAMS or lower.startswith(TRACKING_PREFIXES)


def find_urls(text: str) -> list[str]:
    """The links in `text`, in order, without punctuation that ends the sentence."""
    return [m.group(0).rstrip(_TRAILING) for m in URL.finditer(text)]


def has_url(text: str) -> bool:
    """Whether `text` holds a link (http:// or https://) that a platform turns into one."""
    return URL.search(text) is not None


@lru_cache(maxsize=1024)  # a pure function; an import asks it for each link six times
def canonical_url(url: str) -> str:
    """`url` as one article, one link: `https://Example.org:443/a?utm_source=x&id=3#top` ->
    `https://example.org/a?id=3`. A text that is not a URL comes back as it was."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def canonical_links(text: str) -> str:
    """`text` with every link in it made canonical (`canonical_url`)."""

    def one(match: re.Match[str]) -> str:
        raw = match.group(0)
        url = raw.rstrip(_TRAILING)
        return canonical_url(url) + raw[len(url) :]

    return URL.sub(one, text)
