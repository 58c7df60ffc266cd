"""Markdown formatting in a teaser, which plain-text platforms would show as typed. Pure.

Mastodon, X and Bluesky show a post's text as plain text: `**SOZ-Gipfel**` arrives with its
asterisks. `markdown_in` finds such marks so `preview`, `enqueue` and the import can warn (a
warning, not a refusal: the asterisks may be meant).

The rules follow CommonMark's delimiter runs, made stricter where newsroom text would trip
them: a mark opens after a space or punctuation and closes before one, so the German gender
star (`Lehrer*innen und Schüler*innen`), snake_case and `#SOZ_Gipfel` are not emphasis;
URLs, hashtags and backslash-escaped marks are left out (their underscores and asterisks
are not emphasis).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HASHTAG = re.compile(r"#\w+")  # `#SOZ_Gipfel`, `#_wichtig_`: a tag, not emphasis
_ESCAPED = re.compile(r"\\[*_~`]")  # `\*` is a literal star in Markdown too
_LINK = re.compile(r"\[[^\[\]\n]+\]\(https?://[^()\s]+\)", re.IGNORECASE)


def _run(mark: str) -> re.Pattern[str]:
    """`mark`text`mark`: not glued to a word outside, not padded with spaces inside."""
    m = re.escape(mark)
    c = re.escape(mark[0])
    return re.compile(rf"(?<![\w{c}]){m}(?=[^\s{c}])[^{c}\n]*?(?<=[^\s{c}]){m}(?![\w{c}])")


# Longest marks first, so `**x**` is found as bold rather than as `*x*` inside it.
_MARKS = (
    *(_run(mark) for mark in ("***", "___", "**", "__", "~~", "*", "_")),
    re.compile(r"`[^`\n]+`"),
)


def markdown_in(text: str) -> tuple[str, ...]:
    """The Markdown marks in `text` (bold, italics, strike-through, code, links), in order."""
    if not any(c in text for c in "*_~`["):
        return ()  # most teasers: no regex walk at all
    found = [(m.start(), m.group(0)) for m in _LINK.finditer(text)]
    # Blank out links, URLs, hashtags and escaped marks (same length, so positions still
    # order the findings).
    blanked = text
    for pattern in (_LINK, _URL, _HASHTAG, _ESCAPED):
        blanked = pattern.sub(lambda m: " " * len(m.group(0)), blanked)
    for pattern in _MARKS:
        for match in pattern.finditer(blanked):
            found.append((match.start(), match.group(0)))
            start, end = match.span()
            blanked = blanked[:start] + " " * (end - start) + blanked[end:]
    return tuple(dict.fromkeys(snippet for _, snippet in sorted(found)))


def markdown_warning(text: str, accounts: Sequence[str], where: str) -> str | None:
    """The warning for `text` going to `accounts`, or None if it has no Markdown marks."""
    marks = markdown_in(text)
    if not marks:
        return None
    shown = " ".join(marks[:3]) + (" …" if len(marks) > 3 else "")
    return (
        f"{where}: Markdown formatting {shown} is sent as typed to {', '.join(accounts)}"
        " (they show plain text: no bold or italics)"
    )
