"""The templates and how values look in them: times in the configured zone, states as words.

Autoescaping is on for every template and undefined names are errors, so a missing value is
a failed render in the tests, never an empty spot on a page. Only what a template is given is
shown: no template gets settings, tokens or the password hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from postbot.costs import money
from postbot.domain import Status
from postbot.platforms.facets import Facet
from postbot.when import local_text

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# Short class names keep a week of 2,000 chips small; the words are in the legend and titles.
STATE_CLASS = {
    Status.QUEUED: "q",
    Status.PUBLISHING: "p",
    Status.PUBLISHED: "ok",
    Status.FAILED: "f",
    Status.CANCELLED: "c",
    Status.UNKNOWN: "u",
    Status.MISSED: "m",
    Status.SCHEDULED: "s",
    Status.DRAFT: "d",
}
NEEDS_ATTENTION = (Status.FAILED, Status.UNKNOWN, Status.MISSED)


def environment(zone: tzinfo) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def local(value: datetime | None) -> str:
        return local_text(value, zone) if value is not None else "–"

    def local_iso(value: str) -> str:  # a time as a record keeps it (ISO 8601)
        return local(datetime.fromisoformat(value))

    def month(value: datetime) -> str:  # "December 2026", in the zone
        return value.astimezone(zone).strftime("%B %Y")

    def clock(value: datetime) -> str:
        return value.astimezone(zone).strftime("%H:%M")

    def iso(value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    env.filters.update(
        local=local,
        local_iso=local_iso,
        month=month,
        clock=clock,
        iso=iso,
        state=state_class,
        snippet=snippet,
        public_url=public_url,
        money=money,
        period=period,
        facet_pieces=facet_pieces,
    )
    env.globals.update(STATES=STATE_CLASS, NEEDS_ATTENTION=NEEDS_ATTENTION, Status=Status)
    return env


def period(value: timedelta) -> str:
    from postbot.pacing import describe_period

    return describe_period(value)


def state_class(status: Status) -> str:
    return STATE_CLASS[status]


def public_url(url: str) -> str:
    """An address as a page may show it: without a user and password in it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def snippet(text: str, length: int = 48) -> str:
    """The start of a text for a chip, cut at a word where it can be."""
    flat = " ".join(text.split())
    if len(flat) <= length:
        return flat
    cut = flat[:length]
    if " " in cut[length // 2 :]:  # a word boundary in the second half: cut there
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"


@dataclass(frozen=True)
class Piece:
    text: str
    kind: str | None = None  # "link" or "tag" for a facet, None for plain text


def facet_pieces(text: str, facets: Sequence[Facet]) -> list[Piece]:
    """The text cut at its facets, so a page can mark each link and hashtag."""
    pieces, position = [], 0
    for facet in sorted(facets, key=lambda f: f.start):
        if facet.start < position:
            continue  # overlapping facets: the first one is marked
        if facet.start > position:
            pieces.append(Piece(text[position : facet.start]))
        pieces.append(Piece(text[facet.start : facet.end], facet.kind))
        position = facet.end
    if position < len(text):
        pieces.append(Piece(text[position:]))
    return pieces


def render(env: Environment, name: str, **context: Any) -> str:
    return env.get_template(name).render(**context)
