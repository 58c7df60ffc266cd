"""Links as one article: the canonical form of a URL, so that tracking parameters and fragments
never make one article two. Pure functions.

`canonical_url` lower-cases scheme and host, drops the default port, the fragment, `utm_*` and
other tracking parameters (fbclid, gclid, mc_cid ...), and sorts what query is left; the path is
kept as it is (a trailing slash too: servers may tell them apart).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid",
    "yclid", "_hsenc", "_hsmi", "mkt_tok", "ref_src", "wt_mc", "wt_zmc", "s_cid", "cmpid",
    "at_medium", "at_campaign", "ito", "xtor", "ocid",
})  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(("utm_", "pk_", "mtm_")) or lowered in TRACKING


def canonical_url(url: str) -> str:
    """The article's address without what only tracks the reader."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))
