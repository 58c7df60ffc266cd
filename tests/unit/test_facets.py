"""Facets: the links and hashtags each platform makes of a rendered text (the web preview)."""

from __future__ import annotations

from postbot.domain import Account
from postbot.platforms import platform_for
from postbot.platforms.bluesky.record import build_facets
from postbot.platforms.facets import Facet, find_facets, from_byte_offsets

TEXT = "Grüße aus Köln, mehr auf example.org: https://example.org/ä?x=1. #SOZGipfel #2027 #Köln"


def _shown(facets: tuple[Facet, ...], text: str) -> list[tuple[str, str, str]]:
    return [(f.kind, f.value, text[f.start : f.end]) for f in facets]


def test_the_default_rules_are_the_counting_rules() -> None:
    assert _shown(find_facets(TEXT), TEXT) == [
        ("link", "https://example.org/ä?x=1.", "https://example.org/ä?x=1."),
        ("tag", "SOZGipfel", "#SOZGipfel"),
        ("tag", "Köln", "#Köln"),
    ]


def test_a_hashtag_inside_a_link_is_part_of_the_link() -> None:
    text = "Lesen: https://example.org/artikel#kommentare #Politik"
    assert _shown(find_facets(text), text) == [
        (
            "link",
            "https://example.org/artikel#kommentare",
            "https://example.org/artikel#kommentare",
        ),
        ("tag", "Politik", "#Politik"),
    ]


def test_x_links_what_twitter_text_finds() -> None:
    x = platform_for(Account("x", "x"))
    assert _shown(x.facets(TEXT), TEXT)[:2] == [
        ("link", "example.org", "example.org"),
        ("link", "https://example.org/ä?x=1", "https://example.org/ä?x=1"),
    ]


def test_bluesky_shows_exactly_the_record_facets_in_characters() -> None:
    sky = platform_for(Account("bluesky", "bluesky"))
    facets = sky.facets(TEXT)
    assert _shown(facets, TEXT) == [
        ("link", "https://example.org/ä?x=1", "https://example.org/ä?x=1"),
        ("tag", "SOZGipfel", "#SOZGipfel"),
        ("tag", "Köln", "#Köln"),
    ]
    # The same spans as the record's byte offsets, once umlauts make bytes and characters differ.
    record = build_facets(TEXT)
    assert [len(TEXT[: f.start].encode()) for f in facets] == [
        r["index"]["byteStart"] for r in record
    ]
    assert from_byte_offsets(TEXT, record) == facets
