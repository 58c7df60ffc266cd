"""Threads: a post in several parts, published as a reply chain. Pure functions, no I/O.

Where the parts come from, one rule each:
- a Markdown body: a line holding only `---` separates two parts;
- front matter `parts:`, a list of texts (the body is then empty);
- the command line: `postbot enqueue "Teil 1" --part "Teil 2" --part "Teil 3"`.

Within a part, lines are joined by single spaces, as in a teaser. The link and the hashtags go
with the first part (`Platform.render_thread`; X with `link_placement = "reply"` posts the link
as a reply of its own right after the first part). Every part is checked against every limit
of every target account (`drafts.plan`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from postbot.errors import UserError

SEPARATOR = "---"


def split_body(body: str, where: str, first_line: int | None = None) -> list[str]:
    """The parts of a Markdown body, split at lines holding only `---`. `first_line`: the
    body's first line in the file, to name the line of an empty part."""
    parts: list[str] = []
    current: list[str] = []
    separators: list[int] = []  # the line of the separator before each part after the first
    for number, line in enumerate(body.splitlines(), first_line or 1):
        if line.strip() == SEPARATOR:
            parts.append(_joined(current))
            current = []
            separators.append(number)
        else:
            current.append(line)
    parts.append(_joined(current))
    if len(parts) > 1:
        for index, text in enumerate(parts):
            if not text:
                separator = separators[index - 1] if index else separators[0]
                at = f"{where}:{separator}" if first_line else where
                raise UserError(
                    f"{at}: part {index + 1} of the thread is empty: a line holding only"
                    " '---' separates two parts; remove the extra one"
                )
    return parts


def parts_value(value: Any, where: str) -> list[str]:
    """Front matter `parts:`: a list of at least two non-empty texts."""
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise UserError(f'{where}: parts must be a list of texts, e.g. parts: ["Teil 1", "Teil 2"]')
    parts = [_joined(str(v).splitlines()) for v in value]
    empty = [i + 1 for i, text in enumerate(parts) if not text]
    if empty:
        raise UserError(f"{where}: parts: part {empty[0]} is empty")
    if len(parts) < 2:
        raise UserError(
            f"{where}: parts lists one text; a single post says it in the body (parts: is for"
            " a thread of two or more)"
        )
    return parts


def clean_parts(parts: Sequence[str], where: str, first: int = 2) -> tuple[str, ...]:
    """Parts as sent (stripped), refusing an empty one; numbered from `first` in messages."""
    cleaned = tuple(p.strip() for p in parts)
    for number, text in enumerate(cleaned, first):
        if not text:
            raise UserError(f"{where}: part {number} of the thread is empty")
    return cleaned


def _joined(lines: Sequence[str]) -> str:
    return " ".join(line.strip() for line in lines if line.strip())
