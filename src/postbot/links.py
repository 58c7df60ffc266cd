"""Links in post texts: where they are, and what a link is without its tracking parameters.

One place for the tracking-parameter list: the duplicate guard compares texts with their links
made canonical (`canonical_url`), and the X cost guard asks whether a text has a link at all
(`has_url`: X bills a post with a URL at its own price). Pure functions, no network.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only say where a reader came from; a link without them is the same
# link. Exact names, and prefixes (every `utm_...`).
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid",
    "igshid", "yclid", "twclid", "ttclid", "li_fat_id", "_hsenc", "_hsmi", "mkt_tok", "ref_src",
    "s_cid", "oly_enc_id", "oly_anon_id", "vero_id", "wickedid", "rb_clickid",
})  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")

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


def canonical_url(url: str) -> str:
    """`url` without tracking parameters and fragment, its scheme and host in lower case, the
    other parameters in their order; `https://Example.org/a?utm_source=x&id=3#top` ->
    `https://example.org/a?id=3`. A text that is not a URL comes back as it was."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k)]
    path = parts.path if parts.path not in ("", "/") else ""
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), path, urlencode(kept, doseq=True), "")
    )


def canonical_links(text: str) -> str:
    """`text` with every link in it made canonical (`canonical_url`)."""

    def one(match: re.Match[str]) -> str:
        raw = match.group(0)
        url = raw.rstrip(_TRAILING)
        return canonical_url(url) + raw[len(url) :]

    return URL.sub(one, text)
