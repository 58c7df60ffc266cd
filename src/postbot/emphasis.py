"""Markdown emphasis in a teaser (`**bold**`, `__bold__`, `*it*`, `_it_`), for a warning.

Mastodon, X and Bluesky show plain text: `**SOZ-Gipfel**` arrives with its asterisks. This
finds such spans so `preview` and the import can say so; it changes nothing.

Like CommonMark, a run opens only before a non-space and closes only after one; unlike it, a
`*` inside a word opens nothing either, so German gender stars (`Leser*innen und Autor*innen`)
are not emphasis, nor is `snake_case`. Hashtags (`#SOZ_Gipfel`),
links (`https://example.org/a_b_c`), inline code and escaped markers (`\\*`) are skipped.
"""

from __future__ import annotations

import re

# Hashtags, links and inline code are not prose: their `_` and `*` mean nothing.
_NOT_PROSE = re.compile(r"https?://\S+|www\.\S+|#\w+|`[^`\n]*`")
_SPAN = re.compile(
    r"(?<![\w*\\])"  # not inside a word, not after another marker or a backslash
    r"(?P<marker>\*{1,3}|_{1,3})"
    r"(?=[^\s*_])"  # opens only before a non-space
    r"(?P<inner>(?:(?!(?P=marker)).)*?[^\s\\*_])"  # up to the same run, after a non-space
    r"(?P=marker)"
    r"(?![\w*])"  # and not inside a word either
)


def find_emphasis(text: str) -> list[str]:
    """The emphasised spans in `text`, markers included, in order (empty: none)."""
    prose = _NOT_PROSE.sub(lambda m: " " * len(m.group(0)), text)
    return [text[m.start() : m.end()] for m in _SPAN.finditer(prose)]
