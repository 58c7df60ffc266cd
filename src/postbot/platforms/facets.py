"""The links and hashtags a platform will make of a text (its "facets"), for `preview` shown in
the browser. Pure: no I/O, nothing heavy to import.

Each platform finds them its own way, and `Platform.facets` says which: by default the rules
postbot counts with (`compose`: http(s):// up to white space, and its hashtag rule); X finds
links the way twitter-text does (`example.org` without a scheme is one); Bluesky has exactly
the facets its record will carry (`bluesky.record.build_facets`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from postbot.compose import _TAG_IN_TEXT, _URL  # the rules the counts use, kept in one place


@dataclass(frozen=True)
class Facet:
    kind: Literal["link", "tag"]
    start: int  # character offsets into the text, end exclusive
    end: int
    value: str  # the address, or the tag without '#'


Span = tuple[int, int, str]


def find_facets(text: str, links: Sequence[Span] | None = None) -> tuple[Facet, ...]:
    """Links (`links`, or compose's URL rule) and the hashtags outside them, in text order."""
    if links is None:
        links = [(m.start(), m.end(), m.group()) for m in _URL.finditer(text)]
    found = [Facet("link", start, end, url) for start, end, url in links]
    for match in _TAG_IN_TEXT.finditer(text):
        start, end = match.span()
        if match.group(1).isdigit() or any(s < end and start < e for s, e, _ in links):
            continue
        found.append(Facet("tag", start, end, match.group(1)))
    return tuple(sorted(found, key=lambda f: f.start))


def from_byte_offsets(text: str, facets: Iterable[dict[str, object]]) -> tuple[Facet, ...]:
    """Bluesky's facets (UTF-8 byte offsets, `app.bsky.richtext.facet`) as character offsets."""
    encoded = text.encode("utf-8")
    out = []
    for facet in facets:
        index = facet["index"]
        assert isinstance(index, dict)
        start = len(encoded[: index["byteStart"]].decode("utf-8"))
        end = len(encoded[: index["byteEnd"]].decode("utf-8"))
        for feature in facet["features"]:  # type: ignore[attr-defined]
            if feature["$type"].endswith("#link"):
                out.append(Facet("link", start, end, feature["uri"]))
            elif feature["$type"].endswith("#tag"):
                out.append(Facet("tag", start, end, feature["tag"]))
    return tuple(out)
