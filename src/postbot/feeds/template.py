"""A feed item -> the teaser: the template's text, the link, the hashtags. Pure functions.

A template is a text with fields in braces: `{title}`, `{summary}`, `{link}`, `{hashtags}`
(`{{` and `}}` are braces). It is checked when the config loads (`check`). Without `{link}`
in the template, the link is the post's own (each platform places it); without `{hashtags}`,
the hashtags are the post's (appended as each platform renders them).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import regex

FIELDS = ("title", "summary", "link", "hashtags")
DEFAULT = "{title}"
_NOT_IN_TAG = regex.compile(r"[^\p{L}\p{M}\p{Nd}_]+")


def check(template: str) -> str:
    """The template, or ValueError saying what is wrong with it and how to write it."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"is not a template ({exc}); write fields as {{title}}, {{summary}}, {{link}},"
            " {hashtags}, and a brace as {{ or }}"
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in FIELDS:
            raise ValueError(
                f"has an unknown field {{{name}}} (fields: {', '.join(FIELDS)}; a brace is {{{{)"
            )
        if spec or conversion:
            raise ValueError(f"field {{{name}}} takes no format (write just {{{name}}})")
    fields = {name for _, name, _, _ in parsed}
    if "title" not in fields and "summary" not in fields:
        raise ValueError("must contain {title} or {summary}: a teaser says what the article is")
    return template


def uses(template: str, name: str) -> bool:
    return any(f == name for _, f, _, _ in string.Formatter().parse(template))


def hashtags_of(categories: Sequence[str], mapping: Mapping[str, str] | None) -> tuple[str, ...]:
    """An item's categories as hashtags: through the map when one is configured (categories
    not in it are left out), else each category with what a hashtag cannot hold taken out."""
    tags: list[str] = []
    for category in categories:
        if mapping is not None:
            tag = mapping.get(category) or mapping.get(category.strip())
            if tag:
                tags.append(tag.removeprefix("#"))
            continue
        tag = _NOT_IN_TAG.sub("", category)
        if tag and not tag.isdigit():
            tags.append(tag)
    unique: dict[str, str] = {}
    for tag in tags:
        unique.setdefault(tag.casefold(), tag)
    return tuple(unique.values())


@dataclass(frozen=True)
class Teaser:
    text: str
    link: str | None  # None when the template placed it in the text
    hashtags: tuple[str, ...]  # empty when the template placed them in the text


def render(
    template: str, title: str, summary: str, link: str | None, hashtags: Sequence[str]
) -> Teaser:
    tags = " ".join(f"#{t}" for t in hashtags)
    text = template.format(title=title, summary=summary, link=link or "", hashtags=tags)
    text = "\n".join(line.rstrip() for line in text.strip().splitlines()).strip()
    return Teaser(
        text,
        None if uses(template, "link") else link,
        () if uses(template, "hashtags") else tuple(hashtags),
    )


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word to at most `limit` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)].rsplit(" ", 1)[0].rstrip(" ,;:.-–")
    return f"{cut}…" if cut else ""
